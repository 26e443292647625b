"""Procedural mathematical art: deterministic, anti-aliased RGB images from a seed (numpy only).

This is the `mathart` training dataset and is also usable from the Space or a gallery, so it lives in
`serving/` (which never imports TensorFlow). Every image is drawn at 2x resolution and box-filtered down,
which is the anti-aliasing; curves are splatted with bilinear weights so thin lines stay smooth.

    >>> img = render(seed=7, family="rose", size=64)   # float32 [64, 64, 3] in [0, 1]
    >>> images, labels = render_dataset(count=100, seed=0)
"""

from __future__ import annotations

import numpy as np

FAMILIES: tuple[str, ...] = ("lissajous", "rose", "hypotrochoid", "julia", "clifford")
_SUPERSAMPLE = 2
_TAU = 2.0 * np.pi


def _palette(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Two or three colours for a gradient, plus a dark background; saturated, bright hues read well at 64px."""
    base = rng.uniform(0.0, 1.0)
    hues = (base + np.array([0.0, rng.uniform(0.15, 0.45), rng.uniform(0.5, 0.8)])) % 1.0
    colours = np.stack([_hsv_to_rgb(h, rng.uniform(0.6, 1.0), rng.uniform(0.85, 1.0)) for h in hues])
    background = _hsv_to_rgb(rng.uniform(0, 1), rng.uniform(0.3, 0.8), rng.uniform(0.02, 0.12))
    return colours.astype(np.float32), background.astype(np.float32)


def _hsv_to_rgb(h: float, s: float, v: float) -> np.ndarray:
    k = (np.array([5.0, 3.0, 1.0]) + h * 6.0) % 6.0
    return v - v * s * np.clip(np.minimum(k, 4.0 - k), 0.0, 1.0)


def _gradient(colours: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Map t in [0, 1] to RGB along the palette's colour stops."""
    stops = np.linspace(0.0, 1.0, len(colours))
    return np.stack([np.interp(t, stops, colours[:, c]) for c in range(3)], axis=-1)


def _splat(x: np.ndarray, y: np.ndarray, rgb: np.ndarray, res: int) -> tuple[np.ndarray, np.ndarray]:
    """Accumulate points (x, y in [-1, 1]) into density and colour grids with bilinear weights.

    np.bincount is used instead of np.add.at because it is an order of magnitude faster for this.
    """
    px = (x * 0.5 + 0.5) * (res - 1)
    py = (y * 0.5 + 0.5) * (res - 1)
    x0 = np.floor(px).astype(np.int64)
    y0 = np.floor(py).astype(np.int64)
    fx = px - x0
    fy = py - y0
    idx, wts = [], []
    for dx, dy, w in ((0, 0, (1 - fx) * (1 - fy)), (1, 0, fx * (1 - fy)), (0, 1, (1 - fx) * fy), (1, 1, fx * fy)):
        xi, yi = x0 + dx, y0 + dy
        ok = (xi >= 0) & (xi < res) & (yi >= 0) & (yi < res)
        idx.append((yi * res + xi)[ok])
        wts.append((w[ok], rgb[ok]))
    flat = np.concatenate(idx)
    w = np.concatenate([a for a, _ in wts])
    c = np.concatenate([b for _, b in wts])
    n = res * res
    density = np.bincount(flat, weights=w, minlength=n).reshape(res, res)
    colour = np.stack([np.bincount(flat, weights=w * c[:, k], minlength=n) for k in range(3)], axis=-1)
    return density, colour.reshape(res, res, 3)


def _tone_curve(density: np.ndarray, colour: np.ndarray, bg: np.ndarray, gain: float) -> np.ndarray:
    """Turn accumulated density into a glowing line over the background (an exposure curve, not a hard clip)."""
    mean_colour = colour / np.maximum(density, 1e-8)[..., None]
    alpha = 1.0 - np.exp(-gain * density)
    return bg + alpha[..., None] * (mean_colour - bg)


def _fit(x: np.ndarray, y: np.ndarray, margin: float = 0.9) -> tuple[np.ndarray, np.ndarray]:
    """Centre and scale a point cloud into [-margin, margin], keeping its aspect ratio."""
    cx, cy = (x.max() + x.min()) / 2, (y.max() + y.min()) / 2
    span = max(x.max() - x.min(), y.max() - y.min(), 1e-9) / 2
    return (x - cx) / span * margin, (y - cy) / span * margin


def _curve(x: np.ndarray, y: np.ndarray, rng: np.random.Generator, res: int) -> np.ndarray:
    colours, bg = _palette(rng)
    x, y = _fit(x, y)
    t = np.linspace(0.0, 1.0, x.size)
    # Colour along the curve, cycling through the palette so long curves show all of it.
    rgb = _gradient(colours, np.abs(((t * rng.integers(1, 4)) % 1.0) * 2 - 1))
    density, colour = _splat(x, y, rgb, res)
    # Normalise by the number of points per pixel of curve length so thick and thin curves look alike.
    gain = 1.2 * res * 2.0 / (x.size / 6.0)
    return _tone_curve(density, colour, bg, gain * rng.uniform(0.8, 1.3))


def _lissajous(rng: np.random.Generator, res: int) -> np.ndarray:
    """A damped harmonograph: two pendulums per axis, frequencies near small integer ratios."""
    t = np.linspace(0.0, rng.uniform(30, 60), 6000)
    f = rng.integers(1, 6, size=4) + rng.normal(0, 0.01, size=4)
    p = rng.uniform(0, _TAU, size=4)
    d = rng.uniform(0.001, 0.02, size=4)
    a = rng.uniform(0.4, 1.0, size=4)
    x = a[0] * np.sin(f[0] * t + p[0]) * np.exp(-d[0] * t) + a[1] * np.sin(f[1] * t + p[1]) * np.exp(-d[1] * t)
    y = a[2] * np.sin(f[2] * t + p[2]) * np.exp(-d[2] * t) + a[3] * np.sin(f[3] * t + p[3]) * np.exp(-d[3] * t)
    return _curve(x, y, rng, res)


def _rose(rng: np.random.Generator, res: int) -> np.ndarray:
    """Rose curve r = cos(k theta), k = n/d, traced over its full period."""
    n, d = int(rng.integers(1, 8)), int(rng.integers(1, 6))
    g = np.gcd(n, d)
    n, d = n // g, d // g
    period = np.pi * d if (n * d) % 2 == 1 else _TAU * d
    theta = np.linspace(0.0, period, 5000)
    r = np.cos(n / d * theta) + rng.uniform(0.0, 0.3)
    rot = rng.uniform(0, _TAU)
    return _curve(r * np.cos(theta + rot), r * np.sin(theta + rot), rng, res)


def _hypotrochoid(rng: np.random.Generator, res: int) -> np.ndarray:
    """A spirograph: a circle of radius r rolling inside one of radius R, pen at distance d."""
    big = int(rng.integers(5, 13))
    small = int(rng.integers(2, big))
    if 2 * small == big:  # R = 2r draws a plain ellipse; nudge to a true spirograph
        small += 1
    pen = rng.uniform(0.3, 1.2) * small
    turns = small // np.gcd(big, small)
    theta = np.linspace(0.0, _TAU * turns, 6000)
    k = (big - small) / small
    x = (big - small) * np.cos(theta) + pen * np.cos(k * theta)
    y = (big - small) * np.sin(theta) - pen * np.sin(k * theta)
    return _curve(x, y, rng, res)


def _julia(rng: np.random.Generator, res: int) -> np.ndarray:
    """Filled Julia set with smooth escape-time colouring; c is drawn near the Mandelbrot boundary."""
    colours, bg = _palette(rng)
    angle = rng.uniform(0, _TAU)
    # Points on the main cardioid's edge, pulled slightly outward, give connected, detailed sets.
    c = 0.5 * np.exp(1j * angle) - 0.25 * np.exp(2j * angle)
    c *= rng.uniform(1.0, 1.06)
    zoom = rng.uniform(1.3, 1.7)
    axis = np.linspace(-zoom, zoom, res)
    z = axis[None, :] + 1j * axis[:, None]
    z = z * np.exp(1j * rng.uniform(0, _TAU))
    iters = 48
    escaped = np.full(z.shape, iters, dtype=np.float64)
    alive = np.ones(z.shape, dtype=bool)
    for i in range(iters):
        z[alive] = z[alive] ** 2 + c
        out = alive & (np.abs(z) > 4.0)
        # Smooth iteration count removes banding between escape bands.
        escaped[out] = i + 1 - np.log2(np.log(np.abs(z[out])) / np.log(4.0))
        alive &= ~out
    t = np.clip(escaped / iters, 0.0, 1.0) ** 0.5
    rgb = _gradient(colours, t)
    inside = alive[..., None]
    return np.where(inside, bg + 0.15 * colours[0], bg + (rgb - bg) * t[..., None] ** 0.7)


def _clifford(rng: np.random.Generator, res: int) -> np.ndarray:
    """Clifford attractor x' = sin(a y) + c cos(a x), y' = sin(b x) + d cos(b y), as a log-density image."""
    colours, bg = _palette(rng)
    for _ in range(20):  # some parameters collapse to a point or a cycle; redraw until the orbit spreads
        a, b = rng.uniform(-2.0, 2.0, size=2)
        c, d = rng.uniform(-1.5, 1.5, size=2)
        x = rng.uniform(-0.1, 0.1, size=400)
        y = rng.uniform(-0.1, 0.1, size=400)
        xs, ys = [], []
        for i in range(80):
            x, y = np.sin(a * y) + c * np.cos(a * x), np.sin(b * x) + d * np.cos(b * y)
            if i >= 10:  # drop the transient
                xs.append(x)
                ys.append(y)
        px, py = _fit(np.concatenate(xs), np.concatenate(ys))
        # Accept only orbits that cover a fair share of a coarse grid (not a point, a cycle or a thin arc).
        cells = np.unique(((px + 1) * 12).astype(np.int64) * 32 + ((py + 1) * 12).astype(np.int64)).size
        if cells > 150:
            break
    speed = np.hypot(np.diff(px, prepend=px[0]), np.diff(py, prepend=py[0]))
    rgb = _gradient(colours, np.clip(speed / (speed.max() + 1e-9), 0, 1) ** 0.5)
    density, colour = _splat(px, py, rgb, res)
    mean_colour = colour / np.maximum(density, 1e-8)[..., None]
    lum = np.log1p(density) / np.log1p(density.max())
    return bg + (lum[..., None] ** 0.8) * (mean_colour - bg)


_RENDERERS = {
    "lissajous": _lissajous,
    "rose": _rose,
    "hypotrochoid": _hypotrochoid,
    "julia": _julia,
    "clifford": _clifford,
}


def _downsample(img: np.ndarray, factor: int) -> np.ndarray:
    h, w, c = img.shape
    return img.reshape(h // factor, factor, w // factor, factor, c).mean(axis=(1, 3))


def render(seed: int, family: str | int, size: int = 64) -> np.ndarray:
    """Render one image: float32 [size, size, 3] in [0, 1], identical for the same (seed, family, size)."""
    if isinstance(family, (int, np.integer)):
        if not 0 <= int(family) < len(FAMILIES):
            raise ValueError(f"family index must be in 0..{len(FAMILIES) - 1}, got {family}")
        family = FAMILIES[int(family)]
    if family not in _RENDERERS:
        raise ValueError(f"unknown family {family!r}; choose from {', '.join(FAMILIES)}")
    if size < 8:
        raise ValueError(f"size must be at least 8, got {size}")
    rng = np.random.default_rng([int(seed), FAMILIES.index(family)])
    img = _RENDERERS[family](rng, size * _SUPERSAMPLE)
    return np.clip(_downsample(img, _SUPERSAMPLE), 0.0, 1.0).astype(np.float32)


def render_dataset(count: int, seed: int = 0, size: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """`count` images cycling through the families (balanced labels); image i uses seed `seed * 1_000_003 + i`."""
    images = np.empty((count, size, size, 3), dtype=np.float32)
    labels = np.arange(count, dtype=np.int64) % len(FAMILIES)
    for i in range(count):
        images[i] = render(seed * 1_000_003 + i, int(labels[i]), size)
    return images, labels
