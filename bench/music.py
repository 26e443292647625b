"""Music-driven walks: a 30 s, 256 px, 24 fps MP4 that follows a song, beside the same length of walk without one.

    python -m bench.music              # per shipped bundle: seconds with the song, without it, and the ratio
                                       # (recorded in bench/results.json, as python -m bench does)
    python -m bench.music --figures    # also rewrite docs/music_envelopes.png, docs/music_walk.gif and
                                       # docs/music_example.mp4 (the README's and docs/music.md's pictures)

The song is made here (a drum pattern at 120 BPM over a bass line that swells, with a bar of silence), so the
figures and the example need no download and come out the same on every machine.
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import time
import wave
from pathlib import Path

import numpy as np

from serving.bundle.generator import Generator
from serving.music.audio import Track, analyze, read_track
from serving.music.walk import Music
from serving.rendering.recipe import Recipe
from serving.rendering.render import render, render_frames

ROOT = Path(__file__).resolve().parent.parent
BUNDLES = ("mnist-cdcgan", "mnist-cvae", "mathart-params")
RATE = 22_050
BPM = 120.0


def demo_song(seconds: float = 30.0, seed: int = 0) -> bytes:
    """A WAV: kick on 1 and 3, snare on 2 and 4, hats on the off-beats, a bass that swells over 8 s, and the
    second to last bar silent."""
    rng = np.random.default_rng(seed)
    n = int(seconds * RATE)
    t = np.arange(n) / RATE
    x = 0.12 * np.sin(2 * np.pi * 55 * t) * (0.5 - 0.5 * np.cos(2 * np.pi * t / 8.0))
    beat = 60.0 / BPM

    def hit(at: float, sound: np.ndarray) -> None:
        i = int(at * RATE)
        x[i : i + len(sound)] += sound[: max(0, n - i)]

    k = np.arange(int(0.12 * RATE)) / RATE
    kick = 0.9 * np.sin(2 * np.pi * (50 + 90 * np.exp(-k / 0.02)) * k) * np.exp(-k / 0.05)
    snare = 0.45 * rng.standard_normal(len(k)) * np.exp(-k / 0.03)
    hat = 0.15 * np.diff(rng.standard_normal(int(0.03 * RATE) + 1)) * np.exp(-np.arange(int(0.03 * RATE)) / 200)
    for i in range(int(seconds / beat)):
        at = i * beat
        hit(at, kick if i % 2 == 0 else snare)
        hit(at + beat / 2, hat)
    bar = 4 * beat
    x[(t >= seconds - 2 * bar) & (t < seconds - bar)] = 0.0
    pcm = (np.clip(x, -1, 1) * 32767).astype("<i2")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(pcm.tobytes())
    return buf.getvalue()


def music_recipe(track: Track, seeds=(1, 2, 3, 4), size: int = 256, fmt: str = "mp4", classes=None, **music) -> Recipe:
    return Recipe(
        seeds=tuple(seeds),
        size=size,
        format=fmt,
        fps=24,
        classes=classes,
        audio=Music(sha256=track.sha256, seconds=track.seconds, **music),
    )


def timed(fn, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - started)
    return best


def main(argv: list[str] | None = None) -> dict[str, float]:
    p = argparse.ArgumentParser(prog="python -m bench.music", description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=2, help="best of N runs (default 2)")
    p.add_argument("--figures", action="store_true", help="also rewrite the docs' pictures and the example MP4")
    args = p.parse_args(argv)
    track = read_track(demo_song())
    figures: dict[str, float] = {"music.analysis_s": timed(lambda: analyze(track, 24), args.repeats)}
    print("| bundle | 30 s MP4 with the song (s) | the same 720 frames without it (s) | ratio |\n|---|---|---|---|")
    for name in BUNDLES:
        gen = Generator.from_pretrained(ROOT / "exported" / name)
        plain = Recipe(seeds=(1, 2, 3, 4), frames=180, size=256, format="mp4", fps=24)  # 4 x 180 = 720 frames
        with_song = timed(lambda g=gen: render(g, music_recipe(track), audio=track), args.repeats)
        without = timed(lambda g=gen, r=plain: render(g, r), args.repeats)
        figures[f"music.{name}.with_song_s"] = with_song
        figures[f"music.{name}.without_song_s"] = without
        figures[f"music.{name}.ratio"] = with_song / without
        print(f"| {name} | {with_song:.2f} | {without:.2f} | {with_song / without:.2f}x |")
    print(f"\nanalysis of the 30 s song alone: {figures['music.analysis_s'] * 1000:.0f} ms")
    if args.figures:
        write_figures(track)
    return figures


def record_figures(figures: dict[str, float]) -> None:
    from bench.results import machine, record, write_table

    units = {k: ("x" if k.endswith("ratio") else "s") for k in figures}
    record({k: (v, units[k]) for k, v in figures.items()}, "python -m bench.music", machine())
    write_table()


def write_figures(track: Track) -> None:
    """docs/music_envelopes.png, docs/music_walk.gif (a strip for the README) and docs/music_example.mp4."""
    from PIL import Image

    from serving.atomic import write_atomic

    a = analyze(track, 24)
    write_atomic(ROOT / "docs" / "music_envelopes.png", plot_envelopes(a))
    gen = Generator.from_pretrained(ROOT / "exported" / "mathart-params")
    short = Track(track.samples[: 8 * track.rate], track.rate, track.sha256)  # the same file's first 8 s
    rose = (gen.config.class_names.index("rose"),)  # one family: roses that open and turn on the beat
    recipe = music_recipe(short, seeds=(3, 8, 5, 1), size=192, classes=rose, beats_per_key=2)
    write_atomic(ROOT / "docs" / "music_example.mp4", render(gen, recipe, audio=short))
    frames = render_frames(gen, recipe, audio=short)
    beats = [f for f in analyze(short, 24).beat_frames if f + 6 < len(frames)][:6]
    strip = np.concatenate([np.concatenate([frames[b], frames[b + 3]], axis=0) for b in beats], axis=1)
    buf = io.BytesIO()
    Image.fromarray(strip).resize((strip.shape[1] // 2, strip.shape[0] // 2), Image.LANCZOS).save(buf, "PNG")
    write_atomic(ROOT / "docs" / "music_strip.png", buf.getvalue())
    gif = render(gen, dataclasses.replace(recipe, format="gif", size=128), audio=short)
    write_atomic(ROOT / "docs" / "music_walk.gif", gif)
    print("wrote docs/music_envelopes.png, docs/music_strip.png, docs/music_walk.gif and docs/music_example.mp4")


def plot_envelopes(a, width: int = 900, lane: int = 70) -> bytes:
    """A PNG: loudness, onset strength, the low and the high band, one lane each, beats as ticks."""
    from PIL import Image, ImageDraw

    lanes = (
        ("loudness", a.loudness, (40, 110, 220)),
        ("onset strength", a.onset, (220, 80, 40)),
        ("low band (< 200 Hz)", a.low, (120, 60, 180)),
        ("high band (> 2 kHz)", a.high, (30, 150, 90)),
    )
    im = Image.new("RGB", (width, lane * len(lanes) + 30), "white")
    draw = ImageDraw.Draw(im)
    x = np.linspace(0, width - 1, a.frames)
    for i, (label, values, colour) in enumerate(lanes):
        top = i * lane + 4
        draw.line([(0, top + lane - 8), (width, top + lane - 8)], fill=(220, 220, 220))
        draw.line(list(zip(x, top + (lane - 8) * (1 - values))), fill=colour, width=2)
        draw.text((6, top), label, fill=(60, 60, 60))
    base = lane * len(lanes) + 4
    for t in a.beat_times:
        bx = t / a.seconds * (width - 1)
        draw.line([(bx, base), (bx, base + 10)], fill=(0, 0, 0))
    draw.text((6, base + 12), f"beats ({a.tempo:.0f} BPM found); {a.seconds:.0f} s", fill=(60, 60, 60))
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


if __name__ == "__main__":
    record_figures(main())
