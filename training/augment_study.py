"""Does adding synthetic digits help a classifier? A small CNN trained on n real digits per class, with and without
m synthetic digits per class from each bundle, judged on held-out real digits, averaged over seeds.

    python -m training.augment_study                       # every MNIST bundle in exported/, n=10,50,200, m=0,100,500
    python -m training.augment_study --quick               # n=10,50, m=100, 2 seeds: under 2 minutes
    python -m training.augment_study --write-cards         # also put the table and plot in each bundle's card

The classifier recipe is fixed (architecture, optimiser, step count, batch) so the only thing that changes between
cells is the training data. Synthetic digits come from `model.onnx` through onnxruntime with seeds that never
overlap between study seeds, balanced over classes, and are labelled with the class they were asked for: if a
model draws the wrong digit, that label noise is part of what the study measures.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from serving.errors import GanimateError, InputError

DEFAULT_N = (10, 50, 200)
DEFAULT_M = (0, 100, 500)
SYNTH_SEED_BASE = 2_000_000_000  # far from the seeds people type and from the evaluation's
STEPS, BATCH = 400, 64  # the fixed classifier recipe: 400 Adam steps of 64 digits, whatever the set's size


@dataclass(frozen=True)
class Plan:
    bundles: tuple[Path, ...]
    n: tuple[int, ...]
    m: tuple[int, ...]
    seeds: int
    steps: int = STEPS

    def cells(self) -> list[tuple[int, str | None, int]]:
        """(n, bundle name or None for real only, m) for every cell of the table; m=0 is the real-only baseline."""
        out = []
        for n in self.n:
            out.append((n, None, 0))
            out += [(n, b.name, m) for b in self.bundles for m in self.m if m > 0]
        return out


def _ints(name: str, text: str, lo: int) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise InputError(f"--{name} takes whole numbers separated by commas, got {text!r}") from None
    if not values:
        raise InputError(f"--{name} needs at least one value")
    bad = [v for v in values if v < lo]
    if bad:
        raise InputError(f"--{name} values must be >= {lo}, got {bad[0]}")
    return values


def mnist_bundles(root: Path = Path("exported")) -> tuple[Path, ...]:
    """Every bundle under `root` trained on MNIST with its ten classes (conditional, so digits can be labelled)."""
    found = []
    for cfg in sorted(root.glob("*/config.json")):
        raw = json.loads(cfg.read_text())
        spec = raw.get("extra", {}).get("training", {}).get("dataset")
        if spec in ("mnist", "mnist-sample") and raw.get("num_classes") == 10:
            found.append(cfg.parent)
    return tuple(found)


def check_bundle(path: Path, class_names: list[str]):
    """The bundle's Generator, or InputError: it must exist, load, and draw the study's classes."""
    from serving.bundle.generator import Generator

    if not (path / "config.json").is_file():
        raise InputError(f"unknown bundle {path}: no config.json there (a bundle folder, like exported/mnist-cdcgan)")
    gen = Generator.from_pretrained(path)
    if list(gen.config.class_names) != list(class_names):
        raise InputError(
            f"bundle {path} draws classes {', '.join(gen.config.class_names) or 'none'}; the study "
            f"needs the dataset's: {', '.join(class_names)}"
        )
    return gen


def pick_real(labels: np.ndarray, n: int, num_classes: int, seed: int) -> np.ndarray:
    """Indices of n training digits per class, chosen by `seed`."""
    rng = np.random.default_rng(seed)
    return np.concatenate([rng.choice(np.flatnonzero(labels == c), n, replace=False) for c in range(num_classes)])


def synthetic(gen, m: int, num_classes: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """m digits per class from `gen` in [-1, 1] (the data's scale), with their requested labels."""
    from serving.latent.latents import one_hot, z_batch

    count = m * num_classes
    start = SYNTH_SEED_BASE + seed * 1_000_000
    labels = np.arange(count) % num_classes
    images = gen(z_batch(np.arange(start, start + count), gen.latent_dim), one_hot(labels, num_classes), output="float")
    return images * 2.0 - 1.0, labels


def build_classifier(shape: tuple[int, ...], num_classes: int):
    """The study's fixed small CNN (two conv blocks and a dense layer): weak enough for data to matter."""
    import keras
    from keras import layers

    return keras.Sequential(
        [
            keras.Input(shape),
            layers.Conv2D(16, 3, activation="relu"),
            layers.MaxPooling2D(),
            layers.Conv2D(32, 3, activation="relu"),
            layers.MaxPooling2D(),
            layers.Flatten(),
            layers.Dropout(0.25),
            layers.Dense(64, activation="relu"),
            layers.Dense(num_classes),
        ]
    )


def train_and_score(
    x: np.ndarray, y: np.ndarray, test_x: np.ndarray, test_y: np.ndarray, num_classes: int, seed: int, steps: int
) -> float:
    """Held-out accuracy of the fixed classifier recipe trained on (x, y) for `steps` steps."""
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    model = build_classifier(x.shape[1:], num_classes)
    model.compile(keras.optimizers.Adam(1e-3), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    data = (
        tf.data.Dataset.from_tensor_slices((x.astype(np.float32), y.astype(np.int32)))
        .shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
        .repeat()
        .batch(BATCH)
    )
    model.fit(data, steps_per_epoch=steps, epochs=1, verbose=0, shuffle=False)  # the dataset shuffles itself
    logits = np.asarray(model(test_x.astype(np.float32), training=False))  # one call: no predict() retracing
    return float((logits.argmax(1) == test_y).mean())


def run(plan: Plan, verbose: bool = True) -> dict:
    """Every cell of the plan over its seeds; returns the results (what results.json holds)."""
    from training.data import load_dataset
    from training.tf_setup import import_tensorflow

    import_tensorflow()
    import keras

    data = load_dataset("mnist-sample")
    per_class = np.bincount(data.labels, minlength=data.num_classes).min()
    if max(plan.n) > per_class:
        raise InputError(
            f"--n {max(plan.n)} is more than the training split holds: the smallest class has {per_class} digits"
        )
    gens = {b.name: check_bundle(b, data.class_names) for b in plan.bundles}
    cells = plan.cells()
    total = len(cells) * plan.seeds
    bar = keras.utils.Progbar(total, unit_name="classifier") if verbose else None
    started = time.perf_counter()
    scores: dict[str, list[float]] = {}
    for seed in range(plan.seeds):
        synth = {(name, m): synthetic(g, m, data.num_classes, seed) for name, g in gens.items() for m in plan.m if m}
        for n, name, m in cells:
            idx = pick_real(data.labels, n, data.num_classes, seed)
            x, y = data.images[idx], data.labels[idx]
            if name is not None:
                sx, sy = synth[(name, m)]
                x, y = np.concatenate([x, sx]), np.concatenate([y, sy])
            acc = train_and_score(x, y, data.test_images, data.test_labels, data.num_classes, seed, plan.steps)
            scores.setdefault(f"{n}|{name or 'real only'}|{m}", []).append(acc)
            if bar is not None:
                bar.add(1)
    rows = []
    for key, accs in scores.items():
        n, source, m = key.split("|")
        rows.append(
            {
                "n": int(n),
                "source": source,
                "m": int(m),
                "accuracy_mean": round(float(np.mean(accs)), 4),
                "accuracy_std": round(float(np.std(accs)), 4),
                "accuracies": [round(a, 4) for a in accs],
            }
        )
    return {
        "rows": rows,
        "seeds": plan.seeds,
        "steps": plan.steps,
        "batch": BATCH,
        "bundles": {b.name: gens[b.name].config.sha256 for b in plan.bundles},
        "heldout_digits": int(len(data.test_labels)),
        "dataset": data.source,
        "seconds": round(time.perf_counter() - started, 1),
    }


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m training.augment_study",
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="example:\n  python -m training.augment_study --bundles exported/mnist-cdcgan,"
        "exported/mnist-cvae --write-cards",
    )
    p.add_argument(
        "--bundles", default="", help="comma-separated bundle folders (default: every MNIST bundle in exported/)"
    )
    p.add_argument("--n", default=",".join(map(str, DEFAULT_N)), help="real digits per class (default 10,50,200)")
    p.add_argument("--m", default=",".join(map(str, DEFAULT_M)), help="synthetic digits per class (default 0,100,500)")
    p.add_argument("--seeds", type=int, default=3, help="seeds averaged per cell (default 3)")
    p.add_argument("--quick", action="store_true", help="n=10,50, m=0,100, 2 seeds, 200 steps: the tests' size")
    p.add_argument("--out", default="runs/augment-study", help="folder for results.json, table.md and plot.png")
    p.add_argument("--write-cards", action="store_true", help="put the table and plot in each bundle's card")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def plan_from(args: argparse.Namespace) -> Plan:
    """The study's plan from the command line, or InputError naming the bad option."""
    n = _ints("n", "10,50" if args.quick else args.n, 1)
    m = _ints("m", "0,100" if args.quick else args.m, 0)
    if not 1 <= args.seeds <= 20:
        raise InputError(f"--seeds must be in 1..20, got {args.seeds}")
    bundles = tuple(Path(b.strip()) for b in args.bundles.split(",") if b.strip()) or mnist_bundles()
    if not bundles:
        raise InputError("no MNIST bundle found in exported/: name one with --bundles")
    for b in bundles:
        if not (b / "config.json").is_file():
            raise InputError(f"unknown bundle {b}: no config.json there (a bundle folder, like exported/mnist-cdcgan)")
    return Plan(bundles, n, m, 2 if args.quick else args.seeds, 200 if args.quick else STEPS)


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    args = build_parser().parse_args(argv)
    try:
        plan = plan_from(args)
        results = run(plan, verbose=not args.quiet)
        from training.augment_report import table, write_outputs

        written = write_outputs(results, Path(args.out), plan.bundles, args.write_cards)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except GanimateError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(table(results))
    print(f"{results['seconds']:.0f} s; wrote {', '.join(str(p) for p in written)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
