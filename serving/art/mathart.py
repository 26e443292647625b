"""Mathematical art from parameters (numpy only): the parameter table, a broad prior, the acceptance rule, datasets.

A picture is one float vector of `len(PARAMS)` values with documented names and ranges: five palette values shared
by every family, then each family's own shape values (a family ignores the others' slots). `render(params,
family, size)` draws it (`serving/art/mathart_render.py`); `sample_prior` draws parameters from a broad prior;
`accept` keeps the ones worth looking at, judged on the drawn picture; `sample_accepted` is the `mathart-params`
dataset and `render_dataset` the `mathart` pixel dataset (the same parameters, drawn).

    >>> params, labels = sample_accepted(100, seed=0)          # float64 [100, P], family index per row
    >>> img = render(params[0], int(labels[0]), size=256)       # float32 [256, 256, 3] in [0, 1]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from serving.art.mathart_render import RENDERERS, julia_escape
from serving.errors import InputError

FAMILIES: tuple[str, ...] = ("lissajous", "rose", "hypotrochoid", "julia", "clifford")
RENDERER_VERSION = "mathart-params-v1"  # config.json names it; bump it when a parameter's meaning changes
TAU = 2.0 * np.pi


@dataclass(frozen=True)
class Param:
    name: str
    low: float
    high: float
    family: str  # "" for the palette, shared by every family
    doc: str


PARAMS: tuple[Param, ...] = (
    Param("hue", 0.0, 1.0, "", "base hue of the three colour stops"),
    Param("hue_spread", 0.05, 0.5, "", "hue step between the colour stops"),
    Param("saturation", 0.4, 1.0, "", "saturation of the colour stops"),
    Param("background", 0.0, 0.15, "", "brightness of the background (its hue is opposite the base hue)"),
    Param("gain", 0.6, 2.5, "", "exposure of lines and points; for julia, how bright the filaments are"),
    Param("lis_f1", 1.0, 4.5, "lissajous", "x frequency dial of the first pendulum (frequency = snap(dial))"),
    Param("lis_f2", 1.0, 4.5, "lissajous", "x frequency dial of the second pendulum"),
    Param("lis_f3", 1.0, 4.5, "lissajous", "y frequency dial of the first pendulum"),
    Param("lis_f4", 1.0, 4.5, "lissajous", "y frequency dial of the second pendulum"),
    Param("lis_p1", 0.0, TAU, "lissajous", "phase of the first x pendulum (radians)"),
    Param("lis_p2", 0.0, TAU, "lissajous", "phase of the second x pendulum"),
    Param("lis_p3", 0.0, TAU, "lissajous", "phase of the first y pendulum"),
    Param("lis_p4", 0.0, TAU, "lissajous", "phase of the second y pendulum"),
    Param("lis_damping", 0.002, 0.05, "lissajous", "decay rate of every pendulum"),
    Param("lis_ratio", 0.2, 1.0, "lissajous", "amplitude of the second pendulums relative to the first"),
    Param("lis_detune", 0.0, 0.03, "lissajous", "added to the second x and taken from the second y frequency"),
    Param(
        "rose_k", 1.0, 7.0, "rose", "petal dial: k = snap(2 dial) / 2 in r = cos(k theta) + offset, theta over 2 turns"
    ),
    Param("rose_offset", 0.0, 0.5, "rose", "radius offset (opens the centre)"),
    Param("rose_rotation", 0.0, TAU, "rose", "rotation (radians)"),
    Param(
        "hypo_lobes",
        4.0,
        12.0,
        "hypotrochoid",
        "lobes dial n: the fixed circle is snap(n) times the rolling one's size...",
    ),
    Param("hypo_loops", 1.0, 3.0, "hypotrochoid", "...times snap(m); the curve closes after snap(m) turns"),
    Param("hypo_pen", 0.3, 1.3, "hypotrochoid", "pen distance over rolling radius, d/r"),
    Param("hypo_rotation", 0.0, TAU, "hypotrochoid", "rotation (radians)"),
    Param("julia_angle", 0.0, TAU, "julia", "where c sits on the Mandelbrot set's main cardioid (radians)"),
    Param("julia_radius", 0.95, 1.1, "julia", "c's distance from the centre relative to the cardioid's edge"),
    Param("julia_zoom", 1.1, 2.0, "julia", "half-width of the view in the complex plane"),
    Param("julia_rotation", 0.0, TAU, "julia", "rotation of the view (radians)"),
    Param("cl_a", 0.9, 2.2, "clifford", "a of x' = sin(a y) + c cos(a x)"),
    Param("cl_b", 0.9, 2.2, "clifford", "b of y' = sin(b x) + d cos(b y)"),
    Param("cl_c", -1.6, 1.6, "clifford", "c"),
    Param("cl_d", -1.6, 1.6, "clifford", "d"),
)
NAMES: tuple[str, ...] = tuple(p.name for p in PARAMS)
LOW = np.array([p.low for p in PARAMS])
HIGH = np.array([p.high for p in PARAMS])
MID = (LOW + HIGH) / 2


def family_index(family: str | int) -> int:
    if isinstance(family, (int, np.integer)) and not isinstance(family, bool):
        if not 0 <= int(family) < len(FAMILIES):
            raise InputError(f"family index must be in 0..{len(FAMILIES) - 1}, got {family}")
        return int(family)
    if family not in FAMILIES:
        raise InputError(f"unknown family {family!r}; choose from {', '.join(FAMILIES)}")
    return FAMILIES.index(family)


def family_mask(family: str | int) -> np.ndarray:
    """Which slots a family reads: the palette and its own shape values (bool [P])."""
    name = FAMILIES[family_index(family)]
    return np.array([p.family in ("", name) for p in PARAMS])


def check_params(params: np.ndarray, family: str | int) -> np.ndarray:
    """The vector as float64 [P], or InputError naming the first slot this family reads that is out of range."""
    vec = np.asarray(params, dtype=np.float64)
    if vec.shape != (len(PARAMS),):
        raise InputError(
            f"a parameter vector has {len(PARAMS)} values ({', '.join(NAMES)}), got shape {list(vec.shape)}"
        )
    for i in np.flatnonzero(family_mask(family)):
        # A float32 copy of a limit (what model.onnx clips to) may lie a rounding step outside it: allowed, then clipped.
        slack = 1e-6 * max(1.0, abs(LOW[i]), abs(HIGH[i]))
        if not LOW[i] - slack <= vec[i] <= HIGH[i] + slack:  # NaN fails both comparisons, so it is refused too
            raise InputError(f"parameter {NAMES[i]} is {vec[i]:g}, outside its range {LOW[i]:g}..{HIGH[i]:g}")
    return np.clip(vec, LOW, HIGH)  # NaN in a slot this family ignores stays NaN, and is never read


def render(params: np.ndarray, family: str | int, size: int = 64) -> np.ndarray:
    """Draw one picture: float32 [size, size, 3] in [0, 1]; the same vector always gives the same pixels."""
    index = family_index(family)
    vec = check_params(params, index)
    if not 8 <= int(size) <= 2048:
        raise InputError(f"size must be in 8..2048, got {size}")
    p = dict(zip(NAMES, vec.tolist()))
    return np.clip(RENDERERS[FAMILIES[index]](p, int(size)), 0.0, 1.0).astype(np.float32)


def render_mix(params: np.ndarray, y: np.ndarray, size: int = 64) -> np.ndarray:
    """Draw rows whose family is a soft one-hot `y` [n, families], the way `model.onnx` does: each row by its
    dominant family, faded toward its background by top1(y) - top2(y) (a class morph dips through the background).
    """
    from serving.art.mathart_render import palette

    y = np.asarray(y, np.float64)
    if y.ndim != 2 or y.shape != (len(params), len(FAMILIES)):
        raise InputError(f"y must have shape [{len(params)}, {len(FAMILIES)}], got {list(y.shape)}")
    out = np.empty((len(params), size, size, 3), dtype=np.float32)
    for i, (vec, weights) in enumerate(zip(params, y)):
        order = np.argsort(-weights, kind="stable")  # ties go to the first family, as argmax does in the graph
        strength = float(np.clip(weights[order[0]] - weights[order[1]], 0.0, 1.0))
        _, background = palette(dict(zip(NAMES, np.asarray(vec, np.float64).tolist())))
        img = render(vec, int(order[0]), size).astype(np.float64)
        out[i] = np.clip(background + strength * (img - background), 0.0, 1.0)
    return out


def render_batch(params: np.ndarray, labels: np.ndarray, size: int = 64) -> np.ndarray:
    """Draw a batch: params [n, P] and family indices [n] -> float32 [n, size, size, 3]."""
    if len(params) != len(labels):
        raise InputError(f"{len(params)} parameter vectors but {len(labels)} families")
    out = np.empty((len(params), size, size, 3), dtype=np.float32)
    for i, (vec, label) in enumerate(zip(params, labels)):
        out[i] = render(vec, int(label), size)
    return out


# The prior: uniform over each family's dials, shaped by the parameterisation rather than by the draw, so a GAN has a
# plain box to learn: frequency, petal and gear dials pass through `snap`, which lingers on whole numbers (closed
# harmonographs, roses and spirographs), Julia c sits near the Mandelbrot set's main cardioid, and Clifford a and b
# are large enough to be chaotic.
def _prior_shape(family: str, rng: np.random.Generator) -> dict[str, float]:
    if family == "lissajous":
        # Dials uniform: snap() in the renderer gathers them near whole-number frequencies, the harmonograph's look.
        f = rng.uniform(1.0, 4.5, size=4)
        ph = rng.uniform(0.0, TAU, size=4)
        return {
            "lis_f1": f[0],
            "lis_f2": f[1],
            "lis_f3": f[2],
            "lis_f4": f[3],
            "lis_p1": ph[0],
            "lis_p2": ph[1],
            "lis_p3": ph[2],
            "lis_p4": ph[3],
            "lis_damping": np.exp(rng.uniform(np.log(0.004), np.log(0.04))),
            "lis_ratio": rng.uniform(0.2, 1.0),
            "lis_detune": rng.uniform(0.0, 0.03),
        }
    if family == "rose":
        return {
            "rose_k": rng.uniform(1.0, 7.0),
            "rose_offset": rng.uniform(0.0, 0.5),
            "rose_rotation": rng.uniform(0.0, TAU),
        }
    if family == "hypotrochoid":
        return {
            "hypo_lobes": rng.uniform(4.0, 12.0),
            "hypo_loops": rng.uniform(1.0, 3.0),
            "hypo_pen": rng.uniform(0.3, 1.3),
            "hypo_rotation": rng.uniform(0.0, TAU),
        }
    if family == "julia":
        return {
            "julia_angle": rng.uniform(0.0, TAU),
            "julia_radius": rng.uniform(1.02, 1.08),
            "julia_zoom": rng.uniform(1.2, 1.8),
            "julia_rotation": rng.uniform(0.0, TAU),
        }
    # a, b below 1 mostly collapse to a point or a cycle; above it the orbit spreads (94% pass the rule).
    a, b = rng.uniform(1.0, 2.1, size=2)
    c, d = rng.uniform(-1.5, 1.5, size=2)
    return {"cl_a": a, "cl_b": b, "cl_c": c, "cl_d": d}


def sample_prior(family: str | int, rng: np.random.Generator) -> np.ndarray:
    """One vector from the broad prior for `family`; slots the family ignores hold their range's midpoint."""
    name = FAMILIES[family_index(family)]
    values = dict(zip(NAMES, MID.tolist()))
    values.update(
        {
            "hue": rng.uniform(0.0, 1.0),
            "hue_spread": rng.uniform(0.05, 0.5),
            "saturation": rng.uniform(0.5, 1.0),
            "background": rng.uniform(0.0, 0.12),
            "gain": rng.uniform(0.8, 2.2),
        }
    )
    values.update(_prior_shape(name, rng))
    return np.clip(np.array([values[n] for n in NAMES]), LOW, HIGH)


# The acceptance rule, measured on the picture drawn at ACCEPT_SIZE. Thresholds were set by looking at renders
# either side of them (docs/mathart.md): below them a picture is a dot, a thin arc, a cycle or a blank field.
ACCEPT_SIZE = 64
MIN_CONTRAST = 0.18  # mean |picture - background| over the drawn pixels
MIN_INK = {"lissajous": 0.08, "rose": 0.08, "hypotrochoid": 0.08, "julia": 0.0, "clifford": 0.04}
MIN_EXTENT = 0.5  # the drawing spans at least half the canvas in width or height
JULIA_DETAIL = (0.04, 0.85)  # share of pixels in the boundary band, and most interior allowed


def acceptance_figures(params: np.ndarray, family: str | int) -> dict[str, float]:
    """What the rule looks at: ink (share of drawn pixels), extent, contrast, and for julia the boundary band."""
    index = family_index(family)
    img = render(params, index, ACCEPT_SIZE).astype(np.float64)
    p = dict(zip(NAMES, np.asarray(params, np.float64).tolist()))
    from serving.art.mathart_render import palette

    _, background = palette(p)
    diff = np.abs(img - background).max(axis=-1)
    drawn = diff > 0.1
    rows, cols = np.flatnonzero(drawn.any(1)), np.flatnonzero(drawn.any(0))
    extent = max(np.ptp(rows) + 1 if rows.size else 0, np.ptp(cols) + 1 if cols.size else 0) / ACCEPT_SIZE
    figures = {
        "ink": float(drawn.mean()),
        "extent": float(extent),
        "contrast": float(diff[drawn].mean()) if drawn.any() else 0.0,
    }
    if FAMILIES[index] == "julia":
        t = julia_escape(p, ACCEPT_SIZE)
        figures["boundary"] = float(((t > 0.3) & (t < 0.97)).mean())
        figures["interior"] = float((t >= 0.97).mean())
    return figures


def accept(params: np.ndarray, family: str | int) -> bool:
    """The acceptance rule: not degenerate (enough ink, spread over the canvas, with contrast; a Julia set with a
    visible boundary band and not all interior)."""
    name = FAMILIES[family_index(family)]
    f = acceptance_figures(params, name)
    ok = f["contrast"] >= MIN_CONTRAST and f["extent"] >= MIN_EXTENT and f["ink"] >= MIN_INK[name]
    if name == "julia":
        ok = ok and f["boundary"] >= JULIA_DETAIL[0] and f["interior"] <= JULIA_DETAIL[1]
    return bool(ok)


def sample_accepted(count: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """`count` accepted vectors cycling through the families (balanced labels), reproducible from `seed`:
    (params float64 [count, P], labels int64 [count])."""
    labels = np.arange(count, dtype=np.int64) % len(FAMILIES)
    params = np.empty((count, len(PARAMS)))
    for i, label in enumerate(labels):
        rng = np.random.default_rng([int(seed), i])
        while True:
            vec = sample_prior(int(label), rng)
            if accept(vec, int(label)):
                break
        params[i] = vec
    return params, labels


def prior_acceptance_rate(count: int, seed: int = 0) -> float:
    """The share of raw prior draws that the acceptance rule keeps (balanced over the families)."""
    rng = np.random.default_rng([int(seed), 77])
    return float(np.mean([accept(sample_prior(i % len(FAMILIES), rng), i % len(FAMILIES)) for i in range(count)]))


def render_dataset(count: int, seed: int = 0, size: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """The `mathart` pixel dataset: `sample_accepted(count, seed)` drawn at `size`: (float32 [n, s, s, 3], labels)."""
    params, labels = sample_accepted(count, seed)
    return render_batch(params, labels, size), labels
