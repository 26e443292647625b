"""Training throughput: our GAN.train_step against a loop written the way the TensorFlow DCGAN tutorial writes it.

Same architecture (training.networks), batch and data (the offline MNIST sample), measured side by side in one run.

    python -m bench.train_speed [--steps 60] [--batch-size 128]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import time

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
        g_opt.apply_gradients(zip(gen_tape.gradient(gen_loss, generator.trainable_variables), generator.trainable_variables))
        d_opt.apply_gradients(zip(disc_tape.gradient(disc_loss, discriminator.trainable_variables), discriminator.trainable_variables))
        return gen_loss, disc_loss

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


# (label, options changed from the tutorial's features): what each feature costs, measured side by side.
SHIPPED = dict(conditional=True, loss="hinge", spectral_norm=True, augment=True, ema=0.999)
VARIANTS = (
    ("ganimate, tutorial's features", {}),
    ("ganimate + EMA (the defaults)", dict(ema=0.999)),
    ("ganimate defaults, mixed_bfloat16", dict(ema=0.999, precision="mixed_bfloat16")),
    ("ganimate defaults, --jit", dict(ema=0.999, jit=True)),
    ("ganimate defaults, --updates alternating", dict(ema=0.999, updates="alternating")),
    ("+ spectral norm", dict(ema=0.999, spectral_norm=True)),
    ("+ DiffAugment", dict(ema=0.999, augment=True)),
    ("+ conditional (projection D)", dict(ema=0.999, conditional=True)),
    ("MNIST recipe: hinge, SN, DiffAugment, EMA", SHIPPED),
    ("MNIST recipe, mixed_bfloat16", dict(SHIPPED, precision="mixed_bfloat16")),
)
QUICK = ("ganimate + EMA (the defaults)", "ganimate defaults, mixed_bfloat16")


def main(argv: list[str] | None = None) -> dict:
    from training.tf_setup import import_tensorflow

    import_tensorflow()  # the project's TensorFlow set-up (remapper off) for both loops
    import keras
    import tensorflow as tf

    from training.build import build_model
    from training.data import load_dataset, make_pipeline
    from training.networks import build_discriminator, build_generator
    from training.options import TrainOptions

    p = argparse.ArgumentParser(prog="python -m bench.train_speed")
    p.add_argument("--steps", type=int, default=60)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--quick", action="store_true", help="only the tutorial loop, the defaults and bf16")
    args = p.parse_args(argv)
    data = load_dataset("mnist")
    it = iter(make_pipeline(data, args.batch_size, 0))
    labelled = [next(it) for _ in range(args.steps + 3)]
    batches = [b[0] for b in labelled]
    # The tutorial's features: unconditional, BCE, no EMA, no spectral norm, no augmentation.
    opts = TrainOptions(dataset="mnist", batch_size=args.batch_size, latent_dim=64, ema=0.0, out="unused")
    width = opts.resolved_width()

    keras.utils.set_random_seed(0)
    g = build_generator(64, 28, 1, 0, width)
    d = build_discriminator(28, 1, 0, width)
    tutorial = _tutorial_step(g, d, keras.optimizers.Adam(2e-4, 0.5), keras.optimizers.Adam(2e-4, 0.5), 64)
    tutorial_ips = _time(tutorial, batches)

    results = {"tutorial-style loop": tutorial_ips}
    for label, changes in VARIANTS:
        if args.quick and label not in QUICK:
            continue
        variant = dataclasses.replace(opts, **changes)
        model = build_model(variant, 1, 10)
        step = tf.function(model.train_step, jit_compile=variant.jit)
        results[label] = _time(step, labelled)  # (images, labels): the labels go unused when unconditional

    print(f"train speed, MNIST 28x28, batch {args.batch_size}, width {width}, {args.steps} timed steps, "
          f"{os.cpu_count()} CPU cores")
    print("| loop | images/s | x tutorial |\n|---|---|---|")
    for label, ips in results.items():
        print(f"| {label} | {ips:,.0f} | {ips / tutorial_ips:.2f} |")
    return results


if __name__ == "__main__":
    main()
