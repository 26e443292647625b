"""How well a bundle's encoder and projection do, on pictures it never trained on, and the pictures to show it.

    python -m training.evaluate_projection --bundle exported/mnist-cdcgan            # writes metrics.json["projection"]
    python -m training.evaluate_projection --bundle exported/mnist-cdcgan --no-write # prints only

On the test part of the bundle's dataset (never seen by the generator, the encoder or any choice of their
recipes), each digit is projected with `serving.picture.project` and judged twice:
- class: the shipped judge reads the digit's own label on the projection (G's picture of the latent found);
- closeness: the projection's SSIM to the input beats the best SSIM of 4,096 random seeds of the right class.
Time per projection is measured side by side with the encoder alone (one encoder call plus one generator call).
With --write it also draws `projection.png` (pictures a person would send -> as the model was shown them -> the
model's version) and `projection.gif` (an animation that starts from the first of them) into the bundle.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from serving import Generator
from serving.atomic import write_atomic
from serving.errors import GanimateError, InputError
from serving.latent.latents import one_hot, z_batch

RANDOM_SEEDS = 4096
RANDOM_SEED_BASE = 4_000_000_000  # a range no other figure uses
AIMS = {"class_accuracy": 0.90, "beats_random": 0.80}


def ssim(a: np.ndarray, b: np.ndarray, window: int = 7) -> np.ndarray:
    """Mean SSIM of gray pictures in [0, 1] (..., h, w), with a uniform window as scikit-image's default."""
    c1, c2 = 0.01**2, 0.03**2

    def box(x: np.ndarray) -> np.ndarray:
        s = np.cumsum(np.cumsum(np.pad(x, [(0, 0)] * (x.ndim - 2) + [(1, 0), (1, 0)]), -1), -2)
        w = window
        return (s[..., w:, w:] - s[..., :-w, w:] - s[..., w:, :-w] + s[..., :-w, :-w]) / (w * w)

    mu_a, mu_b = box(a), box(b)
    var_a, var_b = box(a * a) - mu_a**2, box(b * b) - mu_b**2
    cov = box(a * b) - mu_a * mu_b
    n = window * window
    var_a, var_b, cov = var_a * n / (n - 1), var_b * n / (n - 1), cov * n / (n - 1)  # sample statistics, as skimage
    s = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2))
    return s.mean(axis=(-1, -2))


def _best_random(gen: Generator, targets: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """For each target, the best SSIM among 4,096 random seeds' pictures of its own class."""
    z = z_batch(np.arange(RANDOM_SEED_BASE, RANDOM_SEED_BASE + RANDOM_SEEDS), gen.latent_dim)
    best = np.zeros(len(targets))
    for c in np.unique(labels):
        pool = gen(z, one_hot(np.full(RANDOM_SEEDS, c), gen.num_classes), output="float")[..., 0].astype(np.float64)
        rows = np.nonzero(labels == c)[0]
        for start in range(0, len(rows), 8):
            chunk = rows[start : start + 8]
            scores = ssim(targets[chunk, None], pool[None])  # [chunk, 4096]
            best[chunk] = scores.max(axis=1)
    return best


def evaluate_projection(bundle: Path, limit: int | None = None, verbose: bool = True) -> dict:
    """The projection figures of `bundle` on its dataset's test part (the first `limit` digits, default all)."""
    from serving.picture.project import project
    from training.evaluate import bundle_data
    from training.judge import judge_for

    gen = Generator.from_pretrained(bundle)
    if not gen.has_encoder:
        raise InputError(f"{bundle} has no encoder.onnx (python -m training.encoder --bundle {bundle})")
    if "params" in gen.config.outputs:
        return evaluate_params_projection(gen, bundle, limit or MATH_PICTURES, verbose)
    spec, size, data = bundle_data(gen, bundle)
    judge = judge_for(data, spec, size)
    x = ((data.test_images[:limit] + 1) / 2).astype(np.float32)
    labels = data.test_labels[:limit]
    found, times, encoder_times = [], [], []
    for picture in x:
        started = time.perf_counter()
        found.append(project(gen, picture))
        times.append(time.perf_counter() - started)
        started = time.perf_counter()
        z, logits = gen.encode(picture[None])
        gen(z, one_hot([int(np.argmax(logits[0]))], gen.num_classes) if gen.num_classes else None)
        encoder_times.append(time.perf_counter() - started)
    images = np.stack([f.image for f in found]).astype(np.float32) / 255
    _, probs = judge(images * 2 - 1)
    read_right = np.argmax(probs, 1) == labels
    ours = ssim(images[..., 0].astype(np.float64), x[..., 0].astype(np.float64))
    best = _best_random(gen, x[..., 0].astype(np.float64), labels)
    report = {
        "split": "test",
        "pictures": int(len(x)),
        "judge": judge.summary()["name"],
        "class_accuracy": round(float(read_right.mean()), 4),
        "encoder_class_accuracy": round(float(np.mean([f.class_index for f in found] == labels)), 4),
        "beats_random": round(float(np.mean(ours > best)), 4),
        "ssim": round(float(ours.mean()), 4),
        "random_best_ssim": round(float(best.mean()), 4),
        "random_seeds": RANDOM_SEEDS,
        "ms_p50": round(float(np.median(times)) * 1000, 1),
        "encoder_ms_p50": round(float(np.median(encoder_times)) * 1000, 1),
        "aims": AIMS,
        "command": f"python -m training.evaluate_projection --bundle {bundle}",
        "encoder_training": gen.config.encoder.get("training", {}),
    }
    report["aims_met"] = all(report[k] >= v for k, v in AIMS.items())
    if verbose:
        print(json.dumps(report, indent=2))
    return report


MATH_PICTURES = 200
MATH_RANDOM = 1024
MATH_AIMS = {"family_accuracy": 0.95, "beats_random": 0.80}


def _pooled(images: np.ndarray, pool: int = 4) -> np.ndarray:
    n, h, w, c = images.shape
    return images.reshape(n, h // pool, pool, w // pool, pool, c).mean(axis=(2, 4))


def evaluate_params_projection(gen: Generator, bundle: Path, count: int = MATH_PICTURES, verbose: bool = True) -> dict:
    """Math art: pictures drawn by the numpy renderer from the prior's test draw (seed MATHART_SEEDS["test"], never
    in the training table), projected; the family must come back, and the redrawn picture must be closer (pixel
    distance at 64x64) than the best of 1,024 random samples of that family."""
    from serving.art import mathart
    from serving.picture.project import project
    from training.data import MATHART_SEEDS, mathart_params_cached

    params, labels = mathart_params_cached(count, MATHART_SEEDS["test"])
    h, _ = gen.config.image_size
    pictures = np.stack([mathart.render(p, int(f), h) for p, f in zip(params, labels)])
    found, times = [], []
    for picture in pictures:
        started = time.perf_counter()
        found.append(project(gen, picture))
        times.append(time.perf_counter() - started)
    started = time.perf_counter()
    gen.encode(pictures[:1])
    encoder_ms = (time.perf_counter() - started) * 1000
    redrawn = _pooled(np.stack([f.image for f in found]).astype(np.float32) / 255)
    target = _pooled(pictures)
    ours = np.mean((redrawn - target) ** 2, axis=(1, 2, 3))
    z = z_batch(np.arange(RANDOM_SEED_BASE, RANDOM_SEED_BASE + MATH_RANDOM), gen.latent_dim)
    best = np.full(count, np.inf)
    for family in np.unique(labels):
        pool = _pooled(gen(z, one_hot(np.full(MATH_RANDOM, family), gen.num_classes), output="float"))
        for i in np.nonzero(labels == family)[0]:
            best[i] = np.mean((pool - target[i]) ** 2, axis=(1, 2, 3)).min()
    report = {
        "split": "test (prior draw seed 1)",
        "pictures": int(count),
        "family_accuracy": round(float(np.mean([f.class_index for f in found] == labels)), 4),
        "beats_random": round(float(np.mean(ours < best)), 4),
        "random_samples": MATH_RANDOM,
        "ms_p50": round(float(np.median(times)) * 1000, 1),
        "encoder_ms_p50": round(encoder_ms, 1),
        "aims": MATH_AIMS,
        "command": f"python -m training.evaluate_projection --bundle {bundle}",
        "encoder_training": gen.config.encoder.get("training", {}),
    }
    report["aims_met"] = all(report[k] >= v for k, v in MATH_AIMS.items())
    if verbose:
        print(json.dumps(report, indent=2))
    return report


def person_pictures(size: int = 280):
    """Pictures a person would send, made here so they are the same everywhere: a digit drawn with a thick pen on
    white, a photographed-looking one (uneven light, noise, a grey page) and a thin sketch on a transparent canvas."""
    from PIL import Image, ImageDraw, ImageFilter

    pen = Image.new("RGB", (size, size), "white")
    d = ImageDraw.Draw(pen)
    d.arc((70, 30, 210, 150), 180, 20, fill="black", width=22)
    d.line([(205, 105), (80, 250), (215, 250)], fill="black", width=22)  # a 2
    rng = np.random.default_rng(7)
    page = Image.new("L", (size, size), 200)
    d = ImageDraw.Draw(page)
    d.ellipse((95, 40, 185, 140), outline=40, width=16)
    d.line([(180, 95), (170, 250)], fill=40, width=16)  # a 9
    photo = np.asarray(page.filter(ImageFilter.GaussianBlur(2)), np.float32)
    photo = photo * np.linspace(0.6, 1.05, size)[:, None] * np.linspace(1.0, 0.8, size)[None] + rng.normal(
        0, 10, photo.shape
    )
    photo = Image.fromarray(np.uint8(np.clip(photo, 0, 255))).convert("RGB")
    sketch = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    d = ImageDraw.Draw(sketch)
    d.line([(90, 60), (200, 60), (120, 240)], fill=(20, 20, 20, 255), width=9)  # a 7
    return {"thick pen on white": pen, "photo of a page": photo, "sketch on a transparent canvas": sketch}


def math_pictures(size: int = 256):
    """Pictures for a math-art model: curves drawn by hand (training/drawings.py, the drawings set's test split) and
    one the renderer drew from the prior's test draw."""
    from PIL import Image

    from serving.art import mathart
    from training.data import MATHART_SEEDS, mathart_params_cached
    from training.drawings import curves

    drawn = {}
    for d in curves("test", 3):
        family = mathart.FAMILIES[d.family]
        if d.style != "rendered" and f"a {family} drawn by hand" not in drawn:
            drawn[f"a {family} drawn by hand"] = d.image
    params, labels = mathart_params_cached(64, MATHART_SEEDS["test"])
    rose = next(i for i, f in enumerate(labels) if mathart.FAMILIES[int(f)] == "rose")
    drawn["a rose the renderer drew"] = Image.fromarray(np.uint8(mathart.render(params[rose], 1, size) * 255))
    return drawn


def draw_examples(bundle: Path) -> None:
    """projection.png (input -> prepared -> projection, one row each) and projection.gif into the bundle."""
    import io

    from PIL import Image

    from serving.picture.project import project
    from serving.rendering.recipe import Recipe
    from serving.rendering.render import render

    gen = Generator.from_pretrained(bundle)
    pictures = math_pictures() if "params" in gen.config.outputs else person_pictures()
    rows, first = [], None
    cell = 112 if gen.config.channels == 1 else 160

    def tile(a: np.ndarray) -> Image.Image:
        im = Image.fromarray(a[..., 0] if a.shape[2] == 1 else a)
        return im.resize((cell, cell), Image.Resampling.NEAREST if a.shape[0] < cell else Image.Resampling.LANCZOS)

    for picture in pictures.values():
        found = project(gen, picture)
        first = first or found
        shown = Image.new("RGB", picture.size, "white")
        shown.paste(picture.convert("RGBA"), mask=picture.convert("RGBA").split()[3])
        tiles = [shown.resize((cell, cell), Image.Resampling.LANCZOS), tile(found.prepared), tile(found.image)]
        if found.overlay is not None:  # a drawn curve: the fitted curve laid over the drawing
            tiles.append(tile(found.overlay))
        row = Image.new("RGB", (len(tiles) * (cell + 4) - 4, cell), "white")
        for i, t in enumerate(tiles):
            row.paste(t.convert("RGB"), (i * (cell + 4), 0))
        rows.append(row)
    sheet = Image.new("RGB", (max(r.width for r in rows), len(rows) * (cell + 4) - 4), "white")
    for i, row in enumerate(rows):
        sheet.paste(row, (0, i * (cell + 4)))
    buf = io.BytesIO()
    sheet.save(buf, format="PNG")
    write_atomic(bundle / "projection.png", buf.getvalue(), force=True)
    seeds = (0, 5, 6, 7)
    classes = (first.class_index, *(s % gen.num_classes for s in seeds[1:])) if gen.num_classes else None
    recipe = Recipe(
        seeds=seeds,
        classes=classes,
        latents=(tuple(float(v) for v in first.latent), None, None, None),
        path="cubic",
        frames=16,
        size=160,
        bundle_sha256=gen.config.sha256,
        name="from a picture",
    )
    write_atomic(bundle / "projection.gif", render(gen, recipe), force=True)
    write_atomic(bundle / "projection.json", (recipe.to_json() + "\n").encode(), force=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m training.evaluate_projection", description=__doc__.split("\n\n")[0])
    p.add_argument("--bundle", required=True)
    p.add_argument("--limit", type=int, default=None, help="only the first N test pictures (a quick look)")
    p.add_argument("--no-write", action="store_true", help="print the figures; write nothing")
    args = p.parse_args(argv)
    try:
        bundle = Path(args.bundle)
        report = evaluate_projection(bundle, args.limit)
        if not args.no_write:
            path = bundle / "metrics.json"
            metrics = json.loads(path.read_text()) if path.is_file() else {}
            metrics["projection"] = report
            write_atomic(path, (json.dumps(metrics, indent=2) + "\n").encode(), force=True)
            draw_examples(bundle)
            from training.card import refresh_card

            refresh_card(bundle)
            print(f"wrote {path} (projection) and {bundle}/projection.png, projection.gif")
    except GanimateError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
