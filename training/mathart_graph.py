"""The math-art renderer in TensorFlow ops, so it can live inside `model.onnx` (tf2onnx, opset 17).

Same arithmetic as the numpy renderer (`serving/art/mathart_render.py`), batched: params [b, P] in real units ->
images [b, S, S, 3] in [0, 1]. Families draw channels first ([b, 3, S, S]) and one transpose makes NHWC at the
end. Splatting is `tf.tensor_scatter_nd_add` (ONNX ScatterND with reduction=add), the Julia and Clifford
iterations are unrolled Python loops. Each row is drawn only by its own family: rows are gathered per family (ONNX
NonZero + Gather) and put back in order, so a batch costs one render per row. A few forms are chosen so OpenCV's
importer reads the graph too (masks multiplied rather than And-ed, reshapes rather than new-axis slices).

Class mixtures (soft y) fade through the background: the dominant family is drawn with strength
top1(y) - top2(y), so a morph from a rose to a Julia set dims the rose to the background colour and brightens
the Julia set out of it, continuously, at the price of one render per frame rather than two.
"""

from __future__ import annotations

import math

import numpy as np
import tensorflow as tf

from serving.art import mathart
from serving.art.mathart_render import (
    CLIFFORD_ITERS,
    CLIFFORD_SIDE,
    CLIFFORD_SKIP,
    CURVE_POINTS,
    JULIA_BLOCK,
    JULIA_ESCAPE,
    JULIA_INTERIOR_DIM,
    JULIA_ITERS,
    LINE_DENSITY,
    LISSAJOUS_SPAN,
    MARGIN,
    ROSE_TURNS,
)

_INDEX = {name: i for i, name in enumerate(mathart.NAMES)}
TAU = 2.0 * math.pi


def _col(params: tf.Tensor, name: str) -> tf.Tensor:
    """One named parameter as a [b, 1] column."""
    i = _INDEX[name]
    return params[:, i : i + 1]


def hsv_to_rgb(h: tf.Tensor, s: tf.Tensor, v: tf.Tensor) -> tf.Tensor:
    """Broadcasting HSV -> RGB: [..., 3] appended."""
    h, s, v = h[..., None], s[..., None], v[..., None]
    k = tf.constant([5.0, 3.0, 1.0]) + h * 6.0
    k = k - 6.0 * tf.floor(k / 6.0)
    return v - v * s * tf.clip_by_value(tf.minimum(k, 4.0 - k), 0.0, 1.0)


def palette(params: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """Colour stops [b, 3, 3] and background [b, 3]."""
    hue, spread, sat = _col(params, "hue"), _col(params, "hue_spread"), _col(params, "saturation")
    hues = hue + tf.constant([[0.0, 1.0, 2.0]]) * spread
    stops = hsv_to_rgb(hues, sat * tf.ones_like(hues), tf.constant([[1.0, 1.0, 0.95]]) * tf.ones_like(hues))
    background = hsv_to_rgb(hue[:, 0] + 0.5, tf.fill(tf.shape(hue[:, 0]), 0.6), _col(params, "background")[:, 0])
    return stops, background


def planar_gradient(stops: tf.Tensor, t: tf.Tensor) -> tf.Tensor:
    """stops [b, 3, 3], t [b, h, w] -> colours [b, 3, h, w] along the three stops (channels first).

    Channels first on purpose: onnxruntime multiplies [b, h, w] by a per-image scalar [b, 1, 1] about a hundred
    times faster than it broadcasts [b, h, w, 1] against [b, 1, 1, 3] along the innermost axis."""
    w0 = tf.clip_by_value(1.0 - 2.0 * t, 0.0, 1.0)
    w2 = tf.clip_by_value(2.0 * t - 1.0, 0.0, 1.0)
    w1 = 1.0 - w0 - w2
    channels = []
    for k in range(3):
        c0, c1, c2 = (stops[:, i, k][:, None, None] for i in range(3))
        channels.append(w0 * c0 + w1 * c1 + w2 * c2)
    return tf.stack(channels, 1)


def _over_background(alpha: tf.Tensor, colour: tf.Tensor, background: tf.Tensor) -> tf.Tensor:
    """bg + alpha (colour - bg): alpha [b, h, w], colour [b, 3, h, w], background [b, 3] -> [b, 3, h, w]."""
    bg = tf.reshape(background, [-1, 3, 1, 1])  # a reshape, not [:, :, None, None]: OpenCV misreads that slice
    return bg + tf.expand_dims(alpha, 1) * (colour - bg)


def _mask(condition: tf.Tensor) -> tf.Tensor:
    return tf.cast(condition, tf.float32)


def splat(x: tf.Tensor, y: tf.Tensor, weight: tf.Tensor, shade: tf.Tensor, size: int, batch: tf.Tensor) -> tf.Tensor:
    """Points x, y [b, n] in [-1, 1], weights and palette positions [b, n] -> [2, b, size, size]: density, and
    density times palette position (each a contiguous plane, so reading them back is cheap).

    `batch` comes from the parameters, not from x: tf2onnx folds multiplications by ones_like(...), which can
    leave x with a broadcastable batch of 1."""
    px = (x * 0.5 + 0.5) * size - 0.5
    py = (0.5 - y * 0.5) * size - 0.5
    x0, y0 = tf.floor(px), tf.floor(py)
    fx, fy = px - x0, py - y0
    # Pixel indices in int64: float32 is exact only below 2^24, which 256 images of 256x256 already reach.
    row = tf.range(tf.cast(batch, tf.int64), dtype=tf.int64)[:, None] * (size * size)
    plane = tf.cast(batch, tf.int64) * (size * size)  # offset of the second plane
    indices, updates = [], []
    for dx, dy, w in ((0, 0, (1 - fx) * (1 - fy)), (1, 0, fx * (1 - fy)), (0, 1, (1 - fx) * fy), (1, 1, fx * fy)):
        xi, yi = x0 + dx, y0 + dy
        # A product of 0/1 masks rather than a logical And: OpenCV's ONNX importer has no And.
        ok = _mask(xi >= 0) * _mask(xi < size) * _mask(yi >= 0) * _mask(yi < size)
        col = tf.cast(tf.clip_by_value(xi, 0, size - 1), tf.int64)
        flat = row + tf.cast(tf.clip_by_value(yi, 0, size - 1), tf.int64) * size + col
        mass = w * ok * weight
        indices += [tf.reshape(flat, [-1, 1]), tf.reshape(flat + plane, [-1, 1])]
        updates += [tf.reshape(mass, [-1, 1]), tf.reshape(mass * shade, [-1, 1])]
    acc = tf.tensor_scatter_nd_add(tf.zeros([2 * batch * size * size, 1]), tf.concat(indices, 0), tf.concat(updates, 0))
    # -1, not `batch`: in ONNX Reshape a 0 means "keep the input's dimension", so a family with no rows in the batch
    # (batch 0) would ask for the wrong shape.
    return tf.reshape(acc, [2, -1, size, size])


def expose(acc: tf.Tensor, stops: tf.Tensor, background: tf.Tensor, gain: tf.Tensor) -> tf.Tensor:
    """Splat accumulator [2, b, S, S] -> planar picture [b, 3, S, S]."""
    density = acc[0]
    colour = planar_gradient(stops, acc[1] / tf.maximum(density, 1e-6))
    alpha = 1.0 - tf.exp(-gain[:, :, None] * density)
    return _over_background(alpha, colour, background)


def _curve(x: tf.Tensor, y: tf.Tensor, params: tf.Tensor, size: int) -> tf.Tensor:
    stops, background = palette(params)
    dx = x - tf.concat([x[:, :1], x[:, :-1]], 1)
    dy = y - tf.concat([y[:, :1], y[:, :-1]], 1)
    weight = tf.minimum(tf.sqrt(dx * dx + dy * dy) * (0.5 * size), 2.0) * LINE_DENSITY
    t = np.arange(CURVE_POINTS) / CURVE_POINTS
    shade = tf.constant(np.abs((2.0 * t) % 1.0 * 2.0 - 1.0)[None, :], tf.float32) * tf.ones_like(x)
    return expose(splat(x, y, weight, shade, size, tf.shape(params)[0]), stops, background, _col(params, "gain"))


def snap(x: tf.Tensor) -> tf.Tensor:
    """The numpy renderer's `snap`: smooth, increasing, flat at whole numbers."""
    for _ in range(2):
        x = x - tf.sin(TAU * x) / TAU
    return x


def lissajous(params: tf.Tensor, size: int) -> tf.Tensor:
    t = tf.constant(np.linspace(0.0, LISSAJOUS_SPAN, CURVE_POINTS)[None, :], tf.float32)
    decay = tf.exp(-_col(params, "lis_damping") * t)
    r, detune = _col(params, "lis_ratio"), _col(params, "lis_detune")
    f1, f2 = snap(_col(params, "lis_f1")), snap(_col(params, "lis_f2")) + detune
    f3, f4 = snap(_col(params, "lis_f3")), snap(_col(params, "lis_f4")) - detune
    x = (tf.sin(f1 * t + _col(params, "lis_p1")) + r * tf.sin(f2 * t + _col(params, "lis_p2"))) * decay
    y = (tf.sin(f3 * t + _col(params, "lis_p3")) + r * tf.sin(f4 * t + _col(params, "lis_p4"))) * decay
    scale = MARGIN / (1.0 + r)
    return _curve(x * scale, y * scale, params, size)


def rose(params: tf.Tensor, size: int) -> tf.Tensor:
    theta = tf.constant(np.linspace(0.0, TAU * ROSE_TURNS, CURVE_POINTS)[None, :], tf.float32)
    offset = _col(params, "rose_offset")
    k = snap(2.0 * _col(params, "rose_k")) / 2.0
    r = (tf.cos(k * theta) + offset) * (MARGIN / (1.0 + offset))
    angle = theta + _col(params, "rose_rotation")
    return _curve(r * tf.cos(angle), r * tf.sin(angle), params, size)


def hypotrochoid(params: tf.Tensor, size: int) -> tf.Tensor:
    lobes, loops, pen = snap(_col(params, "hypo_lobes")), snap(_col(params, "hypo_loops")), _col(params, "hypo_pen")
    q = loops / lobes
    theta = tf.constant(np.linspace(0.0, TAU, CURVE_POINTS)[None, :], tf.float32) * loops
    inner = (lobes / loops - 1.0) * theta
    x = (1.0 - q) * tf.cos(theta) + pen * q * tf.cos(inner)
    y = (1.0 - q) * tf.sin(theta) - pen * q * tf.sin(inner)
    scale = MARGIN / ((1.0 - q) + pen * q)
    rot = _col(params, "hypo_rotation")
    c, s = tf.cos(rot), tf.sin(rot)
    return _curve((c * x - s * y) * scale, (s * x + c * y) * scale, params, size)


def julia(params: tf.Tensor, size: int) -> tf.Tensor:
    stops, background = palette(params)
    axis = (np.arange(size) + 0.5) / size * 2.0 - 1.0
    gx = tf.constant(np.broadcast_to(axis[None, :], (size, size))[None], tf.float32)
    gy = tf.constant(np.broadcast_to(-axis[:, None], (size, size))[None], tf.float32)
    zoom = _col(params, "julia_zoom")[:, :, None]
    rot = _col(params, "julia_rotation")[:, :, None]
    c, s = tf.cos(rot), tf.sin(rot)
    zx, zy = (c * gx - s * gy) * zoom, (s * gx + c * gy) * zoom
    angle, radius = _col(params, "julia_angle")[:, :, None], _col(params, "julia_radius")[:, :, None]
    cre = radius * (0.5 * tf.cos(angle) - 0.25 * tf.cos(2.0 * angle))
    cim = radius * (0.5 * tf.sin(angle) - 0.25 * tf.sin(2.0 * angle))
    count = tf.zeros_like(zx)
    for _ in range(JULIA_ITERS // JULIA_BLOCK):  # escape checked once per block, as in the numpy renderer
        alive = tf.cast(zx * zx + zy * zy <= JULIA_ESCAPE * JULIA_ESCAPE, tf.float32)
        count += float(JULIA_BLOCK) * alive
        nx = tf.clip_by_value(zx, -JULIA_ESCAPE, JULIA_ESCAPE)
        ny = tf.clip_by_value(zy, -JULIA_ESCAPE, JULIA_ESCAPE)
        for _ in range(JULIA_BLOCK):
            xx, yy = nx * nx, ny * ny
            nx, ny = xx - yy + cre, (nx + nx) * ny + cim
        zx, zy = zx + alive * (nx - zx), zy + alive * (ny - zy)
    modulus = tf.sqrt(tf.maximum(zx * zx + zy * zy, JULIA_ESCAPE * JULIA_ESCAPE))
    smooth = count + 1.0 - tf.math.log(tf.math.log(modulus) / math.log(JULIA_ESCAPE)) / math.log(2.0)
    t = tf.clip_by_value(smooth / (JULIA_ITERS + 1.0), 0.0, 1.0)
    shade = tf.pow(t, 1.0 / _col(params, "gain")[:, :, None])
    glow = shade * (1.0 - JULIA_INTERIOR_DIM * tf.clip_by_value((t - 0.9) / 0.1, 0.0, 1.0))
    return _over_background(glow, planar_gradient(stops, shade), background)


def clifford(params: tf.Tensor, size: int) -> tf.Tensor:
    stops, background = palette(params)
    a, b, c, d = (_col(params, n) for n in ("cl_a", "cl_b", "cl_c", "cl_d"))
    lattice = (np.arange(CLIFFORD_SIDE) + 0.5) / CLIFFORD_SIDE * 2.0 - 1.0
    ones = tf.ones_like(a)
    x = tf.constant(np.repeat(lattice, CLIFFORD_SIDE)[None, :], tf.float32) * ones
    y = tf.constant(np.tile(lattice, CLIFFORD_SIDE)[None, :], tf.float32) * ones
    xs, ys, steps = [], [], []
    for i in range(CLIFFORD_ITERS):
        nx, ny = tf.sin(a * y) + c * tf.cos(a * x), tf.sin(b * x) + d * tf.cos(b * y)
        if i >= CLIFFORD_SKIP:
            xs.append(nx)
            ys.append(ny)
            steps.append(tf.sqrt((nx - x) ** 2 + (ny - y) ** 2))
        x, y = nx, ny
    scale = MARGIN / tf.maximum(1.0 + tf.abs(c), 1.0 + tf.abs(d))
    px, py, step = (tf.concat(v, 1) * scale for v in (xs, ys, steps))
    points = (CLIFFORD_ITERS - CLIFFORD_SKIP) * CLIFFORD_SIDE**2
    weight = tf.fill(tf.shape(px), float(size * size) / points)
    shade = tf.clip_by_value(step / MARGIN, 0.0, 1.0)
    return expose(splat(px, py, weight, shade, size, tf.shape(params)[0]), stops, background, _col(params, "gain"))


RENDERERS = {"lissajous": lissajous, "rose": rose, "hypotrochoid": hypotrochoid, "julia": julia, "clifford": clifford}


def _by_own_family(params: tf.Tensor, family: tf.Tensor, size: int) -> tf.Tensor:
    """Each row drawn by its own family only: rows are gathered per family (ONNX NonZero, so shapes inside the
    graph depend on the classes asked for) -> [b, 3, S, S]."""
    rows, drawn = [], []
    for k, name in enumerate(mathart.FAMILIES):
        mine = tf.where(tf.equal(family, k))[:, 0]  # this family's rows
        rows.append(mine)
        drawn.append(RENDERERS[name](tf.gather(params, mine), size))
    # Drawn images come grouped by family; put them back in batch order with the inverse permutation (a gather,
    # not a scatter, so no row is ever written twice).
    order = tf.argsort(tf.concat(rows, 0), stable=True)
    return tf.gather(tf.concat(drawn, 0), order)


def _by_every_family(params: tf.Tensor, family: tf.Tensor, size: int) -> tf.Tensor:
    """Every row drawn by every family, then each row's own picture picked -> [b, 3, S, S]. Five renders per row,
    but no shape depends on the data, which runtimes that fix shapes at load time (OpenCV's DNN) need."""
    batch = tf.shape(params)[0]
    drawn = tf.concat([RENDERERS[name](params, size) for name in mathart.FAMILIES], 0)  # family-major
    picked = tf.gather(drawn, family * batch + tf.range(batch))
    return tf.reshape(picked, [-1, 3, size, size])  # OpenCV's Gather keeps an extra axis without it


def render(params: tf.Tensor, y: tf.Tensor, size: int, every_family: bool = False) -> tf.Tensor:
    """params [b, P] (real units), y [b, families] soft one-hot -> images [b, size, size, 3] in [0, 1].

    Each row is drawn by its dominant family, faded toward the background by top1(y) - top2(y). `every_family`
    draws the same pictures with fixed shapes at five times the work (training/static_export.py).
    """
    family = tf.argmax(y, axis=1, output_type=tf.int32)
    top = tf.math.top_k(y, k=2).values
    # A reshape, not [:, None, None]: OpenCV reads that slice as one more axis.
    strength = tf.reshape(tf.clip_by_value(top[:, 0] - top[:, 1], 0.0, 1.0), [-1, 1, 1])
    planar = (_by_every_family if every_family else _by_own_family)(params, family, size)
    _, background = palette(params)
    faded = _over_background(strength, planar, background)
    return tf.transpose(tf.clip_by_value(faded, 0.0, 1.0), [0, 2, 3, 1])  # NHWC, the contract's layout
