"""Prints: one math-art picture at up to MAX_PRINT_SIZE px that is the same picture as its PRINT_BASE px render.

`serving.art.mathart.render` draws a line about one pixel wide at every size, so a 2048 px render is a thin wire,
not the 256 px picture enlarged. A print keeps the look: it is the 256 px render's density field (each point a
bilinear tent one base pixel wide) sampled `size / PRINT_BASE` times more finely, then exposed the same way.

1. Curves are traced with `scale` times CURVE_POINTS points, each weighing 1/scale as much (its step length in
   base pixels, capped at 2/scale), so the density per base pixel of length is the 256 px render's; Clifford
   orbits keep their points and weights.
2. The points are splatted bilinearly at the print's own size, then blurred by a tent `round(scale)` print pixels
   wide (two box filters, each a difference of cumulative sums: linear time however wide the tent).
3. Density -> colour by the renderer's own exposure; Julia sets are drawn per pixel at full size.

Work is done in bands of rows (BAND_BYTES of floats at a time), so memory beyond the uint8 picture is bounded
whatever the size. At `size <= PRINT_BASE` a print is `render` itself.
"""

from __future__ import annotations

import numpy as np

from serving.art.mathart import FAMILIES, NAMES, check_params, family_index, render
from serving.art.mathart_render import (
    CURVE_POINTS,
    LINE_DENSITY,
    _julia,
    clifford_orbit,
    curve_shade,
    curve_xy,
    gradient,
    palette,
)
from serving.errors import InputError

PRINT_BASE = 256  # the size whose look a print keeps: the bundle's own image size
MAX_PRINT_SIZE = 8192
BAND_BYTES = 48 * 2**20  # float64 working arrays of one band of rows
CURVES = ("lissajous", "rose", "hypotrochoid")


def print_points(family: str, p: dict[str, float], size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x, y in print pixels, weight, palette position) of the points a print of `size` splats."""
    scale = max(1, round(size / PRINT_BASE))
    if family in CURVES:
        x, y = curve_xy(family, p, CURVE_POINTS * scale)
        step = np.hypot(np.diff(x, prepend=x[:1]), np.diff(y, prepend=y[:1])) * (0.5 * PRINT_BASE)
        weight = np.minimum(step, 2.0 / scale) * LINE_DENSITY
        shade = curve_shade(x.size)
    else:  # clifford: the orbit's points, normalised to the base size's density as `_clifford` does
        x, y, steps = clifford_orbit(p)
        weight = np.full(x.size, PRINT_BASE * PRINT_BASE / x.size)
        shade = np.clip(steps / 0.9, 0.0, 1.0)
    px = (x * 0.5 + 0.5) * size - 0.5
    py = (0.5 - y * 0.5) * size - 0.5
    return px, py, weight, shade


def _box(a: np.ndarray, width: int, lead: int) -> np.ndarray:
    """out[i] = a[i - lead] + ... + a[i - lead + width - 1] down axis 0 (zeros outside), by cumulative sums."""
    n = a.shape[0]
    c = np.zeros((n + width + 1, *a.shape[1:]))
    np.cumsum(a, axis=0, out=c[lead + 1 : lead + 1 + n])
    c[lead + 1 + n :] = c[lead + n]
    return c[width : width + n] - c[:n]


def _tent(a: np.ndarray, radius: int) -> np.ndarray:
    """A centred tent max(0, 1 - |d| / radius) down axis 0: two boxes of `radius` taps, offset to cancel."""
    if radius == 1:
        return a
    lead = (radius - 1) // 2
    return _box(_box(a, radius, lead), radius, radius - 1 - lead) / radius


def _blur(plane: np.ndarray, radius: int) -> np.ndarray:
    """The tent along both axes of one [rows, width] plane (rows first on the transposed copy: both passes then
    run down contiguous columns)."""
    return _tent(np.ascontiguousarray(_tent(np.ascontiguousarray(plane.T), radius).T), radius)


def _expose_inked(density: np.ndarray, shaded: np.ndarray, stops, background, gain: float) -> np.ndarray:
    """`_expose`, computed only where there is ink: elsewhere its alpha is 0 and the pixel is the background."""
    img = np.empty((*density.shape, 3))
    img[:] = background
    inked = density > 0.0
    d = density[inked]
    colour = gradient(stops, shaded[inked] / np.maximum(d, 1e-6))
    img[inked] = background + (1.0 - np.exp(-gain * d))[:, None] * (colour - background)
    return img


def _splat_band(px, py, weight, shade, top: int, rows: int, width: int) -> np.ndarray:
    """Bilinear splat of the points into rows top..top+rows-1: [rows, width, 2] (density, density x shade)."""
    x0, y0 = np.floor(px), np.floor(py)
    fx, fy = px - x0, py - y0
    flat, wts, shades = [], [], []
    for dx, dy, w in ((0, 0, (1 - fx) * (1 - fy)), (1, 0, fx * (1 - fy)), (0, 1, (1 - fx) * fy), (1, 1, fx * fy)):
        xi, yi = x0 + dx, y0 + dy - top
        ok = (xi >= 0) & (xi < width) & (yi >= 0) & (yi < rows)
        flat.append((yi[ok] * width + xi[ok]).astype(np.int64))
        wts.append((w * weight)[ok])
        shades.append(shade[ok])
    flat_all, w_all = np.concatenate(flat), np.concatenate(wts)
    acc = np.empty((rows * width, 2))
    acc[:, 0] = np.bincount(flat_all, weights=w_all, minlength=rows * width)
    acc[:, 1] = np.bincount(flat_all, weights=w_all * np.concatenate(shades), minlength=rows * width)
    return acc.reshape(rows, width, 2)


def band_rows(size: int) -> int:
    """Rows per band: as many as BAND_BYTES of float64 working arrays allow (several copies of [rows, size, 2])."""
    return int(max(16, min(size, BAND_BYTES // (size * 2 * 8 * 4))))


def render_print(params: np.ndarray, family: str | int, size: int, strength: float = 1.0) -> np.ndarray:
    """One picture of `size` x `size` px (up to MAX_PRINT_SIZE) as uint8 [size, size, 3]: the PRINT_BASE px
    render's look at any size. `strength` < 1 fades it toward the background, as a class morph does."""
    index = family_index(family)
    vec = check_params(params, index)
    size = int(size)
    if not 8 <= size <= MAX_PRINT_SIZE:
        raise InputError(f"a print's size must be in 8..{MAX_PRINT_SIZE}, got {size}")
    p = dict(zip(NAMES, vec.tolist()))
    stops, background = palette(p)
    out = np.empty((size, size, 3), np.uint8)
    if size <= PRINT_BASE:
        img = render(vec, index, size)
        out[:] = _to_uint8(img if strength == 1.0 else background + strength * (img - background))
        return out
    name = FAMILIES[index]
    scale = max(1, round(size / PRINT_BASE))
    reach = scale - 1
    if name != "julia":
        px, py, weight, shade = print_points(name, p, size)
        order = np.argsort(py, kind="stable")
        px, py, weight, shade = px[order], py[order], weight[order], shade[order]
    rows = band_rows(size)
    for top in range(0, size, rows):
        bottom = min(size, top + rows)
        if name == "julia":
            img = _julia(p, size, (top, bottom))
        else:
            # The band's tent reaches `reach` rows beyond it; a point reaches the row below its own.
            lo, hi = top - reach, bottom + reach
            first, last = np.searchsorted(py, [lo - 1.0, hi], side="left")
            part = slice(first, last)
            acc = _splat_band(px[part], py[part], weight[part], shade[part], lo, hi - lo, size)
            keep = slice(reach, reach + bottom - top)
            density, shaded = (_blur(acc[..., i], scale)[keep] for i in (0, 1))
            img = _expose_inked(density, shaded, stops, background, p["gain"])
        img = np.clip(img, 0.0, 1.0)
        out[top:bottom] = _to_uint8(img if strength == 1.0 else background + strength * (img - background))
    return out


def _to_uint8(img: np.ndarray) -> np.ndarray:
    return (np.clip(img, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
