"""Walks that follow a song: the recipe's `audio` field, and the per-frame path it makes (serving/music/audio.py measures).

- The distance travelled per frame follows onset strength: the picture moves on the hits and rests in silence.
- The keyframe changes on the beat: every `beats_per_key` beats the walk arrives at the next keyframe (seeds and
  pictures in order, round again when they run out). A stretch with less than half the song's typical motion
  goes only part of the way, and the next one arrives on its beat again; silence does not move at all.
- Loudness (of the whole band, or its low or high part) drives `react`: "truncation" pulls quiet passages toward
  the average picture (psi x (1 - amount + amount x loudness)), a named direction of the bundle (config.json
  `extra.directions`, e.g. the digit model's stroke "thickness") pushes along it by up to 3 x amount units, and
  "none" leaves it.

The recipe keeps the audio file's sha256 and the seconds used, so it stays the whole description: the same recipe
and the same file give the same bytes. Without `audio` nothing here runs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from serving import inputs as check
from serving.errors import InputError
from serving.latent.paths import KEYFRAME_PATHS, _catmull_rom, _slerp, ease, segment_weights

BANDS = ("all", "low", "high")
DIRECTION_SPAN = 3.0  # units along a named direction at full loudness and amount 1 (Explore's sliders go to 5)
MAX_BEATS_PER_KEY = 64
NO_BEAT_BPM = 120.0  # where no beat is found, keyframes change on the grid of a 120 BPM song
RELEASE_S = 0.05  # a hit's motion dies away over about this long: a glide, not a one-frame jolt


@dataclass(frozen=True)
class Music:
    """The recipe's `audio` field."""

    sha256: str  # of the audio file's bytes
    seconds: float  # the part of the track used, from its start (the video is this long)
    beats_per_key: int = 4
    react: str = "truncation"  # "truncation", "none" or a named direction of the bundle
    band: str = "all"  # which loudness `react` follows: all, low (< 200 Hz) or high (> 2 kHz)
    amount: float = 0.5  # truncation: 0..1; a direction: -2..2 (negative: the other way)


def parse_music(key: str, value: Any) -> Music | None:
    """The `audio` field of untrusted JSON: null, or an object of Music's fields, each checked."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise InputError(f"{key} must be null or an object with sha256 and seconds")
    unknown = sorted(set(value) - set(Music.__dataclass_fields__))
    if unknown:
        raise InputError(f"unknown {key} field(s): {', '.join(str(u)[:40] for u in unknown[:5])}")
    sha = value.get("sha256")
    if not isinstance(sha, str) or not re.fullmatch(r"[0-9a-f]{64}", sha):
        raise InputError(f"{key}.sha256 must be the audio file's sha256 (64 hex digits)")
    if "seconds" not in value or isinstance(value["seconds"], (str, bool)):
        raise InputError(f"{key}.seconds must be a number of seconds")
    react = check.text(f"{key}.react", value.get("react", "truncation"), 100)
    band = check.choice(f"{key}.band", value.get("band", "all"), BANDS)
    amount = value.get("amount", 0.5)
    if isinstance(amount, (str, bool)):
        raise InputError(f"{key}.amount must be a number")
    lo = 0.0 if react in ("truncation", "none") else -2.0
    return Music(
        sha256=sha,
        seconds=round(check.number(f"{key}.seconds", value["seconds"], 0.1, 3600.0), 3),
        beats_per_key=check.whole(
            f"{key}.beats_per_key", value.get("beats_per_key", 4), 1, MAX_BEATS_PER_KEY, text_ok=False
        ),
        react=react,
        band=band,
        amount=check.number(f"{key}.amount", amount, lo, 2.0 if lo < 0 else 1.0),
    )


def check_music(music: Music, path: str, directions: list[str], max_seconds: float) -> None:
    """Model- and budget-dependent checks of an `audio` field, before any work."""
    if path not in KEYFRAME_PATHS:
        raise InputError(f"a walk that follows music goes through keyframes: choose path {', '.join(KEYFRAME_PATHS)}")
    if music.react not in ("truncation", "none", *directions):
        named = f", or one of this model's directions: {', '.join(directions)}" if directions else ""
        raise InputError(f"audio.react {music.react[:40]!r} is not known: choose truncation or none{named}")
    if music.seconds > max_seconds + 1e-9:
        raise InputError(f"audio.seconds is {music.seconds:g}; at most {max_seconds:g} s of a song are used here")


def frames_of(music: Music, fps: int) -> int:
    return max(1, int(round(music.seconds * fps)))


def positions(analysis, beats_per_key: int) -> np.ndarray:
    """Where each frame is along the keyframes (float64 [frames]; k.0 is keyframe k), from onsets and beats."""
    n = analysis.frames
    weight = glide(analysis.onset, analysis.fps)
    beats = analysis.beat_frames
    if len(beats) >= 2:
        cuts = beats[::beats_per_key]
    else:  # no pulse: a steady grid, so a sound without beats still changes picture now and then
        step = max(1, int(round(beats_per_key * 60.0 / NO_BEAT_BPM * analysis.fps)))
        cuts = np.arange(step, n, step)
    cuts = np.unique(np.concatenate([[0], cuts[(cuts > 0) & (cuts < n)], [n - 1]])).astype(np.int64)
    # Segment i covers the frames (cuts[i], cuts[i + 1]]: its last frame is the beat it arrives on.
    sums = np.array([weight[a + 1 : b + 1].sum() for a, b in zip(cuts[:-1], cuts[1:])])
    interior = sums[1:-1] if len(sums) > 2 else sums
    typical = float(np.median(interior[interior > 0])) if (interior > 0).any() else 0.0
    pos = np.zeros(n)
    p = 0.0
    for i, ((a, b), total) in enumerate(zip(zip(cuts[:-1], cuts[1:]), sums)):
        left = np.ceil(p) - p if np.ceil(p) - p > 1e-9 else 1.0  # the way to the next keyframe
        if i == len(sums) - 1 and len(sums) > 1:
            # After the last bar line: the usual pace, and no arrival (no beat ends it).
            pos[a + 1 : b + 1] = p + np.minimum(np.cumsum(weight[a + 1 : b + 1]) / max(typical, 1e-12), 0.95) * left
            break
        # A stretch of at least half the song's typical motion arrives on its beat; a quieter one goes part of the
        # way (silence: none), and the next one arrives.
        scale = left / max(total, 0.5 * typical * left, 1e-12)
        pos[a + 1 : b + 1] = p + np.cumsum(weight[a + 1 : b + 1] * scale)
        p = float(pos[b])
        if abs(p - round(p)) < 1e-9:
            p = float(round(p))
            pos[b] = p
    return pos


def glide(onset: np.ndarray, fps: int) -> np.ndarray:
    """Onset strength with an instant attack and an exponential release of RELEASE_S: the speed of the walk."""
    keep = float(np.exp(-1.0 / (RELEASE_S * fps)))
    out = np.empty_like(onset)
    level = 0.0
    for i, v in enumerate(onset):
        level = max(float(v), level * keep)
        out[i] = level
    return out


def walk(key_z: np.ndarray, pos: np.ndarray, kind: str, easing: str) -> tuple[np.ndarray, np.ndarray]:
    """Latents [frames, D] at positions `pos` along the keyframes `key_z` [K, D] taken in order and round again,
    and mixing weights [frames, K] over those K keyframes (what class vectors follow)."""
    k0 = len(key_z)
    k = int(np.floor(pos.max())) + 2
    keys = key_z[np.arange(k) % k0]
    seg = np.minimum(np.floor(pos).astype(np.int64), k - 2)
    t = ease(pos - seg, easing)
    nxt = seg + 1
    if kind == "lerp":
        latents = (1.0 - t)[:, None] * keys[seg] + t[:, None] * keys[nxt]
    elif kind == "slerp":
        latents = _slerp(keys[seg], keys[nxt], t)
    else:
        latents = _catmull_rom(keys, seg, t, loop=False)
    wide = segment_weights(seg, t, k)
    weights = np.zeros((len(pos), k0))
    for i in range(k):  # fold the unrolled keyframes back onto the recipe's own
        weights[:, i % k0] += wide[:, i]
    return latents, weights


def react(latents: np.ndarray, music: Music, analysis, directions: dict[str, np.ndarray]) -> np.ndarray:
    """The latents moved by loudness, as `music.react` says."""
    env = analysis.envelope(music.band)[:, None]
    if music.react == "truncation":
        return latents * (1.0 - music.amount + music.amount * env)
    if music.react == "none":
        return latents
    unit = directions[music.react] / max(float(np.linalg.norm(directions[music.react])), 1e-12)
    return latents + music.amount * DIRECTION_SPAN * env * unit[None, :]


def direction_vectors(config) -> dict[str, np.ndarray]:
    """The bundle's named directions (config.json extra.directions), name -> vector."""
    named = (config.extra or {}).get("directions") or []
    return {d["name"]: np.asarray(d["vector"], dtype=np.float64) for d in named}
