"""What a request costs in seconds on this machine: the work caps (serving.rendering.budget) turned into time.

The generator's seconds per image is measured per loaded model (64 rows through its real call path), and the
encoder's fixed cost and seconds per output pixel per format (a short and a longer clip of a smooth colour
test card), each again every minute it is asked for and read as the best of the last few (`Recent`: a start
on a busy machine does not freeze a high estimate); a request's estimate is images x the one plus the encoder's
cost of its output pixels. The Space refuses a request whose estimate passes its `Budget.seconds` (about 10 s), so no visitor can hold a worker for minutes with a request the other caps allow.
Measured here, not typed: a slower machine gets a lower cap in frames, never a longer wait.
"""

from __future__ import annotations

import threading
import time
from collections import deque

import numpy as np

from serving.errors import BudgetError
from serving.rendering.budget import Budget

SAMPLE_ROWS = 64
_LOCK = threading.Lock()
_ENCODER: dict[str, Recent] = {}


class Recent:
    """A cost measured on first use and again each REFRESH_S it is asked for, read as the best of the last few
    measurements: a busy moment (a measurement taken while the machine was loaded) is outvoted by the next quiet one
    instead of freezing a high estimate for the process's life, and a machine that really got slower shows within
    minutes. Later measurements run on a thread of their own, so no request waits for one."""

    REFRESH_S = 60.0

    def __init__(self, measure, keep: int = 5) -> None:
        self.measure = measure
        self.seen: deque = deque(maxlen=keep)
        self.at = -float("inf")
        self.lock = threading.Lock()
        self.measuring = False

    def value(self):
        with self.lock:
            if not self.seen:  # the first one: nothing to answer with yet
                self.seen.append(self.measure())
                self.at = time.monotonic()
            elif time.monotonic() - self.at > self.REFRESH_S and not self.measuring:
                self.measuring, self.at = True, time.monotonic()
                threading.Thread(target=self._again, name="ganimate-cost", daemon=True).start()
            return self._best()

    def _again(self) -> None:
        try:
            found = self.measure()
            with self.lock:
                self.seen.append(found)
        finally:
            self.measuring = False

    def _best(self):
        if isinstance(self.seen[0], tuple):  # each part's best (an encoder's fixed and per-pixel costs)
            return tuple(map(min, zip(*self.seen)))
        return min(self.seen)


def seconds_per_image(generator) -> float:
    """The generator's seconds per image on this machine (its threads included), measured on first use and again
    each minute it is asked for (Recent)."""
    with _LOCK:  # one Recent per generator, whoever asks first
        recent = getattr(generator, "_seconds_per_image", None)
        if recent is None:
            recent = generator._seconds_per_image = Recent(lambda: _measure_generator(generator))
    return recent.value()


def _measure_generator(generator) -> float:
    """Seconds per image of SAMPLE_ROWS rows through the generator's real call path, the better of two calls."""
    from serving.latent.latents import z_batch

    z = z_batch(np.arange(SAMPLE_ROWS), generator.latent_dim)
    y = (
        np.eye(generator.num_classes, dtype=np.float32)[np.arange(SAMPLE_ROWS) % generator.num_classes]
        if generator.num_classes
        else None
    )
    best = float("inf")
    for _ in range(2):  # the first call may pay for warm-up; the better of two is the steady cost
        started = time.perf_counter()
        generator(z, y, batch_size=generator.batch_hint, output="float")
        best = min(best, time.perf_counter() - started)
    return best / SAMPLE_ROWS


def encoder_cost(fmt: str) -> tuple[float, float]:
    """(fixed seconds, seconds per output pixel) of the encoder for `fmt`, measured on first use and again each
    minute it is asked for (Recent)."""
    with _LOCK:
        recent = _ENCODER.get(fmt)
        if recent is None:
            recent = _ENCODER[fmt] = Recent(lambda: _measure_encoder(fmt))
    return recent.value()


def _measure_encoder(fmt: str) -> tuple[float, float]:
    """From a short and a longer clip of a smooth colour test card (an MP4 pays for starting ffmpeg once, then
    little per pixel)."""
    from serving.files.formats import encode

    h = w = 128
    ramp = np.linspace(0, 255, w, dtype=np.float64)
    frames = np.stack(
        [
            np.stack(
                [
                    np.roll(ramp, 9 * i)[None, :].repeat(h, 0),
                    np.roll(ramp, 5 * i)[:, None].repeat(w, 1).T,
                    np.full((h, w), 40.0 * (i % 6)),
                ],
                axis=-1,
            )
            for i in range(24)
        ]
    ).astype(np.uint8)
    times = []
    for count in (4, 24):
        best = float("inf")
        for _ in range(2):
            started = time.perf_counter()
            encode(frames[:count], fmt, 24)
            best = min(best, time.perf_counter() - started)
        times.append(best)
    per_pixel = max(times[1] - times[0], 1e-9) / (20 * h * w)
    return (max(0.0, times[0] - 4 * h * w * per_pixel), per_pixel)


def estimate(parts: list[tuple[object, int]], pixels: int, fmt: str) -> float:
    """Seconds a request takes here: `parts` (generator, its images) and `pixels` output pixels in `fmt`."""
    fixed, per_pixel = encoder_cost(fmt)
    return sum(images * seconds_per_image(g) for g, images in parts) + fixed + pixels * per_pixel


def check_time(parts: list[tuple[object, int]], pixels: int, fmt: str, budget: Budget) -> float | None:
    """The estimate, or BudgetError when it passes `budget.seconds` (None: no time cap, nothing measured)."""
    if budget.seconds is None:
        return None
    return over_cap(estimate(parts, pixels, fmt), budget)


def over_cap(seconds: float, budget: Budget) -> float:
    """`seconds`, or BudgetError when an estimate of that many passes `budget.seconds` (no cap: never)."""
    if budget.seconds is not None and seconds > budget.seconds:
        raise BudgetError(
            f"this render would take about {seconds:.0f} s here; {budget.where} allows "
            f"{budget.seconds:.0f} s: use fewer frames, seeds or grid cells, or a smaller size"
        )
    return seconds
