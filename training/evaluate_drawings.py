"""How projection does on drawings nobody trained on (training/drawings.py), and on pictures that are not drawings.

    python -m training.evaluate_drawings --bundle exported/mathart-params --split validation   # choosing settings
    python -m training.evaluate_drawings --bundle exported/mathart-params --split test --write # once: metrics.json

Math art, on hand-drawn lissajous, rose and hypotrochoid curves and on rendered julia and clifford pictures:
- family: the projection's family is the drawing's;
- distance: how far the redrawn curve (the model's, from the latent found) lies from the true curve, as drawn in the
  canvas (two-way mean distance between the lines, px at 256), median over the curves;
- closer than random: the redrawn curve is closer to the true one than 90% of the model's random samples of
  the same family (RANDOM_SAMPLES of them);
- fits: the share of curves the projection says fit, and the share of pictures that are not drawings of curves
  (photos, handwritten digits) it refuses to call a fit.
Digits, on scikit-learn's handwriting (not MNIST) in many styles: the class read is the digit's own, the share
said to fit, and the share of photos refused; beside it, how often the project's own MNIST judge reads the same
prepared pictures right (how hard these 8x8 scans are for any model of MNIST). Time is the median per projection, in this process.
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
from serving.errors import GanimateError

RANDOM_SAMPLES = 64
RANDOM_SEED = 3_900_000_000  # a range no other figure uses
AIMS_CURVES = {"family_accuracy": 0.9, "median_distance_px": 4.0, "closer_than_random": 0.8}
AIMS_DIGITS = {"class_accuracy": 0.9}
COUNTS = {"validation": 40, "test": 40}
JUDGE = (
    Path(__file__).parent / "judges" / "mnist-sample-28.onnx"
)  # the digit models' judge (training/judge.py)  # drawings per family (math art), and / 2 * 10 digits


def not_drawings(split: str, size: int = 256) -> list:
    """Pictures that are not drawings of anything a model here draws: six crops of one of scikit-learn's two
    sample photos (a temple for validation, a flower for test, so no threshold is chosen on a test picture)."""
    from PIL import Image
    from sklearn.datasets import load_sample_images

    photo = load_sample_images().images[0 if split == "validation" else 1]
    h, w = photo.shape[:2]
    out = []
    for top, left, side in (
        (0, 0, h),
        (h // 4, w // 3, h // 2),
        (h // 3, w // 2, h // 2),
        (0, w - h, h),
        (h // 2, 0, h // 2),
        (h // 8, w // 4, 3 * h // 4),
    ):
        out.append(Image.fromarray(photo[top : top + side, left : left + side]).resize((size, size)))
    return out


def _random_params(gen: Generator, family: int) -> np.ndarray:
    from serving.latent.latents import one_hot, z_batch

    z = z_batch(np.arange(RANDOM_SEED, RANDOM_SEED + RANDOM_SAMPLES), gen.latent_dim)
    return gen.params(z, one_hot(np.full(RANDOM_SAMPLES, family), gen.num_classes)).astype(np.float64)


def evaluate_curves(gen: Generator, split: str, count: int, verbose: bool = True) -> dict:
    from serving.art.mathart import FAMILIES
    from serving.latent.latents import one_hot
    from serving.picture.curve_fit import CURVE_FAMILIES, frame_distance_px
    from serving.picture.line import trace
    from serving.picture.project import project
    from training.drawings import curves, digits

    drawings = curves(split, count)
    rows, times = [], []
    randoms = {FAMILIES.index(f): _random_params(gen, FAMILIES.index(f)) for f in CURVE_FAMILIES}
    for d in drawings:
        started = time.perf_counter()
        found = project(gen, d.image)
        times.append(time.perf_counter() - started)
        row = {
            "family": FAMILIES[d.family],
            "found": FAMILIES[found.class_index],
            "fits": found.fits,
            "fit_px": found.fit_px,
            "ends": trace(d.image).loose_ends,
        }
        if FAMILIES[d.family] in CURVE_FAMILIES:
            true = FAMILIES[d.family]
            redrawn = gen.params(found.latent[None], one_hot([found.class_index], gen.num_classes))[0]
            if FAMILIES[found.class_index] in CURVE_FAMILIES:
                row["distance_px"] = frame_distance_px(redrawn, FAMILIES[found.class_index], d.params, true)
            else:
                row["distance_px"] = float("inf")
            pool = [frame_distance_px(r, true, d.params, true) for r in randoms[d.family]]
            row["random_p10_px"] = float(np.percentile(pool, 10))
        rows.append(row)
        if verbose:
            print(json.dumps({**row, "style": d.style, "s": round(times[-1], 2)}), file=sys.stderr)
    negatives = not_drawings(split) + [d.image for d in digits(split, 6)]
    refused = []
    for picture in negatives:
        found = project(gen, picture)
        refused.append(not found.fits)
        if verbose:
            print(
                json.dumps(
                    {
                        "not a drawing": FAMILIES[found.class_index],
                        "fit_px": found.fit_px,
                        "distance": round(found.distance, 4),
                    }
                ),
                file=sys.stderr,
            )
    curve_rows = [r for r in rows if "distance_px" in r]
    return {
        "split": split,
        "drawings": len(rows),
        "per_family": count,
        "family_accuracy": round(float(np.mean([r["family"] == r["found"] for r in rows])), 4),
        "curve_family_accuracy": round(float(np.mean([r["family"] == r["found"] for r in curve_rows])), 4),
        "median_distance_px": round(float(np.median([r["distance_px"] for r in curve_rows])), 2),
        "closer_than_random": round(float(np.mean([r["distance_px"] < r["random_p10_px"] for r in curve_rows])), 4),
        "random_samples": RANDOM_SAMPLES,
        "fits_share": round(float(np.mean([r["fits"] for r in curve_rows])), 4),
        "not_drawings": len(negatives),
        "not_drawings_refused": round(float(np.mean(refused)), 4),
        "s_p50": round(float(np.median(times)), 2),
        "aims": AIMS_CURVES,
        "aims_met": None,
    }


def evaluate_digits(gen: Generator, split: str, count: int, verbose: bool = True) -> dict:
    from serving.picture.project import project
    from training.drawings import digits

    drawings = digits(split, count)
    right, fits, times = [], [], []
    for d in drawings:
        started = time.perf_counter()
        found = project(gen, d.image)
        times.append(time.perf_counter() - started)
        right.append(found.class_index == d.family)
        fits.append(found.fits)
        if verbose:
            print(
                json.dumps(
                    {
                        "digit": d.family,
                        "found": found.class_index,
                        "distance": round(found.distance, 4),
                        "style": d.style,
                    }
                ),
                file=sys.stderr,
            )
    negatives = not_drawings(split)
    refused = [not project(gen, picture).fits for picture in negatives]
    # How hard these digits are for any MNIST model: the project's own judge, on the same prepared pictures.
    import onnxruntime as ort

    from serving.picture.project import prepare

    judge = ort.InferenceSession(str(JUDGE), providers=["CPUExecutionProvider"])
    prepared = np.stack([prepare(d.image, gen.config.image_size, 1) for d in drawings]) * 2 - 1
    probs = judge.run(["probs"], {"images": prepared.astype(np.float32)})[0]
    judge_right = np.argmax(probs, axis=1) == np.array([d.family for d in drawings])
    return {
        "split": split,
        "drawings": len(drawings),
        "source": "scikit-learn load_digits (43 writers, not MNIST), enlarged, in styles (training/drawings.py)",
        "class_accuracy": round(float(np.mean(right)), 4),
        "judge_class_accuracy": round(float(np.mean(judge_right)), 4),
        "judge": JUDGE.name,
        "fits_share": round(float(np.mean(fits)), 4),
        "photos": len(negatives),
        "photos_refused": round(float(np.mean(refused)), 4),
        "s_p50": round(float(np.median(times)), 3),
        "aims": AIMS_DIGITS,
        "aims_met": None,
    }


def evaluate_drawings(bundle: Path, split: str, count: int | None = None, verbose: bool = True) -> dict:
    """The drawings figures of a bundle (math art or digits) on one split."""
    from serving.picture.project import draws_curves

    gen = Generator.from_pretrained(bundle)
    if draws_curves(gen.config):
        report = evaluate_curves(gen, split, count or COUNTS[split], verbose)
        aims = AIMS_CURVES
        met = {k: report[k] <= v if k.endswith("_px") else report[k] >= v for k, v in aims.items()}
    else:
        report = evaluate_digits(gen, split, (count or COUNTS[split]) * 5, verbose)
        met = {k: report[k] >= v for k, v in AIMS_DIGITS.items()}
    report["aims_met"] = all(met.values())
    report["command"] = f"python -m training.evaluate_drawings --bundle {bundle} --split {split}"
    report["settings_chosen_on"] = "validation"
    return report


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m training.evaluate_drawings", description=__doc__.split("\n\n")[0])
    p.add_argument("--bundle", required=True)
    p.add_argument("--split", choices=("validation", "test"), default="validation")
    p.add_argument("--count", type=int, default=None, help="drawings per family (a quick look)")
    p.add_argument("--write", action="store_true", help="write metrics.json['drawings'] (test split only)")
    args = p.parse_args(argv)
    try:
        bundle = Path(args.bundle)
        report = evaluate_drawings(bundle, args.split, args.count)
        print(json.dumps(report, indent=2))
        if args.write:
            if args.split != "test":
                print("error: --write records the test split only", file=sys.stderr)
                return 2
            path = bundle / "metrics.json"
            metrics = json.loads(path.read_text()) if path.is_file() else {}
            metrics["drawings"] = report
            write_atomic(path, (json.dumps(metrics, indent=2) + "\n").encode(), force=True)
            print(f"wrote {path} (drawings)")
    except GanimateError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
