"""Training throughput: our GAN.train_step against a loop written the way the TensorFlow DCGAN tutorial writes it.

Same architecture (training.networks), batch and data (the offline MNIST sample), measured side by side in one run.

    python -m bench.train_speed [--steps 60] [--batch-size 64] [--rounds 3] [--quick]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _tutorial_step(generator, discriminator, g_opt, d_opt, latent_dim):
    """The tutorial's train_step: one generator pass, two tapes, BCE from logits."""
    import tensorflow as tf

    bce = tf.keras.losses.BinaryCrossentropy(from_logits=True)

    @tf.function
    def step(images):
        noise = tf.random.normal([tf.shape(images)[0], latent_dim])
        with tf.GradientTape() as gen_tape, tf.GradientTape() as disc_tape:
            generated = generator(noise, training=True)
            real_output = discriminator(images, training=True)
            fake_output = discriminator(generated, training=True)
            gen_loss = bce(tf.ones_like(fake_output), fake_output)
            disc_loss = bce(tf.ones_like(real_output), real_output) + bce(tf.zeros_like(fake_output), fake_output)
        g_opt.apply_gradients(
            zip(gen_tape.gradient(gen_loss, generator.trainable_variables), generator.trainable_variables)
        )
        d_opt.apply_gradients(
            zip(disc_tape.gradient(disc_loss, discriminator.trainable_variables), discriminator.trainable_variables)
        )
        return gen_loss, disc_loss

    return step


def gather_shift(images: Any, sx: Any, sy: Any) -> Any:
    """DiffAugment's translation as the paper's TensorFlow code writes it: pad, then `tf.gather_nd` the moved
    pixels (the same pixels as training.augment.shift_pixels)."""
    import tensorflow as tf

    size, shift = images.shape[1], images.shape[1] // 8
    grid_y, grid_x = tf.meshgrid(tf.range(size), tf.range(size), indexing="ij")
    ys = tf.clip_by_value(grid_y[None] + sy + shift, 0, size + 2 * shift - 1)
    xs = tf.clip_by_value(grid_x[None] + sx + shift, 0, size + 2 * shift - 1)
    padded = tf.pad(images, [[0, 0], [shift, shift], [shift, shift], [0, 0]])
    batch_idx = tf.broadcast_to(tf.range(tf.shape(images)[0])[:, None, None], tf.shape(ys))
    return tf.gather_nd(padded, tf.stack([batch_idx, ys, xs], axis=-1))


def _tutorial_recipe_step(
    generator, discriminator, ema_generator, g_opt, d_opt, latent_dim, num_classes, class_weight, ema_decay
):
    """The shipped MNIST recipe's features written the tutorial's way: conditional G and a projection D with
    spectral norm and a class head, DiffAugment on everything D sees, hinge losses, the multi-class hinge on the
    class head, D's update first and then G's with fresh noise (alternating), and an EMA copy of G after each
    step. One batch, two tapes per update, no microbatches, DiffAugment's translation by the paper's gather: what a
    person writes from the papers."""
    import keras
    import tensorflow as tf

    from training.augment import diff_augment

    seeds = keras.random.SeedGenerator(0)

    def class_hinge(y, logits):
        true = tf.reduce_sum(y * logits, axis=1)
        return tf.reduce_mean(tf.nn.relu(1.0 - (true - tf.reduce_max(logits - 1e9 * y, axis=1))))

    def d_out(images, y):
        logit, classes = discriminator([diff_augment(images, seeds, gather_shift), y], training=True)
        return logit, classes

    @tf.function
    def step(data):
        images, labels = data
        y = tf.one_hot(tf.cast(labels, tf.int32), num_classes)
        noise = tf.random.normal([tf.shape(images)[0], latent_dim])
        with tf.GradientTape() as disc_tape:
            fake = generator([noise, y], training=True)
            real_logit, real_class = d_out(images, y)
            fake_logit, _ = d_out(fake, y)
            d_loss = (
                tf.reduce_mean(tf.nn.relu(1.0 - real_logit))
                + tf.reduce_mean(tf.nn.relu(1.0 + fake_logit))
                + class_weight * class_hinge(y, real_class)
            )
        d_opt.apply_gradients(
            zip(disc_tape.gradient(d_loss, discriminator.trainable_variables), discriminator.trainable_variables)
        )
        noise = tf.random.normal([tf.shape(images)[0], latent_dim])
        with tf.GradientTape() as gen_tape:
            fake_logit, fake_class = d_out(generator([noise, y], training=True), y)
            g_loss = -tf.reduce_mean(fake_logit) + class_weight * class_hinge(y, fake_class)
        g_opt.apply_gradients(
            zip(gen_tape.gradient(g_loss, generator.trainable_variables), generator.trainable_variables)
        )
        for ema_w, w in zip(ema_generator.weights, generator.weights):
            ema_w.assign(ema_decay * ema_w + (1.0 - ema_decay) * w)
        return g_loss, d_loss

    return step


def _sync(out) -> None:
    for value in out.values() if isinstance(out, dict) else out:
        value.numpy()


def _time(step, batches, warmup: int = 3) -> float:
    """Images per second over the batches after `warmup` untimed steps (tracing and first-call costs)."""
    for b in batches[:warmup]:
        _sync(step(b))
    started = time.perf_counter()
    for b in batches[warmup:]:
        out = step(b)
    _sync(out)  # the last step's results wait for all queued work
    images = sum(int((b[0] if isinstance(b, tuple) else b).shape[0]) for b in batches[warmup:])
    return images / (time.perf_counter() - started)


# The shipped digit bundle's step, read from the options it was trained with, so the bench times the step that
# trained the model people download.
SHIPPED_OPTIONS = Path(__file__).resolve().parents[1] / "exported" / "mnist-cdcgan" / "training" / "options.json"
STEP_FIELDS = ("conditional", "loss", "spectral_norm", "augment", "ema", "updates", "class_weight", "class_loss")


def shipped_recipe(path: Path = SHIPPED_OPTIONS) -> dict:
    """The step options (STEP_FIELDS) of the shipped digit recipe."""
    raw = json.loads(path.read_text())
    return {key: raw[key] for key in STEP_FIELDS}


RECIPE_OPTIONS = shipped_recipe()
# What _tutorial_recipe_step writes out by hand (its EMA decay and class weight are read from the recipe).
TUTORIAL_WRITES = dict(conditional=True, loss="hinge", spectral_norm=True, augment=True, class_loss="hinge")
SHIPPED = dict(RECIPE_OPTIONS, updates="simultaneous", class_weight=0.0)  # its features on the one-pass step
TUTORIAL, TUTORIAL_1T = "tutorial-style loop", "tutorial-style loop, one thread per op"
# The shipped recipe's features in the tutorial's style, and ours with the same features: the pair that says
# what the trainer's own step is worth, feature for feature. The tutorial-style loop's G update draws fresh noise
# (the classic step); the shipped step reuses D's fakes (--updates reuse), so the classic step is timed too.
TUTORIAL_RECIPE = "tutorial-style loop, MNIST recipe's features"
RECIPE = f"MNIST recipe as shipped ({RECIPE_OPTIONS['updates']}, class head)"
CLASSIC = "MNIST recipe, classic alternating step"
FEATURE_FOR_FEATURE = "feature for feature"  # main()'s result: RECIPE over TUTORIAL_RECIPE, paired by round
FEATURE_FOR_FEATURE_CLASSIC = "feature for feature, classic step"  # CLASSIC over TUTORIAL_RECIPE
VARIANTS = (
    ("ganimate, tutorial's features", {}),
    ("ganimate + EMA (the defaults)", dict(ema=0.999)),
    ("ganimate defaults, 1 microbatch (TensorFlow's threads)", dict(ema=0.999, microbatches=1)),
    ("ganimate defaults, mixed_bfloat16", dict(ema=0.999, precision="mixed_bfloat16")),
    ("ganimate defaults, --jit", dict(ema=0.999, jit=True)),
    ("ganimate defaults, --updates alternating", dict(ema=0.999, updates="alternating")),
    ("ganimate defaults, --updates reuse", dict(ema=0.999, updates="reuse")),
    ("+ spectral norm", dict(ema=0.999, spectral_norm=True)),
    ("+ DiffAugment", dict(ema=0.999, augment=True)),
    ("+ conditional (projection D)", dict(ema=0.999, conditional=True)),
    ("MNIST recipe's features, one-pass step, no class head", SHIPPED),
    (RECIPE, RECIPE_OPTIONS),
    (CLASSIC, dict(RECIPE_OPTIONS, updates="alternating")),
    (f"{RECIPE}, 1 microbatch", dict(RECIPE_OPTIONS, microbatches=1)),
    (f"{RECIPE}, 4 microbatches", dict(RECIPE_OPTIONS, microbatches=4)),
)
QUICK = ("ganimate + EMA (the defaults)", "ganimate defaults, 1 microbatch (TensorFlow's threads)")


def measure_one(label: str, steps: int, batch_size: int) -> float:
    """Images/s of one loop, in this (fresh) process: thread settings are per process and fixed at TensorFlow's
    start, so each loop gets its own, set the way its trainer sets them."""
    from training.tf_setup import configure_threads, import_tensorflow

    tf = import_tensorflow()  # the project's TensorFlow set-up (remapper off) for every loop
    import keras

    from training.build import build_model, resolved_microbatches
    from training.data import load_dataset, make_pipeline
    from training.networks import build_discriminator, build_generator
    from training.options import TrainOptions

    # The tutorial's features: unconditional, BCE, no EMA, no spectral norm, no augmentation.
    opts = TrainOptions(dataset="mnist-sample", batch_size=batch_size, latent_dim=64, ema=0.0, out="unused")
    if label == TUTORIAL_1T:
        tf.config.threading.set_intra_op_parallelism_threads(1)
        tf.config.threading.set_inter_op_parallelism_threads(os.cpu_count() or 1)
    variant = dataclasses.replace(opts, **dict(VARIANTS).get(label, {}))
    if label not in (TUTORIAL, TUTORIAL_1T, TUTORIAL_RECIPE):  # the tutorials keep TensorFlow's own threads
        configure_threads(resolved_microbatches(variant))  # as training.train does
    data = load_dataset("mnist-sample")
    it = iter(make_pipeline(data, batch_size, 0))
    labelled = [next(it) for _ in range(steps + 3)]
    if label == TUTORIAL_RECIPE:
        differs = {k: RECIPE_OPTIONS[k] for k, v in TUTORIAL_WRITES.items() if RECIPE_OPTIONS[k] != v}
        if differs or not (RECIPE_OPTIONS["ema"] and RECIPE_OPTIONS["class_weight"]):
            raise SystemExit(
                f"the shipped recipe's step has {differs or 'no EMA or class head'}, which the tutorial-style loop "
                "does not write: update bench.train_speed._tutorial_recipe_step to match it"
            )
        keras.utils.set_random_seed(0)
        width = opts.resolved_width()
        g, ema = (build_generator(64, 28, 1, 10, width, name=n) for n in ("generator", "ema_generator"))
        ema.set_weights(g.get_weights())
        d = build_discriminator(28, 1, 10, width, spectral_norm=True, class_head=True)
        step = _tutorial_recipe_step(
            g,
            d,
            ema,
            keras.optimizers.Adam(2e-4, 0.5),
            keras.optimizers.Adam(2e-4, 0.5),
            64,
            10,
            RECIPE_OPTIONS["class_weight"],
            RECIPE_OPTIONS["ema"],
        )
        return _time(step, labelled)
    if label in (TUTORIAL, TUTORIAL_1T):
        keras.utils.set_random_seed(0)
        width = opts.resolved_width()
        g = build_generator(64, 28, 1, 0, width)
        d = build_discriminator(28, 1, 0, width)
        step = _tutorial_step(g, d, keras.optimizers.Adam(2e-4, 0.5), keras.optimizers.Adam(2e-4, 0.5), 64)
        return _time(step, [b[0] for b in labelled])
    model = build_model(variant, 1, 10)
    step = tf.function(model.train_step, jit_compile=variant.jit)
    return _time(step, labelled)  # (images, labels): the labels go unused when unconditional


def _run_one(label: str, steps: int, batch_size: int) -> float:
    """Images/s of one loop, measured in a fresh process (its own thread settings)."""
    import json
    import subprocess
    import sys

    args = ["--one", label, "--steps", str(steps), "--batch-size", str(batch_size)]
    done = subprocess.run([sys.executable, "-m", "bench.train_speed", *args], capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"{label}: failed\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])["images_per_s"]


def measure_rounds(labels: list[str], steps: int, batch_size: int, rounds: int) -> dict[str, list[float]]:
    """label -> images/s of each round. Every round runs every loop once, in this order, so loops next to each other
    see the same load on a shared machine, and a slow minute lowers one round of each instead of one loop."""
    results: dict[str, list[float]] = {label: [] for label in labels}
    for _ in range(rounds):
        for label in labels:
            results[label].append(_run_one(label, steps, batch_size))
    return results


def round_ratios(results: dict[str, list[float]], label: str = RECIPE) -> np.ndarray:
    """A trainer's recipe step (`label`) over the tutorial-style loop with its features, in each round (a round
    measures the two one after the other); their median is the feature-for-feature figure."""
    return np.asarray(results[label]) / np.asarray(results[TUTORIAL_RECIPE])


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(prog="python -m bench.train_speed")
    p.add_argument("--steps", type=int, default=40)
    p.add_argument("--batch-size", type=int, default=64, help="default 64, the shipped MNIST recipe's")
    p.add_argument("--rounds", type=int, default=3, help="times each loop is measured, interleaved (median kept)")
    p.add_argument("--quick", action="store_true", help="only the tutorial loops, the defaults and 1 microbatch")
    p.add_argument("--one", default=None, help=argparse.SUPPRESS)  # internal: measure one loop, print JSON
    args = p.parse_args(argv)
    if args.rounds < 1:
        p.error("--rounds must be at least 1")
    if args.one is not None:
        import json

        print(json.dumps({"images_per_s": measure_one(args.one, args.steps, args.batch_size)}))
        return {}
    # The feature-for-feature pair first and side by side, then the rest.
    labels = [TUTORIAL_RECIPE, RECIPE, CLASSIC, TUTORIAL, TUTORIAL_1T] + [
        label for label, _ in VARIANTS if label not in (RECIPE, CLASSIC) and (not args.quick or label in QUICK)
    ]
    rounds = measure_rounds(labels, args.steps, args.batch_size, args.rounds)
    results = {label: float(np.median(v)) for label, v in rounds.items()}
    tutorial_ips = results[TUTORIAL]
    print(
        f"train speed, MNIST 28x28, batch {args.batch_size}, {args.steps} timed steps, each loop in its own "
        f"process, median of {args.rounds} interleaved rounds, {os.cpu_count()} CPU cores ({cpu_features()})"
    )
    print("| loop | images/s | x tutorial | rounds |\n|---|---|---|---|")
    for label, ips in results.items():
        each = ", ".join(f"{v:,.0f}" for v in rounds[label])
        print(f"| {label} | {ips:,.0f} | {ips / tutorial_ips:.2f} | {each} |")
    for key, label in ((FEATURE_FOR_FEATURE, RECIPE), (FEATURE_FOR_FEATURE_CLASSIC, CLASSIC)):
        ratios = round_ratios(rounds, label)
        results[key] = float(np.median(ratios))
        each = ", ".join(f"{r:.2f}" for r in ratios)
        print(f"\n{key}: the trainer's {label} step at {results[key]:.2f}x the {TUTORIAL_RECIPE} (rounds: {each})")
    return results


def cpu_features() -> str:
    """The CPU's model name and the vector features that decide bf16 and int8 speed (they vary between machines)."""
    try:
        info = open("/proc/cpuinfo").read()
    except OSError:
        return "CPU features unknown"
    name = next((line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("model name")), "?")
    flags = set(next((line.split(":", 1)[1].split() for line in info.splitlines() if line.startswith("flags")), []))
    wanted = ("avx2", "avx512f", "avx512_bf16", "avx512_vnni", "amx_bf16")
    return f"{name}; " + ", ".join(f for f in wanted if f in flags) if flags else name


if __name__ == "__main__":
    main()
