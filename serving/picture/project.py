"""Projection: a person's own picture -> the latent (and class) from which the bundle's generator draws it.

    from serving import Generator
    from serving.picture.project import project, open_picture
    gen = Generator.from_pretrained("exported/mnist-cdcgan")
    p = project(gen, open_picture("my-digit.png"))
    p.latent, p.class_index, p.image          # float32 [latent_dim], int or None, uint8 [h, w, c]

Three steps, on numpy, Pillow and onnxruntime alone:
1. `prepare` makes the picture look like the training data: alpha flattened, dark ink on light paper inverted
   (MNIST is light on dark), uneven light and paper texture taken out, strokes redrawn at MNIST's width, cropped
   to its content and centred by its centre of mass in a box of the training data's proportions. (For the
   math-art model a drawing is also traced as a line and fitted as an equation: serving.picture.drawing.)
2. The bundle's encoder (encoder.onnx, trained against this very generator) gives a first z and class.
3. A bounded search refines z on the generator itself: a few rounds of batched candidates around the best so far,
   with shrinking steps, scored by pixel distance to the prepared picture (a candidate is kept only when it is
   closer, so the answer is never worse than the encoder's) and bounded to the prior's region. Seeded, so the
   same picture always gives the same latent.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

from serving.errors import InputError
from serving.picture.line import flatten

MAX_PICTURE_BYTES = 20 * 2**20  # the library and the CLI; the Space takes far less (serving.space)
MAX_PICTURE_PIXELS = 4096 * 4096
ROUNDS = 5
CANDIDATES = 96
FIRST_STEP = 0.5  # of the prior's standard deviation; halved each round
MAX_SHELL = 3.0  # candidates with mean z^2 beyond this are out: G was never trained that far from its prior
SEARCH_SEED = 0
SEARCH_SIDE = 128  # pictures this large or larger are compared at a quarter of their side (search_scale)
CONTENT_BOX = 20 / 28  # MNIST's digits fit a 20x20 box in a 28x28 frame
STROKE = 0.16  # MNIST's pen width over its digit's larger side, as `restroke` redraws strokes
# The pixel distance within which a projection looks like what the model draws, by channels (gray digits, colour
# pictures), chosen on the drawings set's validation split (training/evaluate_drawings.py).
PIXEL_FIT = {1: 0.04, 3: 0.04}
OWN_PIXELS = 0.02  # math art: the encoder's answer this close (64x64) to a picture on a dark ground: the model's own
# (its renders reach 0.002-0.032 on the validation draw, chalk drawings 0.01-0.096: chosen where few chalk ones fall)


@dataclass(frozen=True)
class Projection:
    latent: np.ndarray  # float32 [latent_dim]
    class_index: int | None
    image: np.ndarray  # uint8 [h, w, c]: the generator's picture of (latent, class)
    prepared: np.ndarray  # uint8 [h, w, c]: the input as the model was shown it
    # Mean squared pixel difference between the two, in [0, 1] units, at the size the search compares at
    # (search_scale: a quarter of the side for math art, full size for digits).
    distance: float
    encoder_distance: float  # the same for the encoder's answer alone, before the search
    # Whether the picture looks like something the model draws: for a math-art curve, its redrawn line within
    # serving.picture.drawing.LINE_FIT_PX of the drawing's; otherwise `distance` within PIXEL_FIT.
    fits: bool = True
    fit_px: float | None = None  # math-art curves: mean distance of the redrawn line to the drawing's (px at 256)
    equation: dict[str, float] | None = None  # math-art curves: the fitted equation's own dials, by name
    overlay: np.ndarray | None = None  # math-art curves: uint8 [h, w, 3], the redrawn curve laid over the picture

    @property
    def verdict(self) -> str:
        """One plain sentence on how well the answer fits, for a person."""
        if self.fit_px is not None:
            closeness = f"its line lies {self.fit_px:.1f} px from yours on average (at 256 px)"
            if self.fits:
                return f"Found the curve: {closeness}."
            return f"This does not look like any curve the model draws: the closest, {closeness}."
        if self.fits:
            return "Found a close match."
        return "This does not look like anything the model draws: here is the closest it can do."

    def to_dict(self, bundle_sha256: str) -> dict:
        out = {
            "latent": [float(v) for v in self.latent],
            "class": self.class_index,
            "bundle_sha256": bundle_sha256,
            "distance": round(self.distance, 6),
            "fits": self.fits,
            "verdict": self.verdict,
        }
        if self.fit_px is not None:
            out["fit_px"] = round(self.fit_px, 2)
        if self.equation is not None:
            out["equation"] = {k: round(v, 6) for k, v in self.equation.items()}
        return out


def open_picture(
    source: str | Path | bytes, max_bytes: int = MAX_PICTURE_BYTES, max_pixels: int = MAX_PICTURE_PIXELS
) -> Image.Image:
    """A picture file (path or bytes) decoded by Pillow, within the caps, its metadata ignored; InputError with one
    line for anything that is not a picture, too large, or a decompression bomb (checked before decoding)."""
    if isinstance(source, (bytes, bytearray)):
        data = bytes(source)
    else:
        from serving.inputs import read_binary_file

        data = read_binary_file(source, "picture", max_bytes)
    if len(data) > max_bytes:
        raise InputError(f"the picture is {len(data):,} bytes; at most {max_bytes:,}")
    try:
        im = Image.open(io.BytesIO(data), formats=("PNG", "JPEG", "WEBP", "GIF", "BMP"))
        width, height = im.size
        if width * height > max_pixels or width > 4096 or height > 4096:
            raise InputError(f"the picture is {width}x{height} pixels; at most 4096x4096")
        im.seek(0)
        im.load()
    except InputError:
        raise
    except Image.DecompressionBombError:  # Pillow's own guard, for sizes far beyond ours
        raise InputError("the picture claims more pixels than 4096x4096; at most 4096x4096") from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise InputError(f"not a picture Pillow can read (PNG, JPEG, WebP, GIF or BMP): {type(exc).__name__}") from None
    return im


def _paper_is_light(gray: np.ndarray) -> bool:
    """Whether the border of a gray picture [h, w] in [0, 1] (the paper, the ground) is light."""
    h, w = gray.shape
    ring = max(1, min(h, w) // 20)
    border = np.concatenate(
        [gray[:ring].ravel(), gray[-ring:].ravel(), gray[:, :ring].ravel(), gray[:, -ring:].ravel()]
    )
    return bool(np.median(border) > 0.5)


def _light_on_dark(gray: np.ndarray) -> np.ndarray:
    """Gray [h, w] in [0, 1] as light strokes on a dark ground: inverted when the border (the paper) is light."""
    return 1.0 - gray if _paper_is_light(gray) else gray


def _flatten_light(strokes: np.ndarray) -> np.ndarray:
    """Uneven light and paper texture out: subtract a grey opening (what is left once every stroke is erased), then
    stretch so the strokes reach 1 and clear what stays below a fifth of that. The opening is taken on a 48-pixel
    copy with a window of a third of it, wider than any pen stroke of a digit (a window narrower than a thick
    stroke would count the stroke as paper), and scaled back up smoothly."""
    h, w = strokes.shape
    im = Image.fromarray(np.uint8(np.clip(strokes * 255, 0, 255)))
    small = im.resize((max(1, round(48 * w / max(h, w))), max(1, round(48 * h / max(h, w)))), Image.Resampling.BOX)
    window = 17
    ground = small.filter(ImageFilter.MinFilter(window)).filter(ImageFilter.MaxFilter(window))
    ground = (
        np.asarray(ground.filter(ImageFilter.BoxBlur(4)).resize((w, h), Image.Resampling.BILINEAR), dtype=np.float32)
        / 255
    )
    ink = np.clip(strokes - ground, 0, 1)
    top = np.percentile(ink, 99.5)
    if top < 0.05:
        raise InputError("the picture looks blank: no strokes stand out from the background")
    ink = np.clip(ink / top, 0, 1)
    ink[ink < 0.2] = 0.0
    return ink


def _prepare_colour(picture: Image.Image, size: tuple[int, int]) -> np.ndarray:
    """A colour picture as a math-art model draws: bright strokes on a dark ground, the whole picture fitted into
    the frame (its aspect kept, the rest dark). Ink on paper is inverted; colours are kept otherwise."""
    rgb = flatten(picture)
    h, w = size
    # Fitted into the frame, small pictures enlarged too: the same frame serving.picture.line traces a drawing in.
    scale = min(w / rgb.width, h / rgb.height)
    rgb = rgb.resize((max(1, round(rgb.width * scale)), max(1, round(rgb.height * scale))), Image.Resampling.LANCZOS)
    pixels = np.asarray(rgb, dtype=np.float32) / 255
    if _paper_is_light(pixels.mean(axis=2)):
        pixels = 1.0 - pixels
    out = np.zeros((h, w, 3), np.float32)
    top, left = (h - pixels.shape[0]) // 2, (w - pixels.shape[1]) // 2
    out[top : top + pixels.shape[0], left : left + pixels.shape[1]] = pixels
    return out


def restroke(crop: np.ndarray, side: int = 96) -> np.ndarray:
    """Strokes of any pen redrawn with MNIST's: the ink [h, w] in [0, 1] thinned to its centre line, then drawn
    again STROKE of its larger side wide, softly edged, and cropped to its content. A felt pen, a pencil and an
    enlarged low-resolution scan then read alike (chosen on the drawings set's validation split)."""
    from PIL import ImageFilter

    from serving.picture.line import thin

    scale = side / max(crop.shape)
    size = (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale)))
    ink = np.asarray(Image.fromarray(np.uint8(crop * 255)).resize(size, Image.Resampling.BILINEAR), np.float32) / 255
    skeleton = thin(ink > 0.4)
    if not skeleton.any():
        return crop
    width = max(3, round(STROKE * side) | 1)  # an odd filter size
    lines = Image.fromarray(np.pad(skeleton, width).astype(np.uint8) * 255)
    drawn = (
        np.asarray(lines.filter(ImageFilter.MaxFilter(width)).filter(ImageFilter.GaussianBlur(width / 5)), np.float32)
        / 255
    )
    rows, cols = np.nonzero(drawn > 0.3)
    return drawn[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]


def prepare(picture: Image.Image, size: tuple[int, int], channels: int) -> np.ndarray:
    """float32 [h, w, channels] in [0, 1]: the picture as the model's training data would show it."""
    if channels == 3:
        return _prepare_colour(picture, size)
    rgb = flatten(picture)
    scale = 160 / max(rgb.size)  # ample for a 28 px target, and fast to clean; small pictures are enlarged
    rgb = rgb.resize((max(1, round(rgb.width * scale)), max(1, round(rgb.height * scale))), Image.Resampling.LANCZOS)
    gray = np.asarray(rgb.convert("L"), dtype=np.float32) / 255
    ink = _flatten_light(_light_on_dark(gray))
    rows, cols = np.nonzero(ink > 0.3)
    if rows.size == 0:
        raise InputError("the picture looks blank: no strokes stand out from the background")
    crop = restroke(ink[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1])
    h, w = size
    box = max(1, round(min(h, w) * CONTENT_BOX))
    scale = box / max(crop.shape)
    new = (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale)))
    small = (
        np.asarray(Image.fromarray(np.uint8(crop * 255)).resize(new, Image.Resampling.LANCZOS), dtype=np.float32) / 255
    )
    # Centre of mass to the middle of the frame, as MNIST was made.
    total = small.sum()
    cy = (small.sum(1) @ np.arange(small.shape[0])) / total if total else small.shape[0] / 2
    cx = (small.sum(0) @ np.arange(small.shape[1])) / total if total else small.shape[1] / 2
    top = int(np.clip(round(h / 2 - cy - 0.5), 0, h - small.shape[0]))
    left = int(np.clip(round(w / 2 - cx - 0.5), 0, w - small.shape[1]))
    out = np.zeros((h, w), np.float32)
    out[top : top + small.shape[0], left : left + small.shape[1]] = small
    return out[..., None]


def search_scale(size: tuple[int, int]) -> int:
    """How much the search shrinks pictures before comparing: drawings of SEARCH_SIDE px or more (math art at 256)
    are compared at a quarter of their side, where a line one pixel off is still the same line (at full size the
    distance jumps with every pixel, and the search stalls on thin strokes); small pictures (digits) as they are."""
    return 4 if min(size) >= SEARCH_SIDE and size[0] % 4 == 0 and size[1] % 4 == 0 else 1


def _shrink(images: np.ndarray, k: int) -> np.ndarray:
    """[n, h, w, c] -> [n, h/k, w/k, c], each pixel the mean of its k x k block (strided adds: no copy per block)."""
    if k == 1:
        return images
    cols = sum(images[:, :, i::k] for i in range(k))
    return sum(cols[:, i::k] for i in range(k)) / (k * k)


def _score(images: np.ndarray, target: np.ndarray, z: np.ndarray, k: int = 1) -> np.ndarray:
    """Pixel distance to the (already shrunk) target at 1/k size; a candidate outside the prior's region scores
    infinitely badly."""
    pixels = np.mean((_shrink(images, k) - target) ** 2, axis=(1, 2, 3))
    return np.where(np.mean(z.astype(np.float64) ** 2, axis=1) > MAX_SHELL, np.inf, pixels)


def refine(
    gen,
    target: np.ndarray,
    z0: np.ndarray,
    y: np.ndarray | None,
    rounds: int = ROUNDS,
    candidates: int = CANDIDATES,
    seed: int = SEARCH_SEED,
) -> tuple[np.ndarray, float]:
    """(best z, its pixel distance): `rounds` of `candidates` around the best so far, steps halving each round,
    compared at 1/search_scale of the picture's side."""
    rng = np.random.default_rng(seed)
    k = search_scale(target.shape[:2])
    small = _shrink(target[None], k)[0]
    best = z0.astype(np.float32)
    best_score = float(_score(gen(best[None], y, output="float"), small, best[None], k)[0])
    step = FIRST_STEP
    for _ in range(rounds):
        trial = (best + step * rng.standard_normal((candidates, best.size))).astype(np.float32)
        drawn = gen(trial, None if y is None else np.repeat(y, candidates, 0), output="float")
        scores = _score(drawn, small, trial, k)
        i = int(np.argmin(scores))
        if scores[i] < best_score:
            best, best_score = trial[i], float(scores[i])
        step *= 0.5
    return best, best_score


def project(
    gen,
    picture: Image.Image | np.ndarray,
    class_index: int | None = None,
    rounds: int = ROUNDS,
    candidates: int = CANDIDATES,
) -> Projection:
    """The latent and class of `picture` (a PIL image, or an already prepared float array [h, w, c] in [0, 1])."""
    from serving.art import mathart
    from serving.art.mathart import FAMILIES
    from serving.files.grid import to_uint8
    from serving.latent.latents import one_hot
    from serving.picture.drawing import is_cloud, maybe_cloud, overlay, project_drawing, refine_cloud
    from serving.picture.line import trace

    config = gen.config
    if class_index is not None and not (config.conditional and 0 <= int(class_index) < config.num_classes):
        raise InputError(
            f"class must be in 0..{config.num_classes - 1}"
            if config.conditional
            else "this model is not conditional; give no class"
        )
    target = picture if isinstance(picture, np.ndarray) else prepare(picture, config.image_size, config.channels)
    target = target.astype(np.float32)
    z, logits = gen.encode(target[None])
    cls = None
    y = None
    if config.conditional:
        cls = int(class_index) if class_index is not None else int(np.argmax(logits[0]))
        y = one_hot([cls], config.num_classes)
    shell = float(np.mean(z.astype(np.float64) ** 2))
    if shell > MAX_SHELL:  # a picture unlike the training data: start from the prior's shell, not beyond it
        z = (z / np.sqrt(shell)).astype(np.float32)
    k = search_scale(target.shape[:2])
    first = float(_score(gen(z, y, output="float"), _shrink(target[None], k)[0], z, k)[0])
    line = None
    if draws_curves(config) and (class_index is None or cls in curve_classes()):
        try:
            line = trace(picture)
        except InputError:  # too little ink for a line (a sparse cloud of dots): projected by pixels
            line = None
    found = None
    # A picture on a dark ground that the encoder already redraws closely is one of the model's own (a render, a
    # frame of an animation): matched by pixels, colours and all, in the encoder's family. A drawing on paper, or in
    # chalk (which the encoder redraws poorly), is fitted as a line.
    own = line is not None and class_index is None and not line.light_paper and first <= OWN_PIXELS
    if (
        line is not None
        and not own
        and (class_index is None and not is_cloud(cls, first, line) or cls in curve_classes())
    ):
        # A line (a drawing): fitted as a curve, not by pixels (serving.picture.drawing).
        cloudy = class_index is None and maybe_cloud(cls, line)
        found = project_drawing(gen, line, z[0], class_index, cloudy, target)
    if found is not None:
        y = one_hot([found.family], config.num_classes)
        image = gen(found.latent[None], y, output="float")
        distance = float(_score(image, _shrink(target[None], k)[0], found.latent[None], k)[0])
        names = list(config.param_names)
        dials = [n for n in names if mathart.PARAMS[mathart.NAMES.index(n)].family == FAMILIES[found.family]]
        equation = {n: float(found.equation[names.index(n)]) for n in dials}  # the family's dials, not the palette
        return Projection(
            found.latent,
            found.family,
            to_uint8(image)[0],
            to_uint8(target[None])[0],
            distance,
            first,
            fits=found.fits,
            fit_px=found.fit_px,
            equation=equation,
            overlay=overlay(target, line, gen.params(found.latent[None], y)[0], found.family),
        )
    if draws_curves(config) and not own:  # a fractal or a cloud: searched with the numpy renderer, quickly
        latent, _ = refine_cloud(gen, target, z[0], cls)
        distance = float(_score(gen(latent[None], y, output="float"), _shrink(target[None], k)[0], latent[None], k)[0])
    else:  # a digit, or one of the math-art model's own pictures: searched on the model's own renders
        latent, distance = refine(gen, target, z[0], y, rounds, candidates)
    image = gen(latent[None], y)[0]
    # A digit must also be drawn (ink in a few pieces): a photo's restroked edges can look like a digit.
    fits = distance <= PIXEL_FIT[config.channels] and (config.channels == 3 or _drawn(picture))
    return Projection(latent.astype(np.float32), cls, image, to_uint8(target[None])[0], distance, first, fits)


def _drawn(picture: Image.Image | np.ndarray) -> bool:
    """Whether a picture's ink lies in few pieces, as a drawing's does (serving.picture.line.MAX_PIECES); a picture
    too faint to trace has nothing to count, and is not refused for it."""
    from serving.picture.line import trace

    try:
        return trace(picture).drawn
    except InputError:
        return True


def draws_curves(config) -> bool:
    """Whether a bundle is the math-art parameter model, whose curve families are fitted as equations."""
    from serving.art.mathart import RENDERER_VERSION

    return "params" in config.outputs and config.extra.get("params", {}).get("renderer") == RENDERER_VERSION


def curve_classes() -> tuple[int, ...]:
    """The math-art classes that are curves (fitted as equations): lissajous, rose, hypotrochoid."""
    from serving.art.mathart import FAMILIES
    from serving.picture.curve_fit import CURVE_FAMILIES

    return tuple(FAMILIES.index(f) for f in CURVE_FAMILIES)
