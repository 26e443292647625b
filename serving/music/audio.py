"""A song, decoded and measured at a video's frame rate: what a music-driven walk follows (numpy only).

- `read_track`: WAV (8/16/24/32-bit PCM) by the standard library; MP3, OGG, FLAC and float WAV by the ffmpeg
  binary that imageio-ffmpeg ships (its demuxer forced by the file's first bytes, local files only, under a time
  limit), so no audio library is needed. The track's sha256 is of the file's bytes: a recipe names it.
- `analyze`: per video frame, loudness (RMS in dB over the 40 dB below the track's loudest frame, 0..1), onset
  strength (spectral flux of the log spectrum, 0..1), a low band (< 200 Hz, the kick and bass) and a high band
  (> 2 kHz, hats and snares) as loudness-like envelopes; and a beat grid (tempo by autocorrelation of the onset
  envelope, beats by dynamic programming, Ellis 2007) in seconds and in frames.

Everything below -70 dBFS counts as silence: no onsets, no loudness, no beats there.

    >>> track = read_track("song.wav")
    >>> a = analyze(track, fps=24)
    >>> a.tempo, a.beat_frames[:4], a.onset.shape      # (120.2, array([ 1, 13, 25, 37]), (720,))
"""

from __future__ import annotations

import hashlib
import io
import re
import subprocess
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from serving.errors import InputError
from serving.inputs import read_binary_file

MAX_AUDIO_BYTES = 512 * 2**20  # the library and the CLI (10 minutes of 48 kHz 32-bit stereo is 230 MB)
MAX_SECONDS = 600.0  # the command line's cap; the Space uses far less (serving.rendering.budget)
DECODE_RATE = 44_100  # what ffmpeg decodes compressed audio to
HOP_RATE = 100  # onset envelope frames per second (10 ms): beats are placed on this grid
SILENCE_DB = -70.0  # frames quieter than this are silence
RANGE_DB = 40.0  # loudness envelopes span the 40 dB below the loudest frame
# Onset strength is scaled by the song's own strong hits, but never by less than this rise of the log spectrum
# per bin and hop: a click 30 dB below full scale makes 0.15, a swelling tone 0.0006.
ONSET_FLOOR = 0.05
LOW_HZ, HIGH_HZ = 200.0, 2000.0
MIN_BPM, MAX_BPM, PRIOR_BPM = 40.0, 240.0, 120.0
DECODE_TIMEOUT_S = 60.0
# The first bytes of the formats ffmpeg is allowed to read, and the demuxer it is forced to use for each.
DEMUXERS = ((b"ID3", "mp3"), (b"OggS", "ogg"), (b"fLaC", "flac"))


@dataclass(frozen=True)
class Track:
    """Decoded audio: `samples` float32 [n, channels] in -1..1 at `rate` Hz, and the sha256 of the file's bytes."""

    samples: np.ndarray
    rate: int
    sha256: str

    @property
    def seconds(self) -> float:
        return len(self.samples) / self.rate

    def mono(self, seconds: float | None = None) -> np.ndarray:
        """float64 mono samples, the first `seconds` of them (all when None)."""
        n = len(self.samples) if seconds is None else min(len(self.samples), int(round(seconds * self.rate)))
        return self.samples[:n].astype(np.float64).mean(axis=1)


@dataclass(frozen=True)
class Analysis:
    """Per-video-frame envelopes (float64 [frames], 0..1) and the beat grid of the first `seconds` of a track."""

    fps: int
    seconds: float
    loudness: np.ndarray
    onset: np.ndarray
    low: np.ndarray
    high: np.ndarray
    tempo: float  # beats per minute; 0.0 when no beat was found (silence, no pulse)
    beat_times: np.ndarray  # seconds, float64

    @property
    def frames(self) -> int:
        return len(self.onset)

    @property
    def beat_frames(self) -> np.ndarray:
        """The video frame each beat falls on (int64, increasing, no repeats)."""
        return np.unique(np.clip(np.round(self.beat_times * self.fps).astype(np.int64), 0, max(0, self.frames - 1)))

    def envelope(self, band: str) -> np.ndarray:
        """The loudness envelope a mapping follows: "all", "low" or "high"."""
        return {"all": self.loudness, "low": self.low, "high": self.high}[band]


def audio_kind(head: bytes) -> str | None:
    """ "wav", "mp3", "ogg" or "flac" by a file's first bytes; None for anything else."""
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "wav"
    for magic, kind in DEMUXERS:
        if head.startswith(magic):
            return kind
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0 and head[1] & 0x06:  # an MPEG audio frame
        return "mp3"
    return None


def read_track(source: str | Path | bytes, max_bytes: int = MAX_AUDIO_BYTES, max_seconds: float = MAX_SECONDS) -> Track:
    """Decode a WAV, MP3, OGG or FLAC file (a path or its bytes); at most `max_seconds` of it are kept."""
    data = source if isinstance(source, bytes) else read_binary_file(Path(source), "audio file", max_bytes)
    if len(data) > max_bytes:
        raise InputError(f"the audio file is {len(data) / 2**20:.1f} MB; at most {max_bytes / 2**20:.0f} MB is taken")
    kind = audio_kind(data[:16])
    if kind is None:
        raise InputError("the audio file is not WAV, MP3, OGG or FLAC")
    sha = hashlib.sha256(data).hexdigest()
    samples, rate = _read_wav(data, max_seconds) if kind == "wav" else (None, 0)
    if samples is None:  # compressed, or a WAV the standard library cannot read (float samples)
        samples, rate = _ffmpeg_decode(data, kind, max_seconds)
    if len(samples) < rate // 10:
        raise InputError("the audio file holds less than 0.1 s of sound")
    return Track(np.ascontiguousarray(samples, dtype=np.float32), int(rate), sha)


def _read_wav(data: bytes, max_seconds: float) -> tuple[np.ndarray | None, int]:
    try:
        with wave.open(io.BytesIO(data)) as w:
            channels, width, rate = w.getnchannels(), w.getsampwidth(), w.getframerate()
            if not (1 <= channels <= 8 and 8_000 <= rate <= 192_000):
                raise InputError(
                    f"the WAV file has {channels} channels at {rate} Hz; 1-8 channels at 8-192 kHz are taken"
                )
            raw = w.readframes(min(w.getnframes(), int(max_seconds * rate) + 1))
    except (wave.Error, EOFError):
        return None, 0  # not PCM: ffmpeg reads it
    if width == 3:  # 24-bit: widen to 32 by putting each sample in the top three bytes
        b = np.frombuffer(raw[: len(raw) // 3 * 3], np.uint8).reshape(-1, 3)
        ints = np.zeros((len(b), 4), np.uint8)
        ints[:, 1:] = b
        values = ints.view("<i4")[:, 0].astype(np.float64) / 2**31
    elif width in (1, 2, 4):
        dtype = {1: np.uint8, 2: "<i2", 4: "<i4"}[width]
        values = np.frombuffer(raw[: len(raw) // width * width], dtype).astype(np.float64)
        values = (values - 128.0) / 128.0 if width == 1 else values / float(2 ** (8 * width - 1))
    else:
        raise InputError(f"the WAV file has {8 * width}-bit samples; 8, 16, 24 or 32 are taken")
    frames = len(values) // channels
    return values[: frames * channels].reshape(frames, channels), rate


def ffmpeg_exe() -> str:
    try:
        import imageio_ffmpeg
    except ImportError:
        raise InputError("reading this audio needs ffmpeg: pip install imageio-ffmpeg (or give a PCM WAV)") from None
    return imageio_ffmpeg.get_ffmpeg_exe()


def _ffmpeg_decode(data: bytes, kind: str, max_seconds: float) -> tuple[np.ndarray, int]:
    """Decode with ffmpeg from a pipe (the file never leaves this process's memory as a path ffmpeg could follow):
    its demuxer forced, no protocols but the pipe, stereo float at DECODE_RATE."""
    demuxer = "wav" if kind == "wav" else kind
    cmd = [
        ffmpeg_exe(),
        "-nostdin",
        "-hide_banner",
        "-loglevel",
        "error",
        "-protocol_whitelist",
        "pipe",
        "-f",
        demuxer,
        "-i",
        "pipe:0",
        "-t",
        f"{max_seconds:.3f}",
        "-vn",
        "-ac",
        "2",
        "-ar",
        str(DECODE_RATE),
        "-f",
        "f32le",
        "pipe:1",
    ]
    try:
        done = subprocess.run(cmd, input=data, capture_output=True, timeout=DECODE_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        raise InputError(
            f"decoding the audio took over {DECODE_TIMEOUT_S:.0f} s; give a shorter file or a WAV"
        ) from None
    if done.returncode != 0 or not done.stdout:
        reason = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise InputError(f"the {kind} file cannot be decoded ({_said(reason[-1]) if reason else 'no sound in it'})")
    samples = np.frombuffer(done.stdout[: len(done.stdout) // 8 * 8], "<f4").reshape(-1, 2)
    if not np.isfinite(samples).all():
        raise InputError("the audio file decodes to samples that are not numbers")
    return np.clip(samples, -1.0, 1.0), DECODE_RATE


def _said(line: str) -> str:
    """ffmpeg's last line for a visitor: its "[mp3 @ 0x55d5...]" prefixes name a decoder by its heap address,
    which tells a stranger about this process's memory and nothing about their file."""
    line = re.sub(r"\[([\w.-]+) @ 0x[0-9a-fA-F]+\]\s*", r"\1: ", line)
    return re.sub(r"0x[0-9a-fA-F]{6,}", "...", line)[:120]


# ---- analysis ---------------------------------------------------------------------------------------------------


def analyze(track: Track, fps: int, seconds: float | None = None) -> Analysis:
    """Envelopes and beats of the first `seconds` (default: all) of `track`, for a video at `fps`."""
    seconds = track.seconds if seconds is None else min(float(seconds), track.seconds)
    x = track.mono(seconds)
    rate = track.rate
    frames = max(1, int(round(seconds * fps)))
    hops = max(1, int(np.ceil(seconds * HOP_RATE)))
    n_fft = 1 << int(np.ceil(np.log2(rate * 0.046)))  # ~46 ms windows: 2048 at 44.1 kHz
    spec, rms = _spectrum(x, rate, hops, n_fft)
    freqs = np.fft.rfftfreq(n_fft, 1.0 / rate)
    audible = 20 * np.log10(np.maximum(rms, 1e-12)) > SILENCE_DB
    # Onset strength: the rise of the log spectrum from one hop to the next in log-spaced bands (spectral flux):
    # bands as wide in octaves at the bottom as at the top, so a kick counts as much as a hi-hat.
    log_spec = np.log1p(1000.0 * _bands(spec, freqs))
    flux = np.zeros(hops)
    flux[1:] = np.maximum(log_spec[1:] - log_spec[:-1], 0.0).mean(axis=1)
    # Only what stands above the flux of the half second around it is a hit: a note that swells or a steady hum
    # rises a little in every hop and must not read as a drum roll.
    flux = np.maximum(flux - _moving_median(flux, HOP_RATE // 4), 0.0) * audible
    # Windows that hang over either end see the song start or stop mid-note, which splashes every bin: not a hit.
    centres = np.arange(hops) * rate / HOP_RATE
    flux[(centres < n_fft / 2) | (centres + n_fft / 2 > len(x))] = 0.0
    tempo, beat_hops = _beats(flux)
    beat_times = beat_hops / HOP_RATE
    # Per video frame: onset is the strongest rise inside the frame, the envelopes the mean energy there.
    bounds = np.minimum(np.round(np.arange(frames + 1) * HOP_RATE / fps).astype(np.int64), hops)
    onset = _per_frame(flux, bounds, "max")
    power = spec**2
    low = _db_envelope(_per_frame(power[:, freqs < LOW_HZ].sum(axis=1), bounds, "mean"), bounds, audible)
    high = _db_envelope(_per_frame(power[:, freqs > HIGH_HZ].sum(axis=1), bounds, "mean"), bounds, audible)
    loud = _db_envelope(_per_frame(rms**2, bounds, "mean"), bounds, audible)
    return Analysis(fps, seconds, loud, _unit(onset, ONSET_FLOOR), low, high, tempo, beat_times)


def _bands(spec: np.ndarray, freqs: np.ndarray, count: int = 24) -> np.ndarray:
    """Magnitudes [hops, count] of log-spaced bands from 30 Hz to 16 kHz (or Nyquist): the root of each band's
    mean power."""
    edges = np.geomspace(30.0, min(16_000.0, freqs[-1]), count + 1)
    which = np.searchsorted(edges, freqs, side="right") - 1
    inside = (which >= 0) & (which < count)
    power = np.zeros((len(spec), count))
    np.add.at(power.T, which[inside], (spec[:, inside] ** 2).T)
    counts = np.maximum(np.bincount(which[inside], minlength=count), 1)
    return np.sqrt(power / counts)


def _spectrum(x: np.ndarray, rate: int, hops: int, n_fft: int) -> tuple[np.ndarray, np.ndarray]:
    """Magnitude spectra [hops, n_fft/2+1] of Hann windows centred on each hop, and each hop's RMS (10 ms)."""
    centres = np.round(np.arange(hops) * rate / HOP_RATE).astype(np.int64)
    padded = np.pad(x, (n_fft // 2, n_fft))
    window = np.hanning(n_fft)
    spec = np.empty((hops, n_fft // 2 + 1))
    for start in range(0, hops, 512):  # a block of windows at a time: bounded memory for a 10 minute song
        idx = centres[start : start + 512, None] + np.arange(n_fft)[None, :]
        spec[start : start + 512] = np.abs(np.fft.rfft(padded[idx] * window, axis=1)) / (n_fft / 4)
    step = rate / HOP_RATE
    edges = np.minimum(np.round(np.arange(hops + 1) * step).astype(np.int64), len(x))
    sq = np.concatenate([[0.0], np.cumsum(x * x)])
    counts = np.maximum(edges[1:] - edges[:-1], 1)
    rms = np.sqrt(np.maximum(sq[edges[1:]] - sq[edges[:-1]], 0.0) / counts)
    return spec, rms


def _moving_median(values: np.ndarray, half: int) -> np.ndarray:
    """The median of each value's neighbourhood of 2 * half + 1 (edges repeat), a block at a time."""
    padded = np.pad(values, half, mode="edge")
    windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * half + 1)
    return np.concatenate([np.median(windows[i : i + 4096], axis=1) for i in range(0, len(values), 4096)])


def _per_frame(values: np.ndarray, bounds: np.ndarray, how: str) -> np.ndarray:
    """The "max" or "mean" of hop values over each frame's hops [bounds[i], bounds[i+1]); a frame with no hop
    takes the hop it starts in (frame rates above HOP_RATE)."""
    starts = np.minimum(bounds[:-1], len(values) - 1)
    out = (np.maximum if how == "max" else np.add).reduceat(values, starts)
    empty = bounds[1:] <= bounds[:-1]
    out[empty] = values[starts[empty]]
    if how == "mean":
        out = out / np.maximum(bounds[1:] - bounds[:-1], 1)
    return out


def _db_envelope(power: np.ndarray, bounds: np.ndarray, audible: np.ndarray) -> np.ndarray:
    """Mean power per frame -> 0..1 over the RANGE_DB below the loudest frame; silent frames are 0."""
    starts = np.minimum(bounds[:-1], len(audible) - 1)
    heard = np.maximum.reduceat(audible.astype(np.int8), starts).astype(bool)
    db = 10 * np.log10(np.maximum(power, 1e-20))
    if not heard.any():
        return np.zeros(len(power))
    top = db[heard].max()
    return np.where(heard, np.clip((db - top + RANGE_DB) / RANGE_DB, 0.0, 1.0), 0.0)


def _unit(values: np.ndarray, floor: float) -> np.ndarray:
    """Scale to 0..1 by a robust peak (the 99th percentile, or the maximum when onsets are sparse), never by less
    than `floor`: a song without hits keeps its onsets near 0 instead of blowing its noise up to 1."""
    top = float(values.max()) if len(values) else 0.0
    peak = float(np.percentile(values, 99)) if len(values) else 0.0
    scale = max(peak if peak > 0.25 * top else top, floor)
    return np.clip(values / scale, 0.0, 1.0)


def _beats(flux: np.ndarray) -> tuple[float, np.ndarray]:
    """(tempo in BPM, beat positions in hops) by pulse trains and dynamic programming; (0, []) for no pulse."""
    if flux.max() < 0.2 * ONSET_FLOOR or len(flux) < 2 * HOP_RATE * 60 / MAX_BPM:  # no hit anywhere
        return 0.0, np.zeros(0)
    env = flux / flux.std() if flux.std() > 0 else flux
    lag = _period(env)
    if lag is None:
        return 0.0, np.zeros(0)
    beats = _track(env, lag)
    # A beat must fall on a hit (some flux within 30 ms), not only on the grid the others make.
    near = np.array([flux[max(0, int(b) - 3) : int(b) + 4].max() for b in beats]) if len(beats) else beats
    beats = beats[near >= 0.2 * ONSET_FLOOR] if len(beats) else beats
    return (round(60.0 * HOP_RATE / lag, 2), beats) if len(beats) >= 2 else (0.0, np.zeros(0))


def _period(env: np.ndarray) -> float | None:
    """The beat period in hops: the pulse train (every `lag` hops, at its best phase) that lands on the strongest
    onsets on average, weighted toward PRIOR_BPM (one octave away counts 61%, two octaves 14%). A plain
    autocorrelation is fooled by patterns such as hats between kick and snare, whose offsets repeat at 3/4 beat."""
    n = len(env)
    spread = np.max(np.stack([np.roll(env, s) for s in (-2, -1, 0, 1, 2)]), axis=0)  # a beat may be 20 ms off
    best, best_score = None, 0.0
    for lag in np.arange(HOP_RATE * 60 / MAX_BPM, HOP_RATE * 60 / MIN_BPM + 0.25, 0.5):
        count = int((n - 1) // lag)
        if count < 4:  # a period needs at least four beats in the song
            break
        idx = np.round(np.arange(int(np.ceil(lag)))[:, None] + np.arange(count)[None, :] * lag).astype(np.int64)
        idx = idx[idx[:, -1] < n]
        score = spread[idx].mean(axis=1).max() * np.exp(-0.5 * np.log2(60 * HOP_RATE / lag / PRIOR_BPM) ** 2)
        if score > best_score * (1 + 1e-9):
            best, best_score = float(lag), float(score)
    return best if best_score > 0 else None


def _track(env: np.ndarray, period: float, tightness: float = 100.0) -> np.ndarray:
    """Ellis' dynamic programming: beats on strong onsets, spaced about `period` hops apart. Beats where the
    envelope is flat (silence, the fade before the first hit) are dropped."""
    n = len(env)
    local = np.convolve(env, np.exp(-0.5 * (np.arange(-int(period), int(period) + 1) * 32.0 / period) ** 2), "same")
    score = local.copy()
    back = np.full(n, -1, dtype=np.int64)
    offsets = np.arange(-int(round(2 * period)), -int(round(period / 2)) + 1)
    penalty = -tightness * np.log(-offsets / period) ** 2
    for t in range(n):
        prev = t + offsets
        ok = prev >= 0
        if not ok.any():
            continue
        cand = score[prev[ok]] + penalty[ok]
        j = int(np.argmax(cand))
        if cand[j] > 0:
            score[t] = local[t] + cand[j]
            back[t] = prev[ok][j]
    # The last beat: the best score in the final period, then follow the chain back.
    tail = max(0, n - int(round(period)))
    t = tail + int(np.argmax(score[tail:]))
    beats = []
    while t >= 0:
        beats.append(t)
        t = int(back[t])
    beats = np.asarray(beats[::-1], dtype=np.float64)
    strong = local[beats.astype(np.int64)] > 0.3 * np.sqrt(np.mean(local[local > 0] ** 2)) if (local > 0).any() else []
    return beats[strong] if len(beats) else beats
