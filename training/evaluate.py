"""Measure how good a bundle's images are, beside the floor real data reaches, and put the figures in its card.

    python -m training.evaluate --bundle exported/mnist-cdcgan [--samples 5000] [--check "fcd_ratio<=2,precision>=0.8"]

Steps: load the bundle's dataset -> train (or load the cached) domain classifier on its training split and report
its held-out accuracy -> generate samples from the exported ONNX model (fixed seeds, balanced classes) -> compute
every figure for the model against the training data and, beside it, for held-out real data against the training
data (the floor a perfect generator would reach) -> write metrics.json and the card's table.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from serving.atomic import write_atomic
from serving.errors import GanimateError, InputError
from serving.generator import Generator
from serving.latents import one_hot, z_batch
from training import evaluate_walks as walks
from training import metrics
from training.data import cache_root

CLASSIFIER_VERSION = 1
EVAL_SEED_BASE = 3_000_000_000  # far from the seeds people type, and from the export's parity seeds
PPL_EPSILON = 1e-2
REFERENCE_SIZE = 5000
PRIOR_DRAWS = 2000  # raw prior draws behind the acceptance floor




def build_classifier(shape: tuple[int, int, int], num_classes: int):
    """A small CNN; its 128-wide `features` layer is the feature space of every figure."""
    import keras
    from keras import layers

    x = keras.Input(shape, name="images")
    h = x
    for width in (32, 64, 128):
        h = layers.Conv2D(width, 3, padding="same", activation="relu")(h)
        h = layers.Conv2D(width, 3, padding="same", activation="relu")(h) if width == 128 else h
        h = layers.MaxPooling2D()(h)
    h = layers.GlobalAveragePooling2D()(h)
    features = layers.Dense(128, activation="relu", name="features")(h)
    out = layers.Dense(num_classes, activation="softmax", name="probs")(layers.Dropout(0.3)(features))
    return keras.Model(x, [features, out], name="domain_classifier")


def domain_classifier(data, spec: str, epochs: int = 12, verbose: bool = True):
    """(model, held-out accuracy), trained once per dataset and cached by a fingerprint of its training split."""
    import keras

    fingerprint = hashlib.sha256(data.images[:: max(1, len(data.images) // 512)].tobytes()).hexdigest()[:16]
    safe = "".join(c if c.isalnum() else "_" for c in spec)[:40]
    path = cache_root() / "classifiers" / f"{safe}-{data.image_shape[0]}-v{CLASSIFIER_VERSION}-e{epochs}-{fingerprint}.keras"
    if path.exists():
        model = keras.models.load_model(path, compile=False)
        return model, json.loads(path.with_suffix(".json").read_text())["heldout_accuracy"]
    if data.num_classes < 2:
        raise InputError(f"dataset {spec} has no class labels to train a domain classifier on")
    keras.utils.set_random_seed(0)
    model = build_classifier(data.image_shape, data.num_classes)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=[None, "sparse_categorical_crossentropy"],
                  metrics=[[], ["accuracy"]])
    started = time.perf_counter()
    model.fit(data.images, [np.zeros(len(data.images)), data.labels], batch_size=128, epochs=epochs,
              verbose=2 if verbose else 0, shuffle=True)
    probs = model.predict(data.heldout_images, batch_size=256, verbose=0)[1]
    accuracy = float((probs.argmax(1) == data.heldout_labels).mean())
    path.parent.mkdir(parents=True, exist_ok=True)
    model.save(path)
    path.with_suffix(".json").write_text(json.dumps({"heldout_accuracy": accuracy, "epochs": epochs,
                                                     "train_s": time.perf_counter() - started}))
    return model, accuracy


def _features(model, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    feats, probs = model.predict(images, batch_size=256, verbose=0)
    return feats.astype(np.float64), probs


def _reference(data, spec: str, size: int):
    """(train, held-out) images and labels; mathart renders a 5,000-image held-out set (other seeds) when asked."""
    rng = np.random.default_rng(0)
    pick = rng.choice(len(data.images), min(REFERENCE_SIZE, len(data.images)), replace=False)
    heldout, heldout_labels = data.heldout_images, data.heldout_labels
    if spec == "mathart" and len(heldout) < REFERENCE_SIZE:
        from training.data import render_mathart_cached

        heldout = render_mathart_cached(REFERENCE_SIZE, 1, size).astype(np.float32) / 127.5 - 1.0
        heldout_labels = np.arange(REFERENCE_SIZE) % data.num_classes
    return data.images[pick], data.labels[pick], heldout, heldout_labels


def _eval_inputs(gen: Generator, count: int) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """The fixed evaluation inputs: z of seeds EVAL_SEED_BASE.., balanced one-hot classes, and the labels."""
    seeds = np.arange(EVAL_SEED_BASE, EVAL_SEED_BASE + count)
    labels = np.arange(count) % gen.num_classes if gen.num_classes else np.full(count, -1)
    y = one_hot(labels, gen.num_classes) if gen.num_classes else None
    return z_batch(seeds, gen.latent_dim), y, labels


def _path_length(gen: Generator, clf, pairs: int) -> float:
    """PPL-style smoothness: mean squared feature distance between images eps apart on lerp paths, / eps^2."""
    rng = np.random.default_rng(1)
    za = z_batch(list(range(EVAL_SEED_BASE - 2 * pairs, EVAL_SEED_BASE - pairs)), gen.latent_dim)
    zb = z_batch(list(range(EVAL_SEED_BASE - pairs, EVAL_SEED_BASE)), gen.latent_dim)
    t = rng.uniform(0, 1 - PPL_EPSILON, size=(pairs, 1)).astype(np.float32)
    z0, z1 = za + t * (zb - za), za + (t + PPL_EPSILON) * (zb - za)
    y = one_hot(np.arange(pairs) % gen.num_classes, gen.num_classes) if gen.num_classes else None
    f0 = _features(clf, walks.pictures(gen, z0, y))[0]
    f1 = _features(clf, walks.pictures(gen, z1, y))[0]
    return float((((f1 - f0) ** 2).sum(1) / PPL_EPSILON**2).mean())


def evaluate(bundle: Path, samples: int = 5000, classifier_epochs: int = 12, verbose: bool = True) -> dict:
    """Every figure for the bundle and its real-data floor; returns the metrics.json content."""
    from training.data import load_dataset

    gen = Generator.from_pretrained(bundle)
    cfg = gen.config
    training = cfg.extra.get("training", {})
    spec = training.get("dataset")
    if not spec:
        raise InputError(f"{bundle}/config.json does not say which dataset trained it (extra.training.dataset)")
    # A parameter model is judged on its parameters drawn like its data: the `mathart` pixel dataset at 64x64.
    spec, size = walks.classifier_dataset(gen, spec)
    if spec.startswith("params:"):
        from training.data import drawn_params_dataset

        data = drawn_params_dataset(spec, size)
    else:
        data = load_dataset(spec, size, training.get("dataset_size", 10000))
    clf, clf_accuracy = domain_classifier(data, spec, classifier_epochs, verbose)
    train_x, train_y, held_x, held_y = _reference(data, spec, size)
    z, y, fake_y = _eval_inputs(gen, samples)
    fake_x = walks.pictures(gen, z, y)
    (f_train, _), (f_held, p_held), (f_fake, p_fake) = (_features(clf, x) for x in (train_x, held_x, fake_x))
    figures: dict[str, dict] = {}

    def put(name: str, model, floor, better: str) -> None:
        figures[name] = {"model": round(float(model), 6), "floor": None if floor is None else round(float(floor), 6),
                         "better": better}

    # FCD and k-NN recall depend on how many samples they see (FCD's bias falls as 1/n; k-NN balls shrink as n
    # grows), so the model is measured at the held-out set's size: the mean over disjoint chunks of that size.
    # Comparing 5,000 samples against a 500-image floor would flatter the floor's FCD and sink the model's recall.
    size = min(len(f_held), len(f_fake))
    chunks = len(f_fake) // size
    fcd_model = float(metrics.at_size(metrics.frechet_distance, f_train, f_fake, size))
    fcd_floor = metrics.frechet_distance(f_train, f_held[:size])
    put("fcd", fcd_model, fcd_floor, "lower")
    put("fcd_ratio", fcd_model / max(fcd_floor, 1e-12), 1.0, "lower")
    put("kid", metrics.kernel_inception_distance(f_fake, f_train), metrics.kernel_inception_distance(f_held, f_train), "lower")
    p_model, r_model = metrics.at_size(metrics.precision_recall, f_train, f_fake, size)
    p_floor, r_floor = metrics.precision_recall(f_train, f_held[:size])
    put("precision", p_model, p_floor, "higher")
    put("recall", r_model, r_floor, "higher")
    if gen.num_classes:
        put("class_accuracy", (p_fake.argmax(1) == fake_y).mean(), clf_accuracy, "higher")
    put("class_coverage", metrics.class_coverage(p_fake.argmax(1), train_y, data.num_classes),
        metrics.class_coverage(p_held.argmax(1), train_y, data.num_classes), "higher")
    real_grad = metrics.gradient_magnitude(train_x)
    put("sharpness", metrics.gradient_magnitude(fake_x) / real_grad, metrics.gradient_magnitude(held_x) / real_grad,
        "higher")
    put("path_length", _path_length(gen, clf, min(1000, samples)), None, "lower")
    if walks.is_params_model(gen):
        # Beside the broad prior's rate: how much better than drawing at random the model's inventions are.
        from serving.mathart import prior_acceptance_rate

        put("acceptance_rate", walks.acceptance(gen, z, y), prior_acceptance_rate(PRIOR_DRAWS), "higher")
    for name, value in walks.frame_changes(gen).items():
        put(name, value, None, "lower")
    return {
        "bundle_sha256": cfg.sha256, "dataset": cfg.dataset, "figures": figures,
        "samples": {"generated": int(len(fake_x)), "train_reference": int(len(train_x)), "heldout": int(len(held_x)),
                    "matched_size": size, "matched_chunks": chunks},
        "classifier": {"heldout_accuracy": round(clf_accuracy, 6), "epochs": classifier_epochs,
                       "feature_dim": int(f_train.shape[1])},
        "notes": "floor = held-out real data against the training data; fcd_ratio = model fcd / floor fcd. "
                 + ("Parameter model: its params output drawn by the numpy renderer at 64x64, like the data; "
                    "acceptance_rate's floor is the broad prior's rate. " if walks.is_params_model(gen) else "")
                 + "frame_* figures: mean |pixel change| between consecutive frames of 96-frame looping cubic walks "
                   "that keep one class; frame_jump_ratio_morph: the same ratio on class-morph walks. "
                 f"fcd, precision and recall compare {size} samples on each side (the model's are the mean over "
                 f"{chunks} disjoint chunks). sharpness = mean image-gradient magnitude over that of the training "
                 "data (blur lowers it). path_length has no real-data floor.",
    }


def parse_checks(text: str) -> list[tuple[str, str, float]]:
    """'fcd_ratio<=2,precision>=0.8' -> [('fcd_ratio', '<=', 2.0), ('precision', '>=', 0.8)]."""
    out = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        for op in ("<=", ">="):
            if op in part:
                name, value = part.split(op, 1)
                try:
                    out.append((name.strip(), op, float(value)))
                except ValueError:
                    raise InputError(f"--check {part!r}: {value!r} is not a number") from None
                break
        else:
            raise InputError(f"--check {part!r}: write NAME<=VALUE or NAME>=VALUE")
    return out


def failed_checks(result: dict, checks: list[tuple[str, str, float]]) -> list[str]:
    failures = []
    for name, op, limit in checks:
        if name not in result["figures"]:
            raise InputError(f"--check names {name!r}; figures are {', '.join(result['figures'])}")
        value = result["figures"][name]["model"]
        if not (value <= limit if op == "<=" else value >= limit):
            failures.append(f"{name} {value:.4g} is not {op} {limit:g}")
    return failures


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    p = argparse.ArgumentParser(prog="python -m training.evaluate", description=__doc__.splitlines()[0],
                                epilog="example:\n  python -m training.evaluate --bundle exported/mnist-cdcgan "
                                       "--check \"fcd_ratio<=2,precision>=0.8,recall>=0.6,class_accuracy>=0.97\"",
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bundle", required=True, help="bundle folder")
    p.add_argument("--samples", type=int, default=5000, help="generated samples (default 5000)")
    p.add_argument("--classifier-epochs", type=int, default=12, help="domain classifier epochs (trained once, cached)")
    p.add_argument("--check", default="", help="thresholds; exit 1 when a figure is worse, e.g. fcd_ratio<=2,recall>=0.6")
    p.add_argument("--no-write", action="store_true", help="print the figures; leave metrics.json and the card alone")
    args = p.parse_args(argv)
    from training.tf_setup import import_tensorflow

    import_tensorflow()  # before anything else imports it: its start-up lines are noise for a user
    try:
        checks = parse_checks(args.check)
        if not 100 <= args.samples <= 50_000:
            raise InputError(f"--samples must be in 100..50000, got {args.samples}")
        bundle = Path(args.bundle)
        result = evaluate(bundle, args.samples, args.classifier_epochs)
        failures = failed_checks(result, checks)
    except GanimateError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for name, fig in result["figures"].items():
        floor = "" if fig["floor"] is None else f"   floor {fig['floor']:.4g}"
        print(f"{name:<16} {fig['model']:.4g}{floor}")
    print(f"domain classifier held-out accuracy {result['classifier']['heldout_accuracy']:.4f}")
    if not args.no_write:
        from training.card import refresh_card

        write_atomic(bundle / "metrics.json", (json.dumps(result, indent=2) + "\n").encode())
        refresh_card(bundle)
        print(f"wrote {bundle / 'metrics.json'} and the card's metrics table")
    for line in failures:
        print(f"check failed: {line}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
