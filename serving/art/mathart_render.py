"""The math-art renderer in numpy: a parameter vector (see `serving.art.mathart.PARAMS`) -> an RGB picture.

Every family is drawn straight at the requested size, without data-dependent steps (no min/max fitting, no
"redraw until it looks good"), so the picture is a continuous function of the parameters: a latent walk that
moves the parameters a little moves the picture a little. `training/mathart_graph.py` is the same arithmetic in
TensorFlow ops, exported inside `model.onnx`; the two agree within 2/255 (tested). Change both or neither.

Curves (lissajous, rose, hypotrochoid) are traced with `CURVE_POINTS` points and splatted with bilinear weights
equal to each step's length in pixels, so a line deposits about one unit of density per pixel it crosses at
every size. The Clifford attractor iterates a fixed lattice of starting points. Julia sets use a smooth escape
count in which the interior is the limit of the exterior colouring, so c crossing the Mandelbrot boundary does
not make the picture jump.
"""

from __future__ import annotations

import numpy as np

CURVE_POINTS = 8192
LINE_DENSITY = 2.0  # density a line deposits per pixel of length: bright enough to read at 256 px
LISSAJOUS_SPAN = 36.0  # time the harmonograph's pendulums swing for
ROSE_TURNS = 2.0  # theta runs over two turns: roses with whole or half petal numbers close
JULIA_ITERS = 40
JULIA_BLOCK = 4  # iterations between escape checks
JULIA_ESCAPE = 4.0
JULIA_INTERIOR_DIM = 0.6  # how much darker the filled set is than its glowing boundary
# The attractor is drawn from many short orbits rather than a few long ones: the map is chaotic, so a long orbit
# amplifies float32/float64 rounding differences into different pixels, while 10 steps keep the numpy and graph
# renderers in agreement and still land on the attractor.
CLIFFORD_SIDE = 64  # CLIFFORD_SIDE**2 starting points on a lattice in [-1, 1]^2
CLIFFORD_ITERS = 10
CLIFFORD_SKIP = 6  # transient iterations not drawn
MARGIN = 0.9  # analytic extents map to [-MARGIN, MARGIN] of the canvas
TAU = 2.0 * np.pi


def hsv_to_rgb(h: np.ndarray, s: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Vectorised HSV -> RGB; h may be any non-negative number (taken mod 1). Returns [..., 3]."""
    h, s, v = (np.asarray(a, np.float64)[..., None] for a in (h, s, v))
    k = np.array([5.0, 3.0, 1.0]) + h * 6.0
    k = k - 6.0 * np.floor(k / 6.0)  # mod 6 without fmod's sign rules, as the graph does it
    return v - v * s * np.clip(np.minimum(k, 4.0 - k), 0.0, 1.0)


def palette(p: dict[str, float]) -> tuple[np.ndarray, np.ndarray]:
    """Three colour stops [3, 3] (hue, hue + spread, hue + 2 spread) and the background colour [3]."""
    hues = p["hue"] + np.array([0.0, 1.0, 2.0]) * p["hue_spread"]
    stops = hsv_to_rgb(hues, np.full(3, p["saturation"]), np.array([1.0, 1.0, 0.95]))
    background = hsv_to_rgb(p["hue"] + 0.5, 0.6, p["background"])
    return stops, background


def gradient(stops: np.ndarray, t: np.ndarray) -> np.ndarray:
    """t in [0, 1] -> colour along three stops, piecewise linear: [..., 3]."""
    t = np.asarray(t, np.float64)[..., None]
    w0 = np.clip(1.0 - 2.0 * t, 0.0, 1.0)
    w2 = np.clip(2.0 * t - 1.0, 0.0, 1.0)
    return w0 * stops[0] + (1.0 - w0 - w2) * stops[1] + w2 * stops[2]


def _splat(x: np.ndarray, y: np.ndarray, weight: np.ndarray, shade: np.ndarray, size: int) -> np.ndarray:
    """Accumulate points (x, y in [-1, 1]) with bilinear weights into [size, size, 2]: density, and density times
    the point's palette position `shade` in [0, 1] (two channels, not RGB: half the scatter work in the graph)."""
    px = (x * 0.5 + 0.5) * size - 0.5
    py = (0.5 - y * 0.5) * size - 0.5  # y up, as a mathematician draws it
    x0, y0 = np.floor(px), np.floor(py)
    fx, fy = px - x0, py - y0
    flat, wts = [], []
    for dx, dy, w in ((0, 0, (1 - fx) * (1 - fy)), (1, 0, fx * (1 - fy)), (0, 1, (1 - fx) * fy), (1, 1, fx * fy)):
        xi, yi = x0 + dx, y0 + dy
        ok = (xi >= 0) & (xi < size) & (yi >= 0) & (yi < size)
        flat.append((np.clip(yi, 0, size - 1) * size + np.clip(xi, 0, size - 1)).astype(np.int64))
        wts.append(w * ok * weight)
    flat_all, w_all = np.concatenate(flat), np.concatenate(wts)
    acc = np.empty((size * size, 2))
    acc[:, 0] = np.bincount(flat_all, weights=w_all, minlength=size * size)
    acc[:, 1] = np.bincount(flat_all, weights=w_all * np.tile(shade, 4), minlength=size * size)
    return acc.reshape(size, size, 2)


def _expose(acc: np.ndarray, stops: np.ndarray, background: np.ndarray, gain: float) -> np.ndarray:
    """Density -> a glowing line over the background (an exposure curve, not a hard clip), coloured by the mean
    palette position of the points that fell on each pixel."""
    density = acc[..., 0]
    colour = gradient(stops, acc[..., 1] / np.maximum(density, 1e-6))
    alpha = 1.0 - np.exp(-gain * density)
    return background + alpha[..., None] * (colour - background)


def _curve(x: np.ndarray, y: np.ndarray, p: dict[str, float], size: int) -> np.ndarray:
    stops, background = palette(p)
    # Each point carries the length (in pixels) of the step that reaches it, capped where the curve jumps.
    step = np.hypot(np.diff(x, prepend=x[:1]), np.diff(y, prepend=y[:1])) * (0.5 * size)
    weight = np.minimum(step, 2.0) * LINE_DENSITY
    return _expose(_splat(x, y, weight, curve_shade(x.size), size), stops, background, p["gain"])


def curve_shade(points: int) -> np.ndarray:
    """Each point's palette position in [0, 1]: the palette runs along the curve twice, there and back."""
    t = np.arange(points) / points
    return np.abs((2.0 * t) % 1.0 * 2.0 - 1.0)


def snap(x):
    """s(s(x)) with s(x) = x - sin(2 pi x) / (2 pi): smooth and increasing, flat at whole numbers, so a dial turned
    at an even pace lingers on them (70% of a uniform dial lands within 0.064 of one) and never jumps between them."""
    for _ in range(2):
        x = x - np.sin(TAU * x) / TAU
    return x


def curve_xy(family: str, p: dict[str, float], points: int = CURVE_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """The renderer's own points of a curve family (lissajous, rose, hypotrochoid), in drawing order, in the
    canvas's [-1, 1] frame (x right, y up): what `render` splats, what an SVG path or a plotter follows, what a print
    draws (with more points) and what a drawing is fitted against (with fewer). KeyError for julia and clifford."""
    count = points
    if family == "lissajous":
        t = np.linspace(0.0, LISSAJOUS_SPAN, count)
        decay = np.exp(-p["lis_damping"] * t)
        r, detune = p["lis_ratio"], p["lis_detune"]
        f1, f2 = snap(p["lis_f1"]), snap(p["lis_f2"]) + detune
        f3, f4 = snap(p["lis_f3"]), snap(p["lis_f4"]) - detune
        x = (np.sin(f1 * t + p["lis_p1"]) + r * np.sin(f2 * t + p["lis_p2"])) * decay
        y = (np.sin(f3 * t + p["lis_p3"]) + r * np.sin(f4 * t + p["lis_p4"])) * decay
        scale = MARGIN / (1.0 + r)
        return x * scale, y * scale
    if family == "rose":
        theta = np.linspace(0.0, TAU * ROSE_TURNS, count)
        k = snap(2.0 * p["rose_k"]) / 2.0  # whole and half petal numbers: both close within two turns
        r = (np.cos(k * theta) + p["rose_offset"]) * (MARGIN / (1.0 + p["rose_offset"]))
        angle = theta + p["rose_rotation"]
        return r * np.cos(angle), r * np.sin(angle)
    if family == "hypotrochoid":
        lobes, loops, pen = snap(p["hypo_lobes"]), snap(p["hypo_loops"]), p["hypo_pen"]
        q = loops / lobes  # rolling radius over fixed radius
        theta = np.linspace(0.0, TAU, count) * loops
        inner = (lobes / loops - 1.0) * theta
        x = (1.0 - q) * np.cos(theta) + pen * q * np.cos(inner)
        y = (1.0 - q) * np.sin(theta) - pen * q * np.sin(inner)
        scale = MARGIN / ((1.0 - q) + pen * q)
        c, s = np.cos(p["hypo_rotation"]), np.sin(p["hypo_rotation"])
        return (c * x - s * y) * scale, (s * x + c * y) * scale
    raise KeyError(f"{family} is not a curve family")


def _lissajous(p: dict[str, float], size: int) -> np.ndarray:
    return _curve(*curve_xy("lissajous", p), p, size)


def _rose(p: dict[str, float], size: int) -> np.ndarray:
    return _curve(*curve_xy("rose", p), p, size)


def _hypotrochoid(p: dict[str, float], size: int) -> np.ndarray:
    return _curve(*curve_xy("hypotrochoid", p), p, size)


def julia_c(angle: float, radius: float) -> tuple[float, float]:
    """c = radius * (e^(i angle) / 2 - e^(2 i angle) / 4): the main cardioid's edge at radius 1, where Julia sets are
    most detailed. Parameterised this way the pleasing c values form a box, not a thin curve, for a GAN to learn."""
    re = 0.5 * np.cos(angle) - 0.25 * np.cos(2.0 * angle)
    im = 0.5 * np.sin(angle) - 0.25 * np.sin(2.0 * angle)
    return radius * re, radius * im


def julia_escape(p: dict[str, float], size: int, rows: tuple[int, int] | None = None) -> np.ndarray:
    """Smooth escape count / JULIA_ITERS in [0, 1] for each pixel (1 = never escaped): [size, size], or only the
    rows `rows[0]:rows[1]` of it (each pixel is computed on its own, so a band is exactly that part of the whole)."""
    axis = ((np.arange(size) + 0.5) / size * 2.0 - 1.0) * p["julia_zoom"]
    band = axis if rows is None else axis[rows[0] : rows[1]]
    gx, gy = axis[None, :], -band[:, None]
    shape = (band.size, size)
    c, s = np.cos(p["julia_rotation"]), np.sin(p["julia_rotation"])
    zx, zy = (np.broadcast_to(c * gx - s * gy, shape).copy(), np.broadcast_to(s * gx + c * gy, shape).copy())
    c_re, c_im = julia_c(p["julia_angle"], p["julia_radius"])
    count = np.zeros(shape)
    for _ in range(JULIA_ITERS // JULIA_BLOCK):
        # Escape is checked once per block: a point that escapes inside a block runs on to the block's end (|z| stays
        # far below float32's limit) and is frozen from then on. The smooth count below is the same either way, up
        # to the size of c against |z|, and the iteration costs half the operations.
        alive = (zx * zx + zy * zy <= JULIA_ESCAPE * JULIA_ESCAPE).astype(np.float64)
        count += JULIA_BLOCK * alive
        # Frozen points start the block clamped, so their (discarded) block stays finite: the graph blends with
        # multiplications (tf2onnx turns tf.where into them), and 0 * inf would be NaN.
        nx, ny = np.clip(zx, -JULIA_ESCAPE, JULIA_ESCAPE), np.clip(zy, -JULIA_ESCAPE, JULIA_ESCAPE)
        for _ in range(JULIA_BLOCK):
            xx, yy = nx * nx, ny * ny
            nx, ny = xx - yy + c_re, (nx + nx) * ny + c_im
        zx, zy = zx + alive * (nx - zx), zy + alive * (ny - zy)
    modulus = np.sqrt(np.maximum(zx * zx + zy * zy, JULIA_ESCAPE * JULIA_ESCAPE))
    smooth = count + 1.0 - np.log2(np.log(modulus) / np.log(JULIA_ESCAPE))
    return np.clip(smooth / (JULIA_ITERS + 1.0), 0.0, 1.0)


def _julia(p: dict[str, float], size: int, rows: tuple[int, int] | None = None) -> np.ndarray:
    stops, background = palette(p)
    t = julia_escape(p, size, rows)
    # gain sets how far the colour climbs toward the set: higher gain, brighter filaments. The glow dims over the
    # last steps before the interior (t -> 1), so the boundary shines and the filled set stays dark; continuous in t.
    shade = t ** (1.0 / p["gain"])
    glow = shade * (1.0 - JULIA_INTERIOR_DIM * np.clip((t - 0.9) / 0.1, 0.0, 1.0))
    return background + glow[..., None] * (gradient(stops, shade) - background)


def clifford_orbit(p: dict[str, float]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Points of the Clifford map's orbit from a fixed lattice, scaled into the canvas, and each step's length."""
    a, b, c, d = p["cl_a"], p["cl_b"], p["cl_c"], p["cl_d"]
    lattice = (np.arange(CLIFFORD_SIDE) + 0.5) / CLIFFORD_SIDE * 2.0 - 1.0
    x = np.repeat(lattice, CLIFFORD_SIDE)
    y = np.tile(lattice, CLIFFORD_SIDE)
    xs, ys, steps = [], [], []
    for i in range(CLIFFORD_ITERS):
        nx, ny = np.sin(a * y) + c * np.cos(a * x), np.sin(b * x) + d * np.cos(b * y)
        if i >= CLIFFORD_SKIP:
            xs.append(nx)
            ys.append(ny)
            steps.append(np.hypot(nx - x, ny - y))
        x, y = nx, ny
    scale = MARGIN / max(1.0 + abs(c), 1.0 + abs(d))
    return np.concatenate(xs) * scale, np.concatenate(ys) * scale, np.concatenate(steps) * scale


def _clifford(p: dict[str, float], size: int) -> np.ndarray:
    stops, background = palette(p)
    x, y, step = clifford_orbit(p)
    # Normalised so the same attractor looks equally dense at every size: points per pixel of canvas.
    weight = np.full(x.size, size * size / x.size)
    return _expose(_splat(x, y, weight, np.clip(step / MARGIN, 0.0, 1.0), size), stops, background, p["gain"])


RENDERERS = {
    "lissajous": _lissajous,
    "rose": _rose,
    "hypotrochoid": _hypotrochoid,
    "julia": _julia,
    "clifford": _clifford,
}
