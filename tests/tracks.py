"""Synthetic songs for the music tests, made in numpy: clicks on a beat grid, a tone that swells, silence."""

from __future__ import annotations

import io
import wave
from pathlib import Path

import numpy as np

RATE = 22_050


def wav_bytes(x: np.ndarray, rate: int = RATE, width: int = 2) -> bytes:
    """Mono or [n, channels] float samples in -1..1 as a PCM WAV of 8, 16, 24 or 32 bits."""
    x = np.asarray(x, dtype=np.float64)
    x = x[:, None] if x.ndim == 1 else x
    scale = 2 ** (8 * width - 1) - 1
    ints = np.round(np.clip(x, -1, 1) * scale).astype(np.int64)
    if width == 1:
        raw = (ints + 128).astype(np.uint8).tobytes()
    elif width == 3:
        raw = np.stack([(ints >> s) & 0xFF for s in (0, 8, 16)], axis=-1).astype(np.uint8).tobytes()
    else:
        raw = ints.astype(f"<i{width}").tobytes()
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(x.shape[1])
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(raw)
    return buf.getvalue()


def clicks(times: np.ndarray, seconds: float, amps: np.ndarray | None = None, seed: int = 0) -> np.ndarray:
    """Short noise bursts (20 ms, fast decay) at `times`, loudness `amps` (default all 1)."""
    rng = np.random.default_rng(seed)
    x = np.zeros(int(seconds * RATE))
    n = int(0.02 * RATE)
    for i, t in enumerate(times):
        start = int(round(t * RATE))
        a = 1.0 if amps is None else float(amps[i])
        burst = a * 0.5 * rng.standard_normal(n) * np.exp(-np.arange(n) / (0.004 * RATE))
        x[start : start + n] += burst[: max(0, len(x) - start)]
    return x


def beat_grid(bpm: float, seconds: float, first: float = 0.5) -> np.ndarray:
    return np.arange(first, seconds - 0.1, 60.0 / bpm)


def swell(seconds: float, hz: float = 440.0) -> np.ndarray:
    """A sine that grows from near silence (-60 dB) to 0.9 linearly in amplitude."""
    t = np.arange(int(seconds * RATE)) / RATE
    return np.sin(2 * np.pi * hz * t) * np.linspace(0.001, 0.9, len(t))


def song(seconds: float = 12.0, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Clicks of uneven loudness at 120 BPM for the first two thirds, then silence: (samples, click times)."""
    times = beat_grid(120.0, seconds * 2 / 3, first=1.0)
    amps = np.random.default_rng(seed).uniform(0.3, 1.0, len(times))
    return clicks(times, seconds, amps, seed), times


def write(path: Path, x: np.ndarray, **kwargs) -> Path:
    path.write_bytes(wav_bytes(x, **kwargs))
    return path
