"""Measure how good a bundle's images are, beside the floor real data reaches, and put the figures in its card.

    python -m training.evaluate --bundle exported/mnist-cdcgan [--samples 5000] [--check "fcd_ratio<=2,precision>=0.8"]

Steps: load the bundle's dataset -> load its shipped judge (training/judges/, checked by sha256 against the data it
was trained on; `--retrain-classifier` makes a new one with its own name) -> generate samples from the exported
ONNX model (the evaluation's seeds, balanced classes) -> compute every figure for the model against the training
data and, beside it, for the test part of the real data against the training data (the floor a perfect generator
would reach) -> write metrics.json (figures, protocol, judge, dataset) and the card's table.

This is the only place the test part and the evaluation's seeds are used: every choice (checkpoint, recipe, weight)
is made on the validation part and the probe seeds (`training.quality`), which share no seed or image with these.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

from serving.atomic import write_atomic
from serving.bundle.generator import Generator
from serving.errors import GanimateError, InputError
from serving.latent.latents import one_hot, z_batch
from training import evaluate_walks as walks
from training import metrics
from training.checks import failed_checks, parse_checks

PROTOCOL = "ganimate-eval-v2"
EVAL_SEED_BASE = 3_000_000_000  # test: far from the seeds people type, and from the export's parity seeds
PROBE_SEED_BASE = 3_500_000_000  # validation: the --eval-every probes and every choice
PPL_EPSILON = 1e-2
REFERENCE_SIZE = 5000
PRIOR_DRAWS = 2000  # raw prior draws behind the acceptance floor
PATH_PAIRS = 1000


def evaluation_seeds(samples: int) -> dict[str, np.ndarray]:
    """Every seed the evaluation draws, by use: samples, the two ends of the path-length pairs, the walks."""
    pairs = min(PATH_PAIRS, samples)
    return {
        "samples": np.arange(EVAL_SEED_BASE, EVAL_SEED_BASE + samples, dtype=np.int64),
        "path_length": np.arange(EVAL_SEED_BASE - 2 * pairs, EVAL_SEED_BASE, dtype=np.int64),
        "walks": np.asarray(walks.walk_seeds(), dtype=np.int64),
    }


def probe_seeds(count: int) -> np.ndarray:
    """The seeds of the validation probes."""
    return np.arange(PROBE_SEED_BASE, PROBE_SEED_BASE + count, dtype=np.int64)


def reference(data, spec: str, size: int, part: str):
    """(train, other) images and labels: up to 5,000 training images, and the `part` ("val" or "test") they are
    compared with. The pixel math-art set renders 5,000 images of that part's draw seed when it holds fewer."""
    if part not in ("val", "test"):
        raise ValueError(part)
    rng = np.random.default_rng(0)
    pick = rng.choice(len(data.images), min(REFERENCE_SIZE, len(data.images)), replace=False)
    held = data.val_images if part == "val" else data.test_images
    held_labels = data.val_labels if part == "val" else data.test_labels
    if spec == "mathart" and len(held) < REFERENCE_SIZE:
        from training.data import MATHART_SEEDS, render_mathart_cached

        held = render_mathart_cached(REFERENCE_SIZE, MATHART_SEEDS[part], size).astype(np.float32) / 127.5 - 1.0
        held_labels = np.arange(REFERENCE_SIZE) % data.num_classes
    return data.images[pick], data.labels[pick], held, held_labels


def bundle_data(gen: Generator, bundle: Path):
    """(dataset spec the judge works on, its image size, the Dataset) for a bundle, from its config.json."""
    from training.data import drawn_params_dataset, load_dataset

    training = gen.config.extra.get("training", {})
    spec = training.get("dataset")
    if not spec:
        raise InputError(f"{bundle}/config.json does not say which dataset trained it (extra.training.dataset)")
    # A parameter model is judged on its parameters drawn like its data: the `mathart` pixel dataset at 64x64.
    spec, size = walks.classifier_dataset(gen, spec)
    if spec.startswith("params:"):
        return spec, size, drawn_params_dataset(spec, size)
    return spec, size, load_dataset(spec, size, training.get("dataset_size", 10000))


def _eval_inputs(gen: Generator, count: int) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """The fixed evaluation inputs: z of seeds EVAL_SEED_BASE.., balanced one-hot classes, and the labels."""
    seeds = evaluation_seeds(count)["samples"]
    labels = np.arange(count) % gen.num_classes if gen.num_classes else np.full(count, -1)
    y = one_hot(labels, gen.num_classes) if gen.num_classes else None
    return z_batch(seeds, gen.latent_dim), y, labels


def _path_length(gen: Generator, judge, pairs: int) -> float:
    """PPL-style smoothness: mean squared feature distance between images eps apart on lerp paths, / eps^2."""
    rng = np.random.default_rng(1)
    ends = evaluation_seeds(pairs)["path_length"]
    za, zb = z_batch(ends[:pairs], gen.latent_dim), z_batch(ends[pairs:], gen.latent_dim)
    t = rng.uniform(0, 1 - PPL_EPSILON, size=(pairs, 1)).astype(np.float32)
    z0, z1 = za + t * (zb - za), za + (t + PPL_EPSILON) * (zb - za)
    y = one_hot(np.arange(pairs) % gen.num_classes, gen.num_classes) if gen.num_classes else None
    f0 = judge(walks.pictures(gen, z0, y))[0]
    f1 = judge(walks.pictures(gen, z1, y))[0]
    return float((((f1 - f0) ** 2).sum(1) / PPL_EPSILON**2).mean())


def _checkpoint(cfg) -> dict:
    """How the bundle's checkpoint was chosen, as its export recorded it."""
    chosen = cfg.extra.get("checkpoint") or {}
    return {
        "step": cfg.train_steps,
        "chosen_by": chosen.get("chosen_by", "not recorded by its export"),
        **{k: v for k, v in chosen.items() if k != "chosen_by"},
    }


def _distribution_figures(put, f_train, f_held, f_fake) -> tuple[int, int]:
    """FCD (and its ratio to the floor), KID, precision and recall; returns the matched size and chunk count."""
    # FCD and k-NN recall depend on how many samples they see (FCD's bias falls as 1/n; k-NN balls shrink as n
    # grows), so the model is measured at the test set's size: the mean over disjoint chunks of that size.
    # Comparing 5,000 samples against a 500-image floor would flatter the floor's FCD and sink the model's recall.
    size = min(len(f_held), len(f_fake))
    chunks = len(f_fake) // size
    fcd_model = float(metrics.at_size(metrics.frechet_distance, f_train, f_fake, size))
    fcd_floor = metrics.frechet_distance(f_train, f_held[:size])
    put("fcd", fcd_model, fcd_floor, "lower")
    put("fcd_ratio", fcd_model / max(fcd_floor, 1e-12), 1.0, "lower")
    put(
        "kid",
        metrics.kernel_inception_distance(f_fake, f_train),
        metrics.kernel_inception_distance(f_held, f_train),
        "lower",
    )
    p_model, r_model = metrics.at_size(metrics.precision_recall, f_train, f_fake, size)
    p_floor, r_floor = metrics.precision_recall(f_train, f_held[:size])
    put("precision", p_model, p_floor, "higher")
    put("recall", r_model, r_floor, "higher")
    return size, chunks


def _dataset_record(spec: str, data, cfg) -> dict:
    from training.data import dataset_sha256

    parts = {"train": data.images, "validation": data.val_images, "test": data.test_images}
    return {
        "name": spec,
        "sha256": dataset_sha256(data),
        "source": data.source,
        **{k: int(len(v)) for k, v in parts.items()},
        "trained_on": cfg.dataset,
    }


def evaluate(bundle: Path, samples: int = 5000, retrain_classifier: bool = False, verbose: bool = True) -> dict:
    """Every figure for the bundle and its real-data floor; returns the metrics.json content."""
    from training.judge import judge_for

    gen = Generator.from_pretrained(bundle)
    cfg = gen.config
    spec, size, data = bundle_data(gen, bundle)
    judge = judge_for(data, spec, size, retrain_classifier, verbose)
    train_x, train_y, held_x, held_y = reference(data, spec, size, "test")
    z, y, fake_y = _eval_inputs(gen, samples)
    fake_x = walks.pictures(gen, z, y)
    (f_train, _), (f_held, p_held), (f_fake, p_fake) = (judge(x) for x in (train_x, held_x, fake_x))
    figures: dict[str, dict] = {}

    def put(name: str, model, floor, better: str) -> None:
        figures[name] = {
            "model": round(float(model), 6),
            "floor": None if floor is None else round(float(floor), 6),
            "better": better,
        }

    size, chunks = _distribution_figures(put, f_train, f_held, f_fake)
    test_accuracy = float((p_held.argmax(1) == held_y).mean())
    if gen.num_classes:
        put("class_accuracy", (p_fake.argmax(1) == fake_y).mean(), test_accuracy, "higher")
    put(
        "class_coverage",
        metrics.class_coverage(p_fake.argmax(1), train_y, data.num_classes),
        metrics.class_coverage(p_held.argmax(1), train_y, data.num_classes),
        "higher",
    )
    real_grad = metrics.gradient_magnitude(train_x)
    put(
        "sharpness",
        metrics.gradient_magnitude(fake_x) / real_grad,
        metrics.gradient_magnitude(held_x) / real_grad,
        "higher",
    )
    put("path_length", _path_length(gen, judge, min(PATH_PAIRS, samples)), None, "lower")
    if walks.is_params_model(gen):
        # Beside the broad prior's rate: how much better than drawing at random the model's inventions are.
        from serving.art.mathart import prior_acceptance_rate

        put("acceptance_rate", walks.acceptance(gen, z, y), prior_acceptance_rate(PRIOR_DRAWS), "higher")
    for name, value in walks.frame_changes(gen).items():
        put(name, value, None, "lower")
    return {
        "bundle_sha256": cfg.sha256,
        "protocol": _protocol(cfg, samples),
        "judge": {**judge.summary(), "test_accuracy": round(test_accuracy, 6)},
        "dataset": _dataset_record(spec, data, cfg),
        "figures": figures,
        "samples": {
            "generated": int(len(fake_x)),
            "train_reference": int(len(train_x)),
            "test": int(len(held_x)),
            "matched_size": size,
            "matched_chunks": chunks,
        },
        "notes": _notes(walks.is_params_model(gen), size, chunks),
    }


def _protocol(cfg, samples: int) -> dict:
    """What metrics.json says of how it was measured: the split, every seed range, how the checkpoint was chosen."""
    seeds = evaluation_seeds(samples)
    return {
        "name": PROTOCOL,
        "split": "test",
        "seeds": {use: [int(v.min()), int(v.max()), int(len(v))] for use, v in seeds.items()},
        "choices_made_on": {"split": "validation", "seeds": [PROBE_SEED_BASE, "..."]},
        "checkpoint": _checkpoint(cfg),
    }


def _notes(params_model: bool, size: int, chunks: int) -> str:
    return (
        "floor = the test part of the real data against the training data; fcd_ratio = model fcd / floor fcd. "
        + (
            "Parameter model: its params output drawn by the numpy renderer at 64x64, like the data; "
            "acceptance_rate's floor is the broad prior's rate. "
            if params_model
            else ""
        )
        + "frame_* figures: mean |pixel change| between consecutive frames of 96-frame looping cubic walks "
        "that keep one class; frame_jump_ratio_morph: the same ratio on class-morph walks. "
        f"fcd, precision and recall compare {size} samples on each side (the model's are the mean over "
        f"{chunks} disjoint chunks). sharpness = mean image-gradient magnitude over that of the training "
        "data (blur lowers it). path_length has no real-data floor."
    )


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    p = argparse.ArgumentParser(
        prog="python -m training.evaluate",
        description=__doc__.splitlines()[0],
        epilog="example:\n  python -m training.evaluate --bundle exported/mnist-cdcgan "
        '--check "fcd_ratio<=2,precision>=0.8,recall>=0.6,class_accuracy>=0.97"',
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--bundle", required=True, help="bundle folder")
    p.add_argument("--samples", type=int, default=5000, help="generated samples (default 5000)")
    p.add_argument(
        "--retrain-classifier",
        action="store_true",
        help="train a new judge instead of the shipped one (named by its sha256; its figures are not the "
        "shipped judge's)",
    )
    p.add_argument(
        "--check", default="", help="thresholds; exit 1 when a figure is worse, e.g. fcd_ratio<=2,recall>=0.6"
    )
    p.add_argument("--no-write", action="store_true", help="print the figures; leave metrics.json and the card alone")
    args = p.parse_args(argv)
    try:
        checks = parse_checks(args.check)
        if not 100 <= args.samples <= 50_000:
            raise InputError(f"--samples must be in 100..50000, got {args.samples}")
        bundle = Path(args.bundle)
        result = evaluate(bundle, args.samples, args.retrain_classifier)
        failures = failed_checks(result, checks)
    except GanimateError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for name, fig in result["figures"].items():
        floor = "" if fig["floor"] is None else f"   floor {fig['floor']:.4g}"
        print(f"{name:<16} {fig['model']:.4g}{floor}")
    judge = result["judge"]
    print(
        f"judge {judge['name']} (sha256 {judge['sha256'][:12]}...): accuracy {judge['validation_accuracy']:.4f} on "
        f"validation, {judge['test_accuracy']:.4f} on test; dataset {result['dataset']['name']} "
        f"(sha256 {result['dataset']['sha256'][:12]}...)"
    )
    if not args.no_write:
        from training.card import refresh_card

        kept = {}  # sections other commands own (training.evaluate_projection's) survive a re-evaluation
        if (bundle / "metrics.json").is_file():
            old = json.loads((bundle / "metrics.json").read_text())
            kept = {k: old[k] for k in ("projection",) if k in old}
        write_atomic(bundle / "metrics.json", (json.dumps({**result, **kept}, indent=2) + "\n").encode())
        refresh_card(bundle)
        print(f"wrote {bundle / 'metrics.json'} and the card's metrics table")
    for line in failures:
        print(f"check failed: {line}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
