"""The math-art encoder: a picture of one of the five families -> the family and a z whose drawn parameters
redraw it, trained against the bundle's frozen model.onnx.

    python -m training.encoder_params --bundle exported/mathart-params      # encoder.onnx + config.json

The renderer gives unlimited labelled pairs for free: the generator itself draws pictures from z and a family
(onnxruntime, 256x256), and its `params` head (a small MLP, run in TensorFlow by training.onnx_graph) says what it
drew; half of each batch is instead the prior's own pictures (the training table, drawn by the numpy renderer),
whose parameters are known but whose z is not. The encoder sees each picture averaged down to 64x64 (the pooling is the first layer of encoder.onnx, so it
takes the generator's own 256x256 output) and is trained on three things: the family (cross-entropy), z (squared
error) and, through the frozen params head, the drawn parameters in units of each parameter's range (what makes
the redrawn picture the same picture). model.onnx and its sha256 are unchanged.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from serving.errors import InputError
from training.encoder import _bundle_config, train_and_export

PICTURES = 16_384  # pairs drawn by the generator for training
VAL_PICTURES = 1_024
STEPS = 3000
BATCH = 64
POOL = 4  # 256 -> 64
SEED = 0
W_CLASS, W_Z, W_PARAMS = 1.0, 0.2, 4.0


def draw_pairs(gen, count: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(pictures float32 [n, 64, 64, 3] pooled, z [n, latent], family [n]) drawn by the generator itself."""
    from serving.latent.latents import one_hot

    rng = np.random.default_rng(seed)
    z = rng.standard_normal((count, gen.latent_dim)).astype(np.float32)
    family = rng.integers(0, gen.num_classes, count)
    h, w = gen.config.image_size
    pooled = np.empty((count, h // POOL, w // POOL, 3), np.float32)
    for start in range(0, count, 256):
        part = gen(z[start : start + 256], one_hot(family[start : start + 256], gen.num_classes), output="float")
        pooled[start : start + 256] = part.reshape(len(part), h // POOL, POOL, w // POOL, POOL, 3).mean(axis=(2, 4))
    return pooled, z, family


def prior_pairs(count: int, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(pictures [n, 64, 64, 3] pooled, params float32 [n, P], family [n]) from the training table (the prior's draw
    seed 0: the generator's own training data, never the test draw), drawn by the numpy renderer. These have no z:
    they teach the encoder the prior's pictures, not only the generator's."""
    from serving.art import mathart
    from training.data import MATHART_SEEDS, mathart_params_cached

    params, labels = mathart_params_cached(count, MATHART_SEEDS["train"])
    pooled = np.stack(
        [
            mathart.render(p, int(f), size).reshape(size // POOL, POOL, size // POOL, POOL, 3).mean(axis=(1, 3))
            for p, f in zip(params, labels)
        ]
    ).astype(np.float32)
    return pooled, params.astype(np.float32), labels.astype(np.int64)


def build(shape: tuple[int, int, int], latent_dim: int, num_classes: int):
    """encoder.onnx's model: 256x256 picture -> 4x4 average pool -> the core CNN (training.encoder) -> z, logits."""
    import keras
    from keras import layers

    from training.encoder import build_encoder

    core = build_encoder((shape[0] // POOL, shape[1] // POOL, shape[2]), latent_dim, num_classes)
    image = keras.Input(shape, name="image")
    outputs = core(layers.AveragePooling2D(POOL)(image))
    return keras.Model(image, outputs, name="encoder"), core


def _validation(core, vx, vfamily) -> dict:
    """The encoder on validation draws: how often the family comes back, and the size of the z it finds."""
    z_hat, logits = core(vx, training=False)
    return {
        "val_family_accuracy": round(float(np.mean(np.argmax(logits, 1) == vfamily)), 4),
        "val_z_rms": round(float(np.sqrt(np.mean(np.square(z_hat)))), 3),
    }


def train(bundle: Path, steps: int = STEPS, seed: int = SEED, log=print, pictures: int = PICTURES):
    """(full encoder, validation report), from `pictures` drawn pairs."""
    import tensorflow as tf

    from serving import Generator
    from serving.art import mathart
    from training.onnx_graph import OnnxFunction

    config = _bundle_config(bundle)
    if "params" not in config.outputs:
        raise InputError(f"{bundle} draws pixels; use python -m training.encoder for it")
    gen = Generator.from_pretrained(bundle)
    started = time.perf_counter()
    x, z, family = draw_pairs(gen, pictures, seed)
    vx, vz, vfamily = draw_pairs(gen, min(VAL_PICTURES, pictures), seed + 1)  # validation: other draws
    rx, rparams, rfamily = prior_pairs(pictures // 2, config.image_size[0])
    log(f"drew {len(x) + len(vx) + len(rx)} pictures in {time.perf_counter() - started:.0f} s")
    masks = np.stack([mathart.family_mask(f) for f in range(config.num_classes)]).astype(np.float32)
    spec = config.extra["params"]
    span = np.asarray(spec["high"], np.float32) - np.asarray(spec["low"], np.float32)
    span = np.where(span > 0, span, 1.0).astype(np.float32)  # errors in units of each parameter's range
    params_head = OnnxFunction(bundle / "model.onnx", ("params",))
    tf.keras.utils.set_random_seed(seed)
    full, core = build((*config.image_size, config.channels), config.latent_dim, config.num_classes)
    optimizer = tf.keras.optimizers.Adam(tf.keras.optimizers.schedules.CosineDecay(1e-3, steps, alpha=0.05))

    def half(images, fam, want, z_true=None):
        """The loss on one half-batch: family, drawn parameters (the slots its family reads), and z when known."""
        y = tf.one_hot(fam, config.num_classes)
        z_hat, logits = core(images, training=True)
        got = params_head(z=z_hat, y=y)["params"]
        mask = tf.gather(masks, fam)
        loss = W_CLASS * tf.reduce_mean(
            tf.keras.losses.sparse_categorical_crossentropy(fam, logits, from_logits=True)
        ) + W_PARAMS * tf.reduce_sum(mask * tf.square((got - want) / span)) / tf.reduce_sum(mask)
        return loss + (W_Z * tf.reduce_mean(tf.square(z_hat - z_true)) if z_true is not None else 0.0)

    @tf.function(reduce_retracing=True)
    def step(images, z_true, fam, r_images, r_params, r_fam):
        want = tf.stop_gradient(params_head(z=z_true, y=tf.one_hot(fam, config.num_classes))["params"])
        with tf.GradientTape() as tape:
            loss = half(images, fam, want, z_true) + half(r_images, r_fam, r_params)
        grads = tape.gradient(loss, core.trainable_variables)
        optimizer.apply_gradients(zip(grads, core.trainable_variables))
        return loss

    rng = np.random.default_rng(seed)
    for i in range(1, steps + 1):
        rows, real = rng.integers(0, len(x), BATCH), rng.integers(0, len(rx), BATCH)
        loss = step(x[rows], z[rows], family[rows].astype(np.int64), rx[real], rparams[real], rfamily[real])
        if i % 250 == 0 or i == steps:
            log(f"step {i}/{steps}  loss {float(loss):.4f}  {time.perf_counter() - started:.0f} s")
    report = {**_validation(core, vx, vfamily), "train_s": round(time.perf_counter() - started, 1)}
    report.update(steps=steps, pictures=pictures)
    log("validation: " + json.dumps(report))
    return full, report


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m training.encoder_params", description=__doc__.split("\n\n")[0])
    p.add_argument("--bundle", required=True, help="a parameter bundle folder (its model.onnx stays as it is)")
    p.add_argument("--steps", type=int, default=STEPS, help=f"training steps (default {STEPS})")
    p.add_argument("--pictures", type=int, default=PICTURES, help=f"pairs the generator draws (default {PICTURES})")
    args = p.parse_args(argv)
    if not 1 <= args.steps <= 1_000_000 or not 64 <= args.pictures <= 1_000_000:
        print("error: --steps must be in 1..1000000 and --pictures in 64..1000000", file=sys.stderr)
        return 2
    return train_and_export(args.bundle, lambda bundle: train(bundle, args.steps, pictures=args.pictures))


if __name__ == "__main__":
    raise SystemExit(main())
