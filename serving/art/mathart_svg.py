"""Curves as vectors: a lissajous, rose or hypotrochoid picture as an SVG a pen plotter can draw.

The line is the renderer's own CURVE_POINTS points, in order, in the PRINT_BASE px canvas's units (the SVG's
viewBox; `size` sets only its width and height): a plotter draws it as one continuous stroke. It is cut into
SEGMENTS consecutive paths, each starting where the last ended, so the palette can run along it as the picture's
does (SVG has no gradient along a path). A background rectangle comes first and the recipe sits in <metadata>,
read back by `serving.files.recipe_file` so `--recipe picture.svg` renders it again.

Julia sets and Clifford attractors are fields and clouds, not lines: they are refused (NOT_A_LINE), never traced.
"""

from __future__ import annotations

from xml.sax.saxutils import escape

import numpy as np

from serving.art.mathart import FAMILIES, NAMES, check_params, family_index
from serving.art.mathart_render import CURVE_POINTS, LINE_DENSITY, curve_shade, curve_xy, gradient, palette
from serving.errors import InputError

SVG_FAMILIES = ("lissajous", "rose", "hypotrochoid")
SVG_NS = "http://www.w3.org/2000/svg"
RECIPE_NS = "https://github.com/ganimate"
SEGMENTS = 128  # colour steps along the line: finer than the eye tells apart on the two palette sweeps
STROKE_WIDTH = 1.25  # in base pixels: about the width the 256 px render's bilinear line shows
BASE = 256  # the viewBox side, the size whose render the SVG matches
NOT_A_LINE = "{family} pictures are not lines (a field or a point cloud): SVG is for lissajous, rose and hypotrochoid"


def check_svg_family(family: str | int) -> str:
    """The family's name, or InputError when it is not a line."""
    name = FAMILIES[family_index(family)]
    if name not in SVG_FAMILIES:
        raise InputError(NOT_A_LINE.format(family=name))
    return name


def svg_points(params: np.ndarray, family: str | int) -> np.ndarray:
    """The line's points [CURVE_POINTS, 2] in viewBox units (x right, y down): pixel (i, j)'s centre is
    (i + 0.5, j + 0.5), exactly where the renderer splats at BASE px."""
    name = check_svg_family(family)
    p = dict(zip(NAMES, check_params(params, name).tolist()))
    x, y = curve_xy(name, p, CURVE_POINTS)
    return np.stack([(x * 0.5 + 0.5) * BASE, (0.5 - y * 0.5) * BASE], axis=1)


def _hex(rgb: np.ndarray) -> str:
    r, g, b = (int(v) for v in np.clip(np.asarray(rgb) * 255.0 + 0.5, 0, 255))
    return f"#{r:02x}{g:02x}{b:02x}"


def to_svg(params: np.ndarray, family: str | int, size: int = BASE, recipe_json: str = "") -> bytes:
    """The SVG document (UTF-8 bytes) of one curve picture, `size` px wide and high, carrying `recipe_json`."""
    if not 8 <= int(size) <= 65536:
        raise InputError(f"an SVG's size must be in 8..65536, got {size}")
    name = check_svg_family(family)
    vec = check_params(params, name)
    p = dict(zip(NAMES, vec.tolist()))
    stops, background = palette(p)
    points = svg_points(vec, name)
    shade = curve_shade(len(points))
    # One pass of the line reaches about this alpha in the render (density LINE_DENSITY per pixel of length).
    opacity = 1.0 - np.exp(-p["gain"] * LINE_DENSITY / 2.0)
    cuts = np.linspace(0, len(points) - 1, SEGMENTS + 1).round().astype(int)
    paths = []
    for a, b in zip(cuts[:-1], cuts[1:]):
        seg = points[a : b + 1]  # shares its first point with the last segment's end: one unbroken line
        d = "M" + " L".join(f"{x:.3f} {y:.3f}" for x, y in seg)
        colour = _hex(gradient(stops, shade[(a + b) // 2]))
        paths.append(f'<path stroke="{colour}" d="{d}"/>')
    meta = (
        f'<metadata><ganimate:recipe xmlns:ganimate="{RECIPE_NS}">{escape(recipe_json)}</ganimate:recipe></metadata>'
        if recipe_json
        else ""
    )
    doc = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<svg xmlns="{SVG_NS}" width="{int(size)}" height="{int(size)}" viewBox="0 0 {BASE} {BASE}">\n'
        f"{meta}\n"
        f'<rect width="{BASE}" height="{BASE}" fill="{_hex(background)}"/>\n'
        f'<g id="curve" fill="none" stroke-width="{STROKE_WIDTH}" stroke-linecap="round" '
        f'stroke-linejoin="round" stroke-opacity="{opacity:.3f}">\n' + "\n".join(paths) + "\n</g>\n</svg>\n"
    )
    return doc.encode("utf-8")


def path_points(svg: bytes) -> np.ndarray:
    """The line's points [n, 2] read back from an SVG `to_svg` wrote (segments joined, shared ends once): what a
    plotter follows. Parsed with the standard library's XML parser; InputError when it holds no curve."""
    import xml.etree.ElementTree as ET

    try:
        root = ET.fromstring(svg)
    except ET.ParseError as exc:
        raise InputError(f"not a well-formed SVG: {exc}") from None
    parts = []
    for path in root.iter(f"{{{SVG_NS}}}path"):
        coords = path.get("d", "").replace("M", " ").replace("L", " ").split()
        seg = np.asarray(coords, dtype=np.float64).reshape(-1, 2)
        parts.append(seg if not parts else seg[1:])
    if not parts:
        raise InputError("this SVG holds no curve")
    return np.concatenate(parts)
