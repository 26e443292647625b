"""The drawings set: pictures made the way people make them, for judging projection on what nobody trained on.

Two kinds, each split into validation (every setting of the projection is chosen on it) and test (reported once):
- Curves: lissajous, rose and hypotrochoid parameters from the math-art prior at seeds nobody trained on (the
  training table is seed 0), drawn as a hand would draw them: the renderer's own points, wobbled by a hand's
  tremor (slow drift plus jitter), with a pen of 1-6 px at 256, in dark, coloured or light ink, on white, cream,
  gray or dark paper with grain and uneven light, sometimes a little blurred like a photograph, placed at a
  hand's scale and offset rather than exactly in the frame. Julia and Clifford pictures are included as the
  renderer draws them (not lines: they must come back as themselves).
- Digits: scikit-learn's `load_digits` (8x8 handwriting by 43 writers, not MNIST), enlarged, drawn light on
  dark or dark on light, thick or thin, touching the frame's edge, some photographed (uneven light, grain, blur).

    python -m training.drawings --out drawings/      # writes the PNGs and an index.json, for looking at them
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from serving.art.mathart import FAMILIES, NAMES, render, sample_accepted
from serving.art.mathart_render import curve_xy

SPLIT_SEEDS = {"validation": 101, "test": 202}  # seed 0 is the math-art training table
CURVE_FAMILIES = ("lissajous", "rose", "hypotrochoid")
SIDE = 256


@dataclass(frozen=True)
class Drawing:
    image: Image.Image
    family: int  # index into FAMILIES (curves) or the digit (digits)
    params: np.ndarray | None  # the true parameter vector, for curves
    style: str  # how it was drawn, in words


def _tremor(n: int, rng: np.random.Generator, amplitude: float) -> np.ndarray:
    """[n, 2] displacement along a stroke: a slow drift (a few random sines over the stroke) plus a little jitter."""
    t = np.linspace(0.0, 1.0, n)[:, None]
    drift = np.zeros((n, 2))
    for _ in range(4):
        freq = rng.uniform(2.0, 12.0)
        drift += rng.normal(0, amplitude / 2, size=2) * np.sin(2 * np.pi * (freq * t + rng.uniform()))
    return drift + rng.normal(0, amplitude / 6, size=(n, 2))


def _paper_and_ink(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, str]:
    """(paper RGB, ink RGB, words) in [0, 1]."""
    kind = rng.choice(["pen", "pencil", "colour", "chalk"], p=[0.4, 0.2, 0.2, 0.2])
    if kind == "chalk":  # light on dark: a blackboard, or a light pen on black paper
        paper = np.array([0.08, 0.12, 0.1]) + rng.uniform(0, 0.1)
        return paper, np.array([0.92, 0.92, 0.88]), "chalk on a dark board"
    paper = np.array([1.0, 0.98, 0.94]) - rng.uniform(0, 0.15)
    if kind == "pen":
        return paper, np.array([0.05, 0.05, 0.15]) + rng.uniform(0, 0.1), "dark pen on paper"
    if kind == "pencil":
        return paper, np.full(3, rng.uniform(0.3, 0.5)), "pencil on paper"
    hue = rng.uniform(0, 1)
    ink = np.clip(np.abs((hue * 6 + np.array([0.0, 4.0, 2.0])) % 6 - 3) - 1, 0, 1) * 0.8
    return paper, ink, "coloured pen on paper"


def _finish(canvas: np.ndarray, rng: np.random.Generator) -> tuple[Image.Image, str]:
    """Uneven light, paper grain and, sometimes, a photograph's blur: [s, s, 3] in [0, 1] -> a PIL image."""
    s = canvas.shape[0]
    yy, xx = np.mgrid[0:s, 0:s] / s
    angle = rng.uniform(0, 2 * np.pi)
    light = 1.0 - rng.uniform(0.0, 0.3) * (np.cos(angle) * xx + np.sin(angle) * yy)
    out = canvas * light[..., None] + rng.normal(0, rng.uniform(0.005, 0.03), size=canvas.shape)
    image = Image.fromarray(np.uint8(np.clip(out, 0, 1) * 255))
    words = "uneven light"
    if rng.uniform() < 0.3:
        image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.5, 1.2)))
        words += ", photographed (blurred)"
    return image, words


def draw_curve(params: np.ndarray, family: int, rng: np.random.Generator) -> Drawing:
    """One curve drawn by a hand (module docstring)."""
    name = FAMILIES[family]
    p = dict(zip(NAMES, np.asarray(params, np.float64).tolist()))
    x, y = curve_xy(name, p, 4096)
    scale = rng.uniform(0.8, 1.0)
    shift = rng.uniform(-1, 1, size=2) * (1.0 - scale) * 0.9
    ss = 4  # drawn at 4x and reduced: smooth strokes of any width
    px = ((x * scale + shift[0]) * 0.5 + 0.5) * SIDE
    py = (0.5 - (y * scale + shift[1]) * 0.5) * SIDE
    width = float(rng.uniform(1.0, 6.0))
    wobble = _tremor(px.size, rng, amplitude=rng.uniform(0.5, 2.0))
    paper, ink, words = _paper_and_ink(rng)
    big = Image.new("L", (SIDE * ss, SIDE * ss), 0)
    pts = [(float(a) * ss, float(b) * ss) for a, b in zip(px + wobble[:, 0], py + wobble[:, 1])]
    ImageDraw.Draw(big).line(pts, fill=255, width=max(1, round(width * ss)), joint="curve")
    coverage = np.asarray(big.resize((SIDE, SIDE), Image.Resampling.BOX), dtype=np.float64)[..., None] / 255
    image, finish = _finish(paper * (1 - coverage) + ink * coverage, rng)
    return Drawing(image, family, np.asarray(params), f"{width:.1f} px {words}, {finish}")


def curves(split: str, per_family: int) -> list[Drawing]:
    """`per_family` drawings of each curve family and `per_family` renders of julia and clifford, for a split."""
    seed = SPLIT_SEEDS[split]
    params, labels = sample_accepted(per_family * len(FAMILIES), seed=seed)
    rng = np.random.default_rng([seed, 7])
    out = []
    for vec, label in zip(params, labels):
        if FAMILIES[label] in CURVE_FAMILIES:
            out.append(draw_curve(vec, int(label), rng))
        else:  # a fractal or a cloud, as the renderer draws it: what must come back as itself
            img = Image.fromarray(np.uint8(np.round(render(vec, int(label), SIDE) * 255)))
            out.append(Drawing(img, int(label), vec, "rendered"))
    return out


def digits(split: str, count: int) -> list[Drawing]:
    """`count` digits from scikit-learn's load_digits (not MNIST): the first half of a fixed shuffle is
    validation, the second half test."""
    from sklearn.datasets import load_digits

    data = load_digits()
    order = np.random.default_rng(5).permutation(len(data.images))
    half = len(order) // 2
    chosen = order[:half] if split == "validation" else order[half:]
    rng = np.random.default_rng([SPLIT_SEEDS[split], 9])
    out = []
    for i in chosen[:count]:
        out.append(draw_digit(data.images[i] / 16.0, int(data.target[i]), rng))
    return out


def draw_digit(image8: np.ndarray, digit: int, rng: np.random.Generator) -> Drawing:
    """An 8x8 handwritten digit enlarged to 32-160 px, in a style (module docstring)."""
    side = int(rng.choice([32, 64, 96, 160]))
    big = Image.fromarray(np.uint8(np.clip(image8, 0, 1) * 255)).resize((side, side), Image.Resampling.BICUBIC)
    stroke = rng.choice(["as written", "thick", "thin"], p=[0.5, 0.25, 0.25])
    k = max(3, side // 40 * 2 + 1)
    if stroke == "thick":
        big = big.filter(ImageFilter.MaxFilter(k))
    elif stroke == "thin":
        big = big.filter(ImageFilter.MinFilter(3))
    ink = np.asarray(big, dtype=np.float64)[..., None] / 255
    margin = int(rng.choice([0, side // 8]))  # 0: the digit touches the frame's edge, as load_digits' own do
    canvas_side = side + 2 * margin
    coverage = np.zeros((canvas_side, canvas_side, 1))
    coverage[margin : margin + side, margin : margin + side] = ink
    light_on_dark = rng.uniform() < 0.5
    paper, ink_rgb = (np.zeros(3) + 0.05, np.ones(3)) if light_on_dark else (np.array([1.0, 0.98, 0.94]), np.zeros(3))
    canvas = paper * (1 - coverage) + ink_rgb * coverage
    if rng.uniform() < 0.4:
        image, finish = _finish(canvas, rng)
    else:
        image, finish = Image.fromarray(np.uint8(np.clip(canvas, 0, 1) * 255)), "clean"
    words = f"{side} px, {stroke}, {'light on dark' if light_on_dark else 'dark on light'}"
    return Drawing(image, digit, None, f"{words}, {'touching the edge' if not margin else 'with a margin'}, {finish}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.drawings", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, help="folder for the PNGs and index.json")
    parser.add_argument("--split", choices=sorted(SPLIT_SEEDS), default="validation")
    parser.add_argument("--count", type=int, default=8, help="drawings per family, and digits")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    index = []
    for kind, items in (("curve", curves(args.split, args.count)), ("digit", digits(args.split, args.count))):
        for i, d in enumerate(items):
            name = f"{kind}-{i:03d}.png"
            d.image.save(out / name)
            label = FAMILIES[d.family] if kind == "curve" else d.family
            index.append({"file": name, "label": label, "style": d.style})
    (out / "index.json").write_text(json.dumps(index, indent=1) + "\n")
    print(f"wrote {len(index)} drawings to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
