"""A drawing -> the line it draws: an ink mask thinned to one pixel, as points, whatever the pen, ink or paper.

A hand drawing and a model's render of the same curve share little at the pixel level (a thick dark stroke on
white paper against a thin glowing line on black), but they draw the same line. `trace` finds that line:
1. The paper's colour is estimated locally (block medians, so uneven light and a coloured paper are taken out), and
   ink is how far each pixel is from it, in any direction: dark ink on light paper, chalk on a blackboard and a
   coloured line on black all give ink.
2. Otsu's threshold on that ink splits strokes from paper; specks smaller than a pen's dot are dropped.
3. Zhang-Suen thinning reduces every stroke to its centre line, so a 1 px and a 6 px pen give the same line.
The line's pixels are the points `serving.picture.curve_fit` compares curves against.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from serving.errors import InputError

WORK = 128  # side of the square the line is traced in: a 256 px drawing's strokes keep their shape at half size
BLOCK = 16  # side of the blocks whose median is the paper's colour
MAX_PIECES = 8  # a drawing is one piece of ink or a few (a dotted line, a digit's two strokes); a photo, dozens


@dataclass(frozen=True)
class Line:
    points: np.ndarray  # float64 [n, 2]: x right, y up, in the canvas's [-1, 1] frame (as the renderer draws)
    mask: np.ndarray  # bool [WORK, WORK]: the ink
    skeleton: np.ndarray  # bool [WORK, WORK]: the ink thinned to its centre line
    ink_share: float  # share of the square that is ink: a line covers little, a filled fractal a lot
    thickness: float  # mean stroke width in work pixels (ink pixels per skeleton pixel)
    loose_ends: float  # skeleton pixels with one neighbour, per skeleton pixel: a curve has few, a photo's edges many
    pieces: int  # separate pieces of ink: a drawing has one or a few, a photo's edges dozens
    light_paper: bool  # the ground is light (paper); a model's picture always glows on a dark ground

    @property
    def drawn(self) -> bool:
        """Whether the ink is in few enough pieces to be a drawing (MAX_PIECES, chosen on validation)."""
        return self.pieces <= MAX_PIECES


def flatten(im: Image.Image) -> Image.Image:
    """RGB with any transparency composited away: over white when the opaque strokes are dark (ink), over black
    when they are light, so a drawing on a transparent canvas keeps its strokes either way."""
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        rgba = im.convert("RGBA")
        alpha = np.asarray(rgba)[..., 3]
        opaque = np.asarray(rgba.convert("L"))[alpha > 127]
        ground = (255, 255, 255) if opaque.size == 0 or opaque.mean() < 128 else (0, 0, 0)
        canvas = Image.new("RGBA", rgba.size, (*ground, 255))
        return Image.alpha_composite(canvas, rgba).convert("RGB")
    return im.convert("RGB")


def to_square(picture: Image.Image, side: int = WORK) -> np.ndarray:
    """float32 [side, side, 3] in [0, 1]: the picture fitted into a square (aspect kept), the margins filled with
    the colour of its border (its paper), so the padding adds no edge."""
    rgb = flatten(picture)
    scale = side / max(rgb.size)  # small pictures are enlarged too: the thinning needs strokes a few pixels wide
    rgb = rgb.resize((max(1, round(rgb.width * scale)), max(1, round(rgb.height * scale))), Image.Resampling.LANCZOS)
    pixels = np.asarray(rgb, dtype=np.float32) / 255
    h, w = pixels.shape[:2]
    border = np.concatenate([pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]])
    out = np.empty((side, side, 3), np.float32)
    out[:] = np.median(border, axis=0)
    top, left = (side - h) // 2, (side - w) // 2
    out[top : top + h, left : left + w] = pixels
    return out


def _paper(rgb: np.ndarray) -> np.ndarray:
    """The paper's colour at every pixel [s, s, 3]: the median of each block, where the block is mostly paper, else
    filled in from its neighbours, then smoothed back up to full size."""
    s = rgb.shape[0]
    n = s // BLOCK
    blocks = rgb[: n * BLOCK, : n * BLOCK].reshape(n, BLOCK, n, BLOCK, 3).transpose(0, 2, 1, 3, 4)
    medians = np.median(blocks.reshape(n, n, BLOCK * BLOCK, 3), axis=2)
    border = np.concatenate([rgb[0], rgb[-1], rgb[:, 0], rgb[:, -1]])
    paper = np.median(border, axis=0)
    # A block crowded with ink (the dense middle of a harmonograph) has an ink-coloured median: such blocks take
    # their neighbours' paper instead, a few rounds of averaging from the blocks that look like paper.
    spread = np.abs(rgb - paper).max(axis=2)
    noise = float(np.percentile(spread, 50))
    good = np.abs(medians - paper).max(axis=2) <= max(0.2, 3 * noise)
    if not good.any():
        medians[:] = paper
    else:
        for _ in range(n):
            if good.all():
                break
            padded = np.pad(medians * good[..., None], ((1, 1), (1, 1), (0, 0)))
            weight = np.pad(good.astype(np.float64), 1)
            total = sum(padded[1 + dy : 1 + dy + n, 1 + dx : 1 + dx + n] for dy in (-1, 0, 1) for dx in (-1, 0, 1))
            count = sum(weight[1 + dy : 1 + dy + n, 1 + dx : 1 + dx + n] for dy in (-1, 0, 1) for dx in (-1, 0, 1))
            fill = ~good & (count > 0)
            medians[fill] = total[fill] / count[fill][:, None]
            good = good | fill
    small = Image.fromarray(np.uint8(np.clip(medians * 255, 0, 255)))
    return np.asarray(small.resize((s, s), Image.Resampling.BILINEAR), dtype=np.float32) / 255


def _otsu(values: np.ndarray) -> float:
    """Otsu's threshold of values in [0, 1] (64 bins): the split that best separates two groups."""
    hist, edges = np.histogram(values, bins=64, range=(0.0, 1.0))
    p = hist / max(1, hist.sum())
    centres = (edges[:-1] + edges[1:]) / 2
    w0 = np.cumsum(p)
    m0 = np.cumsum(p * centres)
    total = m0[-1]
    between = (total * w0 - m0) ** 2 / np.maximum(w0 * (1 - w0), 1e-12)
    return float(edges[int(np.argmax(between[:-1])) + 1])


def ink_mask(rgb: np.ndarray) -> np.ndarray:
    """bool [s, s]: the pixels that are ink, for any ink on any paper (module docstring, steps 1-2)."""
    ink = np.abs(rgb - _paper(rgb)).max(axis=2)
    top = float(np.percentile(ink, 99.5))
    if top < 0.08:
        raise InputError("the picture looks blank: no strokes stand out from the background")
    ink = np.clip(ink / top, 0.0, 1.0)
    mask = ink > max(0.25, _otsu(ink))
    # Specks: an ink pixel with fewer than two ink neighbours is paper grain, not a stroke.
    padded = np.pad(mask, 1)
    s = mask.shape[0]
    neighbours = sum(
        padded[1 + dy : 1 + dy + s, 1 + dx : 1 + dx + s] for dy in (-1, 0, 1) for dx in (-1, 0, 1) if dy or dx
    )
    return mask & (neighbours >= 2)


def thin(mask: np.ndarray) -> np.ndarray:
    """Zhang-Suen thinning (Zhang and Suen 1984): peel boundary pixels in two alternating sub-steps until only a
    one-pixel centre line is left. Vectorised: each sub-step removes every deletable pixel at once."""
    img = np.pad(mask.astype(np.uint8), 1)
    for _ in range(max(mask.shape)):
        changed = False
        for step in (0, 1):
            p2, p3, p4 = img[:-2, 1:-1], img[:-2, 2:], img[1:-1, 2:]
            p5, p6, p7 = img[2:, 2:], img[2:, 1:-1], img[2:, :-2]
            p8, p9 = img[1:-1, :-2], img[:-2, :-2]
            ring = (p2, p3, p4, p5, p6, p7, p8, p9, p2)
            b = p2 + p3 + p4 + p5 + p6 + p7 + p8 + p9
            a = sum(((ring[i] == 0) & (ring[i + 1] == 1)).astype(np.uint8) for i in range(8))
            if step == 0:
                c = (p2 * p4 * p6 == 0) & (p4 * p6 * p8 == 0)
            else:
                c = (p2 * p4 * p8 == 0) & (p2 * p6 * p8 == 0)
            delete = (img[1:-1, 1:-1] == 1) & (b >= 2) & (b <= 6) & (a == 1) & c
            if delete.any():
                img[1:-1, 1:-1][delete] = 0
                changed = True
        if not changed:
            break
    return img[1:-1, 1:-1].astype(bool)


def pieces(mask: np.ndarray) -> int:
    """How many separate pieces of ink (8-connected) a mask holds; specks of a pixel or two are not counted."""
    small = mask
    seen = np.zeros_like(small)
    count = 0
    for y0, x0 in zip(*np.nonzero(small)):
        if seen[y0, x0]:
            continue
        seen[y0, x0] = True
        stack = [(y0, x0)]
        size = 0
        while stack:  # a flood fill of this piece
            y, x = stack.pop()
            size += 1
            for yy in range(max(0, y - 1), min(small.shape[0], y + 2)):
                for xx in range(max(0, x - 1), min(small.shape[1], x + 2)):
                    if small[yy, xx] and not seen[yy, xx]:
                        seen[yy, xx] = True
                        stack.append((yy, xx))
        count += size > 2
    return count


def trace(picture: Image.Image | np.ndarray) -> Line:
    """The line a picture draws (a PIL image, or float [h, w, 3] in [0, 1] such as a model's own render)."""
    if isinstance(picture, np.ndarray):
        arr = np.clip(np.asarray(picture, np.float32), 0, 1)
        if arr.ndim == 3 and arr.shape[2] == 1:
            arr = np.repeat(arr, 3, axis=2)
        picture = Image.fromarray(np.uint8(np.round(arr * 255)))
    rgb = to_square(picture)
    mask = ink_mask(rgb)
    skeleton = thin(mask)
    rows, cols = np.nonzero(skeleton)
    padded = np.pad(skeleton, 1)
    neighbours = sum(
        padded[1 + dy : 1 + dy + WORK, 1 + dx : 1 + dx + WORK] for dy in (-1, 0, 1) for dx in (-1, 0, 1) if dy or dx
    )
    if rows.size < 8:
        raise InputError("the picture looks blank: no strokes stand out from the background")
    x = (cols + 0.5) / WORK * 2.0 - 1.0
    y = 1.0 - (rows + 0.5) / WORK * 2.0
    return Line(
        points=np.stack([x, y], axis=1),
        mask=mask,
        skeleton=skeleton,
        ink_share=float(mask.mean()),
        thickness=float(mask.sum() / max(1, skeleton.sum())),
        loose_ends=float((skeleton & (neighbours == 1)).sum() / rows.size),
        pieces=pieces(mask),
        light_paper=bool(np.median(np.concatenate([rgb[0], rgb[-1], rgb[:, 0], rgb[:, -1]]).mean(axis=1)) > 0.5),
    )
