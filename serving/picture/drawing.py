"""A drawing projected onto a math-art model: the curve family and equation it draws, then the latent whose
parameters draw that curve.

    from serving.picture.drawing import project_drawing
    found = project_drawing(gen, open_picture("drawn-rose.png"))
    found.family, found.fit_px, found.fits      # "rose", 2.7, True

1. The drawing's line (`serving.picture.line`): strokes of any pen, ink or paper thinned to their centre line.
2. Each curve family's equation fitted to the line (`serving.picture.curve_fit`), seeded by what the encoder's
   guess draws; the family is the one that fits best, the simpler families preferred within FAMILY_COST (a rose
   and a hypotrochoid can draw the same line).
3. The latent: the model's parameter network is small (`Generator.params` runs it alone), so a fixed bank of
   latents is screened by how closely the curves their parameters draw match the line, and the best few are
   refined by a seeded search, as the pixel projection refines.
4. A picture that is not a line (a filled fractal, a cloud of points) is recognised first: when the encoder reads
   it as julia or clifford and the encoder's own answer already redraws it within CLOUD_PIXELS (mean squared
   difference at 64x64), or its trace is no line (`line_like`), it is projected by pixels as before. A hand-drawn
   curve the encoder misreads as a cloud
   (thick dark strokes look like a Clifford attractor to it) is far from that answer, and goes on as a curve.
Every threshold here was chosen on the drawings set's validation split (training/evaluate_drawings.py).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from serving.art.mathart import FAMILIES
from serving.picture import curve_fit
from serving.picture.line import Line

BANK = 2048  # latents screened per family
_BANK_LOCK = threading.Lock()
BANK_SEED = 7
BANK_KEEP = 6  # screened latents refined
Z_ROUNDS = 6
Z_STARTS = 3  # of the screened latents, how many are searched around
Z_CANDIDATES = 48
Z_STEP = 0.35  # of the prior's standard deviation, halved each round
MAX_SHELL = 3.0  # as the pixel search: mean z^2 beyond this, G was never trained there
# The families overlap (a five-petal rose is also a hypotrochoid; a harmonograph of many dials can wind close to
# almost any line): a family with more dials must fit this much closer to be chosen. Chosen on validation.
FAMILY_COST = {"rose": 1.0, "hypotrochoid": 1.08, "lissajous": 1.15}
LINE_FIT_PX = 8.0  # a curve fits when its line lies this close to the drawing's (root mean square, px at 256)
MAX_THICKNESS = 8.0  # strokes wider than this (work pixels: 16 px at 256) are areas, not lines
MAX_LOOSE_ENDS = 0.03  # loose ends per pixel of line beyond which a picture is edges or dots, not a drawn curve
CLOUD_PIXELS = 0.042  # the encoder's julia or clifford answer within this of the picture: a fractal or a cloud
CLOUD_FIT = 0.08  # ... or, further from it, no curve family fitting the line closer than this (chamfer distance)


@dataclass(frozen=True)
class DrawingFit:
    family: int  # index into FAMILIES
    latent: np.ndarray  # float32 [latent_dim]
    equation: np.ndarray | None  # the fitted dials [P] of a curve family, else None
    equation_px: float | None  # how close the fitted equation's line lies to the drawing (px at 256)
    fit_px: float | None  # how close the model's redrawn line lies to the drawing (px at 256), curves only
    fits: bool  # whether the picture looks like something the model draws
    line: Line


def _bank(gen, family: int) -> tuple[np.ndarray, np.ndarray]:
    """(latents [BANK, d], their parameters [BANK, P]) for one family: fixed, so made once per generator."""
    from serving.latent.latents import one_hot

    with _BANK_LOCK:  # one bank per generator and family, however many requests ask at once
        cache = gen.__dict__.setdefault("_drawing_bank", {})
        if family not in cache:
            z = np.random.default_rng([BANK_SEED, family]).standard_normal((BANK, gen.latent_dim)).astype(np.float32)
            cache[family] = (z, gen.params(z, one_hot(np.full(BANK, family), gen.num_classes)).astype(np.float64))
        return cache[family]


def _score(gen, z: np.ndarray, family: int, line: curve_fit.Target, points: int) -> np.ndarray:
    """Chamfer distance of the curves the model draws for latents z to a normalised line; outside the prior's
    shell, infinitely bad."""
    from serving.latent.latents import one_hot

    params = gen.params(z, one_hot(np.full(len(z), family), gen.num_classes)).astype(np.float64)
    d = curve_fit.chamfer(*curve_fit.curves(FAMILIES[family], params, points), line)
    return np.where(np.mean(z.astype(np.float64) ** 2, axis=1) > MAX_SHELL, np.inf, d)


def invert(gen, family: int, line_points: np.ndarray, extra: np.ndarray | None = None) -> tuple[np.ndarray, float]:
    """(latent, chamfer distance): the latent whose parameters draw the curve closest to the line (step 3)."""
    name = FAMILIES[family]
    screen = curve_fit.target(line_points, curve_fit.SCREEN[1])
    fine = curve_fit.target(line_points, curve_fit.FINE[1])
    z, params = _bank(gen, family)
    d = curve_fit.chamfer(*curve_fit.curves(name, params, curve_fit.SCREEN[0]), screen)
    starts = z[np.argsort(d, kind="stable")[:BANK_KEEP]]
    if extra is not None:
        starts = np.concatenate([extra.reshape(1, -1).astype(np.float32), starts])
    scores = _score(gen, starts, family, fine, curve_fit.FINE[0])
    best, best_d = starts[int(np.argmin(scores))], float(scores.min())
    rng = np.random.default_rng([BANK_SEED, family, 1])
    for start in starts[np.argsort(scores, kind="stable")[:Z_STARTS]]:  # the best starts, each searched around
        here, here_d = start, float(_score(gen, start[None], family, fine, curve_fit.FINE[0])[0])
        step = Z_STEP
        for _ in range(Z_ROUNDS):
            trial = (here + step * rng.standard_normal((Z_CANDIDATES, here.size))).astype(np.float32)
            s = _score(gen, trial, family, fine, curve_fit.FINE[0])
            i = int(np.argmin(s))
            if s[i] < here_d:
                here, here_d = trial[i], float(s[i])
            step *= 0.5
        if here_d < best_d:
            best, best_d = here, here_d
    return best.astype(np.float32), best_d


def choose(fits: list[curve_fit.Fit]) -> curve_fit.Fit:
    """The family that fits best, each family's distance weighed by FAMILY_COST (step 2)."""
    return min(fits, key=lambda f: f.distance * FAMILY_COST[f.family])


def line_like(line: Line) -> bool:
    """Whether a traced picture is a drawn line at all: few pieces of ink, strokes no wider than MAX_THICKNESS and
    few loose ends (a curve has none or two; a photo's edges and a cloud of points have many)."""
    return line.drawn and line.thickness <= MAX_THICKNESS and line.loose_ends <= MAX_LOOSE_ENDS


def is_cloud(family: int, encoder_distance: float, line: Line) -> bool:
    """Step 4: the encoder reads a fractal or a cloud on a dark ground (as the model draws them: never on light
    paper), and its answer already redraws the picture closely, or the picture is no line."""
    cloud = FAMILIES[family] in ("julia", "clifford") and not line.light_paper
    return cloud and (encoder_distance <= CLOUD_PIXELS or not line_like(line))


def maybe_cloud(family: int, line: Line) -> bool:
    """Whether the encoder reads a picture as a fractal or a cloud on a dark ground: when is_cloud was not sure,
    project_drawing(cloud_unless_fits=True) gives it up as one if no curve fits within CLOUD_FIT."""
    return FAMILIES[family] in ("julia", "clifford") and not line.light_paper


def project_drawing(
    gen,
    line: Line,
    z_encoder: np.ndarray,
    class_index: int | None = None,
    cloud_unless_fits: bool = False,
    target: np.ndarray | None = None,
) -> DrawingFit | None:
    """Steps 2-3 for a traced picture; `z_encoder` is the encoder's latent for it, one more start for the
    searches. `class_index` keeps the answer in that curve family. With `cloud_unless_fits` (maybe_cloud), None when
    no curve fits within CLOUD_FIT: the caller projects it as a fractal or a cloud."""
    from serving.latent.latents import one_hot

    seeds = {}
    for name in curve_fit.CURVE_FAMILIES:
        y = one_hot([FAMILIES.index(name)], gen.num_classes)
        seeds[name] = gen.params(z_encoder[None], y)[0].astype(np.float64)
    fits = curve_fit.fit(line.points, seeds)
    if cloud_unless_fits and fits[0].distance > CLOUD_FIT:
        return None
    wanted = None if class_index is None else FAMILIES[int(class_index)]
    chosen = choose(fits) if wanted is None else next(f for f in fits if f.family == wanted)
    equation_px = curve_fit.distance_px(chosen.distance, chosen.params, chosen.family)
    family = FAMILIES.index(chosen.family)
    latent, distance = invert(gen, family, line.points, extra=z_encoder)
    if target is not None:
        latent, distance = polish_colours(gen, target, latent, family, line.points, distance)
    redrawn = gen.params(latent[None], one_hot([family], gen.num_classes))[0].astype(np.float64)
    fit_px = curve_fit.distance_px(distance, redrawn, chosen.family)
    fits = fit_px <= LINE_FIT_PX and line_like(line)
    return DrawingFit(family, latent, chosen.params, equation_px, fit_px, fits, line)


def overlay(background: np.ndarray, line: Line, params: np.ndarray, family: int) -> np.ndarray:
    """uint8 [h, w, 3]: the picture (float [h, w, 3], in the canvas frame the line was traced in) dimmed, with the
    curve `params` draws laid over it where the fit placed it (its centre and size matched to the drawing's line,
    as the fit compares them): what shows that the curve lies on the drawing."""
    from PIL import Image, ImageDraw

    h, w = background.shape[:2]
    pts, weights = curve_fit.curves(FAMILIES[family], np.asarray(params, np.float64)[None], 2048)
    curve = curve_fit.normalise(pts, weights)[0]
    centre = line.points.mean(axis=0)
    spread = float(np.sqrt(((line.points - centre) ** 2).sum(axis=1).mean()))
    x, y = curve[:, 0] * spread + centre[0], curve[:, 1] * spread + centre[1]
    image = Image.fromarray(np.uint8(np.clip(background * 0.45, 0, 1) * 255))
    xy = list(zip(((x * 0.5 + 0.5) * w).tolist(), ((0.5 - y * 0.5) * h).tolist()))
    ImageDraw.Draw(image).line(xy, fill=(255, 214, 10), width=max(1, w // 128))
    return np.asarray(image)


CLOUD_ROUNDS = 5
CLOUD_CANDIDATES = 48
CLOUD_SIDE = 64  # fractals and clouds are compared at 64x64, drawn there by the numpy renderer


def drawn_small(params: np.ndarray, family: int) -> np.ndarray:
    """Pictures of parameter rows [n, P] as the model's 256x256 ones look averaged down to CLOUD_SIDE: lines and
    clouds drawn at 256 and averaged (drawn at 64 a line would be four times as bright), Julia sets drawn at 64
    (a field, the same either way, and 16 times cheaper)."""
    from serving.art.mathart import render_batch

    labels = np.full(len(params), family)
    if FAMILIES[family] == "julia":
        return render_batch(params, labels, CLOUD_SIDE)
    big = render_batch(params, labels, 256)
    k = 256 // CLOUD_SIDE
    return big.reshape(len(params), CLOUD_SIDE, k, CLOUD_SIDE, k, 3).mean(axis=(2, 4))


def refine_cloud(gen, target: np.ndarray, z0: np.ndarray, family: int) -> tuple[np.ndarray, float]:
    """(latent, mean squared difference at 64x64) for a fractal or a cloud: the pixel search of
    serving.picture.project.refine, with each candidate's parameters (the params head) drawn by the numpy renderer
    at 64x64 instead of the model drawing 256x256 and shrinking it, which costs a Julia set 16 times less."""
    from serving.latent.latents import one_hot

    small = _small(target)

    def score(z: np.ndarray) -> np.ndarray:
        params = gen.params(z, one_hot(np.full(len(z), family), gen.num_classes)).astype(np.float64)
        d = np.mean((drawn_small(params, family) - small) ** 2, axis=(1, 2, 3))
        return np.where(np.mean(z.astype(np.float64) ** 2, axis=1) > MAX_SHELL, np.inf, d)

    rng = np.random.default_rng([BANK_SEED, family, 2])
    best = z0.astype(np.float32)
    best_d = float(score(best[None])[0])
    step = 0.5
    for _ in range(CLOUD_ROUNDS):
        trial = (best + step * rng.standard_normal((CLOUD_CANDIDATES, best.size))).astype(np.float32)
        d = score(trial)
        i = int(np.argmin(d))
        if d[i] < best_d:
            best, best_d = trial[i], float(d[i])
        step *= 0.5
    return best, best_d


POLISH_ROUNDS = 4
POLISH_CANDIDATES = 32
POLISH_STEP = 0.3
POLISH_SHAPE = 1.05  # a colour candidate may draw its line at most this much further from the drawing's


def _small(target: np.ndarray) -> np.ndarray:
    """A picture [h, w, 3] in [0, 1] averaged down to CLOUD_SIDE x CLOUD_SIDE."""
    from PIL import Image

    image = Image.fromarray(np.uint8(np.clip(target, 0, 1) * 255))
    return np.asarray(image.resize((CLOUD_SIDE, CLOUD_SIDE), Image.Resampling.BOX), np.float32) / 255


def polish_colours(
    gen, target: np.ndarray, z0: np.ndarray, family: int, line_points: np.ndarray, shape_distance: float
) -> tuple[np.ndarray, float]:
    """(latent, chamfer distance): the curve's latent moved toward the picture's colours (palette, brightness,
    background: what the line search never looks at), each step kept only when it is closer in pixels at 64x64 and
    its line stays within POLISH_SHAPE of the best line's distance. Seeded."""
    from serving.latent.latents import one_hot

    small = _small(target)
    fine = curve_fit.target(line_points, curve_fit.FINE[1])
    limit = shape_distance * POLISH_SHAPE

    def scores(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        params = gen.params(z, one_hot(np.full(len(z), family), gen.num_classes)).astype(np.float64)
        shape = curve_fit.chamfer(*curve_fit.curves(FAMILIES[family], params, curve_fit.FINE[0]), fine)
        pixels = np.mean((drawn_small(params, family) - small) ** 2, axis=(1, 2, 3))
        outside = np.mean(z.astype(np.float64) ** 2, axis=1) > MAX_SHELL
        return np.where((shape > limit) | outside, np.inf, pixels), shape

    rng = np.random.default_rng([BANK_SEED, family, 3])
    best = z0.astype(np.float32)
    pixels, shape = scores(best[None])
    best_pixels, best_shape = float(pixels[0]) if np.isfinite(pixels[0]) else np.inf, float(shape[0])
    step = POLISH_STEP
    for _ in range(POLISH_ROUNDS):
        trial = (best + step * rng.standard_normal((POLISH_CANDIDATES, best.size))).astype(np.float32)
        p, d = scores(trial)
        i = int(np.argmin(p))
        if p[i] < best_pixels:
            best, best_pixels, best_shape = trial[i], float(p[i]), float(d[i])
        step *= 0.5
    return best, best_shape
