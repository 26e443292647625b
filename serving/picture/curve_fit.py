"""Fit a curve family's equation to a drawn line: which lissajous, rose or hypotrochoid draws it, and how closely.

Curves are compared as lines, not pixels: the chamfer distance between the drawing's centre line
(`serving.picture.line`) and the curve's points, both ways (every point of the drawing to the nearest point of the
curve, and every point of the curve to the nearest point of the drawing), each distance capped so one stray mark
cannot dominate. Both point sets are first centred and scaled to a root-mean-square radius of 1, so a drawing
made smaller or off-centre on its paper still matches its curve.

The search, per family (the dials are `serving.art.mathart.PARAMS`):
1. Candidates: a grid of the integer-like dials (rose petals, hypotrochoid lobes and loops) with the continuous
   ones (offset, pen, rotation) on coarse steps; for the harmonograph, whose eleven dials no grid covers, a fixed
   table of prior draws. Seeds the caller knows (the encoder's guess) join them.
2. The best few are refined: rounds of random steps on the family's dials, halving each round, kept only when
   closer (so a refined answer is never worse than its start). Seeded: the same drawing gives the same answer.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from serving.art.mathart import FAMILIES, HIGH, LOW, MID, NAMES, PARAMS, sample_prior
from serving.art.mathart_render import curve_xy

CURVE_FAMILIES = ("lissajous", "rose", "hypotrochoid")
SCREEN = (96, 48)  # (curve points, line points) compared while screening the whole grid
COARSE = (256, 128)  # ... while ranking what the screen kept
FINE = (384, 192)  # ... while refining and reporting
SCREEN_KEEP = 24  # candidates per family that the screen passes on
REFINE_WITHIN = 1.6  # a family is refined only when its ranked best is within this factor of the best family's
CAP = 0.4  # a point's distance counts at most this much (units of the root-mean-square radius)
SHIFT_FREE = 0.25  # a drawing may sit this far off the canvas's centre (canvas units, 1 = half the side) for free
SCALE_FREE = float(np.log(1.35))  # ... and be this much smaller or larger than the curve the model draws
LISSAJOUS_TABLE = 1536  # prior draws screened for the harmonograph
REFINE_KEEP = 2  # candidates refined per family
REFINE_ROUNDS = 5
REFINE_CANDIDATES = 32
REFINE_STEP = 0.06  # of each dial's range, halved each round
SEED = 0


@dataclass(frozen=True)
class Fit:
    family: str
    params: np.ndarray  # float64 [P]: the equation's dials (palette slots at their midpoint)
    distance: float  # chamfer distance, units of the root-mean-square radius


def normalise(points: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Points [..., n, 2] centred on their (weighted) centroid and scaled to a root-mean-square radius of 1."""
    w = np.ones(points.shape[:-1]) if weights is None else weights
    w = w / np.maximum(w.sum(axis=-1, keepdims=True), 1e-12)
    centre = (points * w[..., None]).sum(axis=-2, keepdims=True)
    spread = np.sqrt((((points - centre) ** 2).sum(axis=-1) * w).sum(axis=-1))
    return (points - centre) / np.maximum(spread, 1e-9)[..., None, None]


def curves(family: str, table: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
    """The family's curves for every row of `table` [B, P]: points [B, count, 2] and each point's weight [B, count]
    (the length of the step that reaches it, so a curve counts by its length, not by how its parameter runs)."""
    p = {name: table[:, i : i + 1] for i, name in enumerate(NAMES)}
    x, y = curve_xy(family, p, count)
    x, y = np.broadcast_to(x, (len(table), count)), np.broadcast_to(y, (len(table), count))
    pts = np.stack([x, y], axis=-1)
    step = np.hypot(np.diff(x, axis=1, prepend=x[:, :1]), np.diff(y, axis=1, prepend=y[:, :1]))
    step[:, 0] = step[:, 1]
    return pts, step


@dataclass(frozen=True)
class Target:
    """A line made ready for comparing: its points normalised, and where it lies on the canvas."""

    points: np.ndarray  # float64 [m, 2], centred, root-mean-square radius 1
    centre: np.ndarray  # float64 [2]: the line's centroid in the canvas frame
    spread: float  # its root-mean-square radius in the canvas frame


def target(line_points: np.ndarray, count: int) -> Target:
    """At most `count` of a line's points (canvas frame), normalised, with the line's place on the canvas."""
    pts = subsample(line_points, count)
    centre = pts.mean(axis=0)
    spread = float(np.sqrt(((pts - centre) ** 2).sum(axis=1).mean()))
    return Target(normalise(pts), centre, spread)


def chamfer(curve_pts: np.ndarray, curve_w: np.ndarray, line: Target, chunk: int = 64) -> np.ndarray:
    """Capped two-way chamfer distance [B] between normalised curves [B, n, 2] (weights [B, n]) and a line: the
    root mean square of (curve to line) and (line to curve), plus how far the curve's centre and size on the canvas
    stray beyond a hand's freedom from the line's (`misplaced`)."""
    c = normalise(curve_pts, curve_w).astype(np.float32)
    w = (curve_w / np.maximum(curve_w.sum(axis=1, keepdims=True), 1e-12)).astype(np.float32)
    lp = line.points.astype(np.float32)
    l2 = (lp**2).sum(axis=1)
    out = np.empty(len(c))
    for s in range(0, len(c), chunk):
        cc = c[s : s + chunk]
        # |a - b|^2 = |a|^2 + |b|^2 - 2 a.b: one matrix product instead of a [B, n, m, 2] difference.
        d2 = (cc**2).sum(axis=2)[:, :, None] + l2[None, None, :] - 2.0 * cc @ lp.T
        d2 = np.maximum(d2, 0.0)
        # Root mean square of capped distances: a part of the drawing the curve misses (a cusp, a loop) weighs
        # more than the same total spread thinly as a hand's tremor.
        to_line = np.minimum(d2.min(axis=2), CAP * CAP)
        to_curve = np.minimum(d2.min(axis=1), CAP * CAP)
        out[s : s + chunk] = np.sqrt(0.5 * ((to_line * w[s : s + chunk]).sum(axis=1) + to_curve.mean(axis=1)))
    return out + misplaced(curve_pts, curve_w, line)


def misplaced(curve_pts: np.ndarray, curve_w: np.ndarray, line: Target) -> np.ndarray:
    """[B]: how far beyond SHIFT_FREE a curve's centre lies from the line's (canvas units), plus how far beyond
    SCALE_FREE their sizes differ (log ratio). The comparison is otherwise blind to place and size, so without this a
    circle drawn in the middle would match a one-petal rose, a circle the model always draws off-centre."""
    w = curve_w / np.maximum(curve_w.sum(axis=1, keepdims=True), 1e-12)
    centre = (curve_pts * w[..., None]).sum(axis=1)
    spread = np.sqrt((((curve_pts - centre[:, None, :]) ** 2).sum(axis=2) * w).sum(axis=1))
    shift = np.hypot(*(centre - line.centre).T)
    scale = np.abs(np.log(np.maximum(spread, 1e-9) / max(line.spread, 1e-9)))
    return np.maximum(shift - SHIFT_FREE, 0.0) + np.maximum(scale - SCALE_FREE, 0.0)


def subsample(points: np.ndarray, count: int) -> np.ndarray:
    """At most `count` of the line's points, spread evenly through them (a fixed choice: no randomness)."""
    if len(points) <= count:
        return points
    return points[np.linspace(0, len(points) - 1, count).round().astype(int)]


def _grid(family: str) -> np.ndarray:
    """The coarse candidates of step 1 for a family: [B, P], palette slots at their midpoint."""
    rows = []
    if family == "rose":
        for k in np.arange(1.0, 7.01, 0.5):
            for offset in (0.0, 0.12, 0.25, 0.38, 0.5):
                for rot in np.linspace(0, 2 * np.pi, 30, endpoint=False):
                    rows.append({"rose_k": k, "rose_offset": offset, "rose_rotation": rot})
    elif family == "hypotrochoid":
        for lobes in range(4, 13):
            for loops in (1, 2, 3):
                for pen in (0.3, 0.5, 0.7, 0.9, 1.1, 1.3):
                    # The curve repeats after a turn of 2 pi gcd(lobes, loops) / lobes.
                    period = 2 * np.pi * np.gcd(lobes, loops) / lobes
                    for rot in np.linspace(0, period, 6, endpoint=False):
                        rows.append({"hypo_lobes": lobes, "hypo_loops": loops, "hypo_pen": pen, "hypo_rotation": rot})
    else:
        rng = np.random.default_rng([SEED, 11])
        return np.stack([sample_prior("lissajous", rng) for _ in range(LISSAJOUS_TABLE)])
    table = np.tile(MID, (len(rows), 1))
    for i, row in enumerate(rows):
        for name, value in row.items():
            table[i, NAMES.index(name)] = value
    return table


_GRIDS: dict[str, np.ndarray] = {}
_GRIDS_LOCK = threading.Lock()


def grid(family: str) -> np.ndarray:
    with _GRIDS_LOCK:  # fixed tables, the same for every drawing: made once per process
        if family not in _GRIDS:
            _GRIDS[family] = _grid(family)
        return _GRIDS[family]


def shape_slots(family: str) -> np.ndarray:
    """Indices of the family's own dials (not the palette)."""
    return np.array([i for i, p in enumerate(PARAMS) if p.family == family])


def refine(family: str, start: np.ndarray, line: Target, seed: int = SEED) -> tuple[np.ndarray, float]:
    """(dials, distance) after REFINE_ROUNDS rounds of random steps around the best so far (module docstring)."""
    rng = np.random.default_rng([seed, FAMILIES.index(family)])
    slots = shape_slots(family)
    span = HIGH[slots] - LOW[slots]
    best = start.copy()
    best_d = float(chamfer(*curves(family, best[None], FINE[0]), line)[0])
    step = REFINE_STEP
    for _ in range(REFINE_ROUNDS):
        trial = np.tile(best, (REFINE_CANDIDATES, 1))
        trial[:, slots] += rng.standard_normal((REFINE_CANDIDATES, slots.size)) * step * span
        trial[:, slots] = np.clip(trial[:, slots], LOW[slots], HIGH[slots])
        d = chamfer(*curves(family, trial, FINE[0]), line)
        i = int(np.argmin(d))
        if d[i] < best_d:
            best, best_d = trial[i], float(d[i])
        step *= 0.5
    return best, best_d


def _distinct(family: str, table: np.ndarray, order: np.ndarray) -> np.ndarray:
    """`order` without rows that are the same shape as an earlier one turned (a five-petal rose at 0 and at 72
    degrees): refining both would spend the search twice on one start."""
    slots = [i for i in shape_slots(family) if not NAMES[i].endswith("rotation")]
    seen, out = set(), []
    for i in order:
        key = tuple(np.round(table[i, slots], 3)) if family != "lissajous" else (int(i),)
        if key not in seen:
            seen.add(key)
            out.append(i)
    return np.array(out, dtype=int)


def fit(line_points: np.ndarray, seeds: dict[str, np.ndarray] | None = None) -> list[Fit]:
    """The best fit of each curve family to a line (points [m, 2] in the canvas frame), closest first. `seeds`:
    extra starting dials per family (e.g. what the encoder's guess draws). A family far behind the best after
    ranking is not refined: its Fit keeps its ranked dials and distance."""
    lines = {k: target(line_points, k[1]) for k in (SCREEN, COARSE, FINE)}
    ranked: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for family in CURVE_FAMILIES:
        table = grid(family)
        if seeds and family in seeds:
            table = np.concatenate([np.atleast_2d(seeds[family]), table])
        # Screen the whole table with few points, rank what it keeps with more (module docstring, step 1).
        kept = table[np.argsort(chamfer(*curves(family, table, SCREEN[0]), lines[SCREEN]), kind="stable")[:SCREEN_KEEP]]
        d = chamfer(*curves(family, kept, COARSE[0]), lines[COARSE])
        order = _distinct(family, kept, np.argsort(d, kind="stable"))[:REFINE_KEEP]
        ranked[family] = (kept[order], d[order])
    best_ranked = min(d[0] for _, d in ranked.values())
    fits = []
    for family, (starts, d) in ranked.items():
        if d[0] > REFINE_WITHIN * best_ranked:
            fits.append(Fit(family, starts[0], float(d[0])))
            continue
        found = [refine(family, start, lines[FINE]) for start in starts]
        params, distance = min(found, key=lambda f: f[1])
        fits.append(Fit(family, params, distance))
    return sorted(fits, key=lambda f: f.distance)


def distance_px(fit_distance: float, params: np.ndarray, family: str, size: int = 256) -> float:
    """A normalised distance in pixels of a `size` picture, at the scale of the curve `params` draws."""
    pts, w = curves(family, np.asarray(params, np.float64)[None], FINE[0])
    w = w / w.sum()
    centre = (pts[0] * w[0, :, None]).sum(axis=0)
    rms = float(np.sqrt((((pts[0] - centre) ** 2).sum(axis=1) * w[0]).sum()))
    return fit_distance * rms * size / 2.0


def frame_distance_px(a: np.ndarray, family_a: str, b: np.ndarray, family_b: str, size: int = 256) -> float:
    """How far apart two curves lie as drawn (in the canvas's frame, not normalised): the two-way mean distance
    between their points, uncapped, in pixels of a `size` picture."""
    pa, wa = curves(family_a, np.asarray(a, np.float64)[None], FINE[0])
    pb, wb = curves(family_b, np.asarray(b, np.float64)[None], FINE[0])
    d = np.sqrt(((pa[0][:, None, :] - pb[0][None, :, :]) ** 2).sum(axis=2))
    ab = (d.min(axis=1) * wa[0]).sum() / wa[0].sum()
    ba = (d.min(axis=0) * wb[0]).sum() / wb[0].sum()
    return float(0.5 * (ab + ba) * size / 2.0)
