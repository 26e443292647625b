"""Encoders: a picture -> the z (and class) that the bundle's own frozen generator draws it from.

    python -m training.encoder --bundle exported/mnist-cdcgan            # writes encoder.onnx, updates config.json

The generator is the shipped `model.onnx`, run in TensorFlow by `training.onnx_graph` so gradients pass through
it; its bytes and sha256 never change. Each step sees two halves:
- generated pictures, whose z and class are known: z is regressed and the class classified directly;
- real training pictures (the bundle's dataset, training part only), which have no z: the loss is how far
  G(E(x)) is from x, in pixels and in the shipped judge's features (what "looks the same" means in every figure),
  with the class taken from the label.
A small pull toward the prior's norm keeps answers where the generator has been trained. The encoder is a small
CNN exported with the same converter as the generators, checked against Keras on fixed pictures, and declared in
config.json (`encoder`: file, sha256, inputs, outputs, parity), so the serving side verifies it like the model.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np

from serving.atomic import write_atomic
from serving.bundle.config import GeneratorConfig
from serving.errors import GanimateError, InputError, TrainingError
from serving.inputs import read_text_file

ENCODER_FILE = "encoder.onnx"
STEPS = 3000
BATCH = 64  # per half
SEED = 0
LR = 1e-3
# Loss weights, chosen on validation pictures (python -m training.encoder --steps N prints the validation losses).
W_Z, W_CLASS, W_PIXEL, W_FEATURE, W_PRIOR = 1.0, 0.3, 20.0, 2.0, 0.05


def build_encoder(shape: tuple[int, int, int], latent_dim: int, num_classes: int):
    """A small CNN: picture [h, w, c] in [0, 1] -> z [latent_dim] (and class logits [num_classes])."""
    import keras
    from keras import layers

    image = keras.Input(shape, name="image")
    x = image
    for width in (32, 64, 128):
        x = layers.Conv2D(width, 3, strides=2, padding="same")(x)
        x = layers.LeakyReLU(0.2)(x)
        x = layers.Conv2D(width, 3, padding="same")(x)
        x = layers.LeakyReLU(0.2)(x)
    x = layers.Flatten()(x)
    x = layers.Dense(512)(x)
    x = layers.LeakyReLU(0.2)(x)
    outputs = [layers.Dense(latent_dim, name="z")(x)]
    if num_classes:
        outputs.append(layers.Dense(num_classes, name="logits")(x))
    return keras.Model(image, outputs, name="encoder")


def _bundle_config(bundle: Path) -> GeneratorConfig:
    return GeneratorConfig.from_json(read_text_file(bundle / "config.json", "bundle file"))


def _judge_features(config: GeneratorConfig):
    from training.judge import JUDGES_DIR, judge_name
    from training.onnx_graph import OnnxFunction

    spec = config.extra.get("data", {}).get("spec", "")
    path = JUDGES_DIR / f"{judge_name(spec, config.image_size[0])}.onnx"
    return OnnxFunction(path, ("features",)) if path.is_file() else None


class _loss:
    """The encoder's loss on one half-batch (see the module docstring), and the frozen generator it draws with."""

    def __init__(self, encoder, generator, features, classes: int) -> None:
        self.encoder, self.generator, self.features, self.classes = encoder, generator, features, classes

    def draw(self, z, y):
        return self.generator(**({"z": z, "y": y} if self.classes else {"z": z}))["images"]

    def __call__(self, x, y_true, z_true=None):
        import tensorflow as tf

        out = self.encoder(x, training=True)
        z_hat, logits = (out[0], out[1]) if self.classes else (out, None)
        redrawn = self.draw(z_hat, tf.one_hot(y_true, self.classes) if self.classes else None)
        loss = W_PIXEL * tf.reduce_mean(tf.square(redrawn - x))
        if self.features is not None:
            f_a, f_b = self.features(images=redrawn)["features"], self.features(images=x)["features"]
            loss += W_FEATURE * tf.reduce_mean(tf.square(f_a - f_b)) / (tf.reduce_mean(tf.square(f_b)) + 1e-6)
        if z_true is not None:
            loss += W_Z * tf.reduce_mean(tf.square(z_hat - z_true))
        if self.classes:
            loss += W_CLASS * tf.reduce_mean(
                tf.keras.losses.sparse_categorical_crossentropy(y_true, logits, from_logits=True)
            )
        return loss + W_PRIOR * tf.square(tf.reduce_mean(tf.square(z_hat)) - 1.0)


def train_encoder(bundle: Path, steps: int = STEPS, seed: int = SEED, log=print):
    """(Keras encoder, validation report) for the pixel bundle at `bundle`, trained against its frozen model.onnx."""
    import tensorflow as tf

    from training.data import load_dataset
    from training.onnx_graph import OnnxFunction

    config = _bundle_config(bundle)
    if "params" in config.outputs:
        raise InputError(f"{bundle}: an encoder for a parameter model (math art) is not written yet; pixel models only")
    spec = config.extra.get("data", {}).get("spec")
    if not spec:
        raise InputError(f"{bundle}: config.json does not name the dataset it was trained on (extra.data.spec)")
    data = load_dataset(spec, config.image_size[0])
    real = ((data.images + 1.0) / 2.0).astype(np.float32)  # the generator's layout and range: [0, 1]
    val = ((data.val_images + 1.0) / 2.0).astype(np.float32)
    generator = OnnxFunction(bundle / "model.onnx", ("images",))
    features = _judge_features(config)
    latent, classes = config.latent_dim, config.num_classes
    tf.keras.utils.set_random_seed(seed)
    encoder = build_encoder(tuple(real.shape[1:]), latent, classes)
    schedule = tf.keras.optimizers.schedules.CosineDecay(LR, steps, alpha=0.05)
    optimizer = tf.keras.optimizers.Adam(schedule)

    parts = _loss(encoder, generator, features, classes)
    draw = parts.draw

    @tf.function(reduce_retracing=True)
    def step(x_real, y_real, z_gen, y_gen):
        x_gen = tf.stop_gradient(draw(z_gen, tf.one_hot(y_gen, classes) if classes else None))
        with tf.GradientTape() as tape:
            loss = parts(x_gen, y_gen, z_gen) + parts(x_real, y_real)
        grads = tape.gradient(loss, encoder.trainable_variables)
        optimizer.apply_gradients(zip(grads, encoder.trainable_variables))
        return loss

    rng = np.random.default_rng(seed)
    started = time.perf_counter()
    for i in range(1, steps + 1):
        rows = rng.integers(0, len(real), BATCH)
        z = rng.standard_normal((BATCH, latent)).astype(np.float32)
        y_gen = rng.integers(0, max(classes, 1), BATCH).astype(np.int64)
        loss = step(real[rows], data.labels[rows].astype(np.int64), z, y_gen)
        if i % 250 == 0 or i == steps:
            log(f"step {i}/{steps}  loss {float(loss):.4f}  {time.perf_counter() - started:.0f} s")
    report = validation_report(encoder, generator, val, data.val_labels, classes, latent, seed)
    report["train_s"] = round(time.perf_counter() - started, 1)
    report["steps"] = steps
    log("validation: " + json.dumps(report))
    return encoder, report


def validation_report(encoder, generator, images, labels, classes: int, latent: int, seed: int) -> dict:
    """What the encoder alone does on the validation part (every choice of this recipe was made on these)."""
    import tensorflow as tf

    out = encoder(images, training=False)
    z_hat, logits = (out[0], out[1]) if classes else (out, None)
    y_in = tf.one_hot(np.argmax(logits, 1), classes) if classes else None
    redrawn = generator(**({"z": z_hat, "y": y_in} if classes else {"z": z_hat}))["images"].numpy()
    report = {
        "val_pixel_mse": round(float(np.mean((redrawn - images) ** 2)), 5),
        "val_z_rms": round(float(np.sqrt(np.mean(np.square(z_hat)))), 3),
    }
    if classes:
        report["val_class_accuracy"] = round(float(np.mean(np.argmax(logits, 1) == labels)), 4)
    return report


def _onnx_bytes(encoder, shape: tuple[int, int, int], classes: int) -> bytes:
    import tensorflow as tf
    import tf2onnx

    from training.onnx_passes import canonical_names, contract_names, portable

    signature = [tf.TensorSpec([None, *shape], tf.float32, name="image")]
    names = ["z", "logits"] if classes else ["z"]

    @tf.function(input_signature=signature)
    def encode(image):
        out = encoder(image, training=False)
        out = out if classes else [out]
        return {name: tf.identity(t, name=name) for name, t in zip(names, out)}

    proto, _ = tf2onnx.convert.from_function(encode, input_signature=signature, opset=17)
    return canonical_names(portable(contract_names(proto, sorted(names)))).SerializeToString()


def export_encoder(encoder, bundle: Path, report: dict) -> dict:
    """Write encoder.onnx beside model.onnx (atomically), check it against Keras, declare it in config.json."""
    import onnxruntime as ort

    config = _bundle_config(bundle)
    shape = (*config.image_size, config.channels)
    classes = config.num_classes
    data = _onnx_bytes(encoder, shape, classes)
    probe = np.random.default_rng(1).random((16, *shape)).astype(np.float32)
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    got = session.run(None, {"image": probe})
    want = encoder(probe, training=False)
    want = [np.asarray(w) for w in (want if classes else [want])]
    names = [o.name for o in session.get_outputs()]
    order = ["z", "logits"] if classes else ["z"]
    diff = max(float(np.abs(got[names.index(n)] - w).max()) for n, w in zip(order, want))
    if diff > 1e-3:
        raise TrainingError(f"encoder.onnx differs from Keras by {diff:.2g}; not written")
    write_atomic(bundle / ENCODER_FILE, data, force=True)
    raw = json.loads(read_text_file(bundle / "config.json", "bundle file"))
    raw["encoder"] = {
        "file": ENCODER_FILE,
        "sha256": hashlib.sha256(data).hexdigest(),
        "inputs": ["image"],
        "outputs": order,
        "parity_max_abs_diff": diff,
        "training": report,
    }
    write_atomic(bundle / "config.json", (json.dumps(raw, indent=2, sort_keys=True) + "\n").encode(), force=True)
    return raw["encoder"]


def train_and_export(bundle_text: str, train) -> int:
    """The encoder CLIs' shared end: check the bundle folder, import TensorFlow, `train(bundle)` -> (encoder,
    report), export it beside model.onnx; one line and exit 2 for anything a person can fix."""
    try:
        bundle = Path(bundle_text)
        if not (bundle / "config.json").is_file():
            raise InputError(f"--bundle {bundle} is not a bundle folder (no config.json)")
        from training.tf_setup import import_tensorflow

        import_tensorflow()
        encoder, report = train(bundle)
        declared = export_encoder(encoder, bundle, report)
    except GanimateError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(
        f"wrote {bundle / ENCODER_FILE} (sha256 {declared['sha256'][:12]}..., parity {declared['parity_max_abs_diff']:.1e})"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m training.encoder", description=__doc__.split("\n\n")[0])
    p.add_argument("--bundle", required=True, help="a bundle folder (its model.onnx stays as it is)")
    p.add_argument("--steps", type=int, default=STEPS, help=f"training steps (default {STEPS})")
    p.add_argument("--seed", type=int, default=SEED)
    args = p.parse_args(argv)
    if not 1 <= args.steps <= 1_000_000:
        print(f"error: --steps must be in 1..1000000, got {args.steps}", file=sys.stderr)
        return 2
    return train_and_export(args.bundle, lambda bundle: train_encoder(bundle, args.steps, args.seed))


if __name__ == "__main__":
    raise SystemExit(main())
