"""The judge: the domain classifier behind every figure, trained once and shipped as a file.

    python -m training.judge --dataset mnist-sample          # remake a shipped judge (a new file, a new sha256)

A judge is a small CNN trained on a dataset's training part with a fixed seed, exported to ONNX and kept in
`training/judges/NAME.onnx` beside `NAME.json` (its sha256, the sha256 of the data it was trained on and its
accuracy on the validation part). `training.evaluate` and the `--eval-every` probes run it in onnxruntime, so the
same bundle gets the same figures on any machine without training anything. Its 128-wide `features` layer is the
feature space of FCD, KID, precision and recall; its class probabilities give class accuracy and coverage.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from serving.atomic import write_atomic
from serving.errors import GanimateError, InputError

JUDGES_DIR = Path(__file__).parent / "judges"
JUDGE_SEED = 0
JUDGE_EPOCHS = 30
BATCH = 256


def judge_name(spec: str, size: int) -> str:
    """The shipped judge's name for a dataset spec at an image size, e.g. 'mnist-sample-28', 'mathart-64'."""
    safe = "".join(c if c.isalnum() or c == "-" else "_" for c in spec)[:40]
    return f"{safe}-{size}"


@dataclass(frozen=True)
class Judge:
    """An onnxruntime session of a judge file and what its JSON says about it."""

    name: str
    sha256: str
    info: dict
    session: object

    def __call__(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(features float64 [n, 128], class probabilities float32 [n, classes]) for images in [-1, 1], NHWC."""
        feats, probs = [], []
        for i in range(0, len(images), BATCH):
            f, p = self.session.run(["features", "probs"], {"images": np.asarray(images[i : i + BATCH], np.float32)})
            feats.append(f)
            probs.append(p)
        return np.concatenate(feats).astype(np.float64), np.concatenate(probs)

    def summary(self) -> dict:
        """What metrics.json records of the judge that gave its figures."""
        return {
            "name": self.name,
            "sha256": self.sha256,
            "validation_accuracy": self.info["validation_accuracy"],
            "trained_on": self.info["dataset"],
            "dataset_sha256": self.info["dataset_sha256"],
            "epochs": self.info["epochs"],
            "seed": self.info["seed"],
        }


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load_judge(name: str, folder: Path = JUDGES_DIR, dataset_sha256: str | None = None) -> Judge:
    """The judge `folder/name.onnx`, its sha256 checked against its JSON (and its training data's, when given)."""
    import onnxruntime as ort

    onnx_path, info_path = folder / f"{name}.onnx", folder / f"{name}.json"
    if not onnx_path.is_file() or not info_path.is_file():
        raise InputError(
            f"no judge named {name} in {folder}; make one with python -m training.evaluate "
            "--retrain-classifier (it becomes a new judge with its own name)"
        )
    info = json.loads(info_path.read_text())
    digest = _sha256(onnx_path)
    if digest != info.get("sha256"):
        raise GanimateError(
            f"judge {onnx_path} has sha256 {digest[:12]}..., its JSON says {str(info.get('sha256'))[:12]}..."
        )
    if dataset_sha256 is not None and dataset_sha256 != info.get("dataset_sha256"):
        raise InputError(
            f"judge {name} was trained on other data (dataset sha256 {info.get('dataset_sha256', '')[:12]}"
            f"..., this one is {dataset_sha256[:12]}...); pass --retrain-classifier for a judge of this data"
        )
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    session = ort.InferenceSession(str(onnx_path), opts, providers=["CPUExecutionProvider"])
    return Judge(name, digest, info, session)


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


def _to_onnx(model, shape: tuple[int, int, int]) -> bytes:
    """The classifier as ONNX with inputs `images` and outputs `features`, `probs` (dropout off)."""
    import tensorflow as tf
    import tf2onnx

    from training.onnx_passes import canonical_names

    signature = [tf.TensorSpec([None, *shape], tf.float32, name="images")]

    @tf.function(input_signature=signature)
    def judge(images):
        feats, probs = model(images, training=False)
        return {"features": tf.identity(feats, name="features"), "probs": tf.identity(probs, name="probs")}

    proto, _ = tf2onnx.convert.from_function(judge, input_signature=signature, opset=17)
    # tf2onnx names outputs after graph tensors, in the order of the sorted dict keys; rename them.
    renames = {out.name: want for out, want in zip(proto.graph.output, ["features", "probs"]) if out.name != want}
    for node in proto.graph.node:
        node.output[:] = [renames.get(o, o) for o in node.output]
        node.input[:] = [renames.get(i, i) for i in node.input]
    for out in proto.graph.output:
        out.name = renames.get(out.name, out.name)
    return canonical_names(proto).SerializeToString()  # the same weights always export to the same bytes


def train_judge(
    data, spec: str, name: str, folder: Path, epochs: int = JUDGE_EPOCHS, seed: int = JUDGE_SEED, verbose: bool = True
) -> Judge:
    """Train a classifier on `data`'s training part with a fixed seed, write `folder/name.onnx` + `.json`."""
    import keras

    from training.data import dataset_sha256

    if data.num_classes < 2:
        raise InputError(f"dataset {spec} has no class labels to train a judge on")
    keras.utils.set_random_seed(seed)
    model = build_classifier(data.image_shape, data.num_classes)
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss=[None, "sparse_categorical_crossentropy"],
        metrics=[[], ["accuracy"]],
    )
    started = time.perf_counter()
    model.fit(
        data.images,
        [np.zeros(len(data.images)), data.labels],
        batch_size=128,
        epochs=epochs,
        verbose=2 if verbose else 0,
        shuffle=True,
    )
    blob = _to_onnx(model, data.image_shape)
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:  # measure the file that ships, not the Keras model
        (Path(tmp) / f"{name}.onnx").write_bytes(blob)
        (Path(tmp) / f"{name}.json").write_text(
            json.dumps(
                {
                    "sha256": hashlib.sha256(blob).hexdigest(),
                    "validation_accuracy": 0.0,
                    "dataset": spec,
                    "dataset_sha256": "",
                    "epochs": epochs,
                    "seed": seed,
                }
            )
        )
        probe = load_judge(name, Path(tmp))
        accuracy = float((probe(data.val_images)[1].argmax(1) == data.val_labels).mean())
    info = {
        "name": name,
        "sha256": hashlib.sha256(blob).hexdigest(),
        "dataset": spec,
        "dataset_sha256": dataset_sha256(data),
        "train_images": int(len(data.images)),
        "validation_images": int(len(data.val_images)),
        "validation_accuracy": round(accuracy, 6),
        "epochs": epochs,
        "seed": seed,
        "train_s": round(time.perf_counter() - started, 1),
        "versions": {"keras": keras.__version__},
    }
    write_atomic(folder / f"{name}.onnx", blob)
    write_atomic(folder / f"{name}.json", (json.dumps(info, indent=2) + "\n").encode())
    return load_judge(name, folder)


def judge_for(data, spec: str, size: int, retrain: bool = False, verbose: bool = True) -> Judge:
    """The shipped judge of `spec` at `size` (checked against the data), or with `retrain` a new one in the cache,
    named `<spec>-<size>-<sha256[:12]>` so its figures can never pass for the shipped judge's."""
    from training.data import cache_root, dataset_sha256

    name = judge_name(spec, size)
    if not retrain:
        return load_judge(name, JUDGES_DIR, dataset_sha256(data))
    from training.tf_setup import import_tensorflow

    import_tensorflow()
    folder = cache_root() / "judges"
    fresh = train_judge(data, spec, name + "-new", folder, verbose=verbose)
    final = f"{name}-{fresh.sha256[:12]}"
    for suffix in (".onnx", ".json"):
        (folder / f"{name}-new{suffix}").replace(folder / f"{final}{suffix}")
    info = json.loads((folder / f"{final}.json").read_text())
    write_atomic(folder / f"{final}.json", (json.dumps({**info, "name": final}, indent=2) + "\n").encode())
    return load_judge(final, folder)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m training.judge",
        description=__doc__.splitlines()[0],
        epilog="example:\n  python -m training.judge --dataset mnist-sample",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--dataset", required=True, help="dataset spec, e.g. mnist-sample or mathart")
    p.add_argument("--image-size", type=int, default=None, help="image size (default: the dataset's own)")
    p.add_argument("--dataset-size", type=int, default=10000, help="mathart: how many images (default 10000)")
    p.add_argument("--epochs", type=int, default=JUDGE_EPOCHS, help=f"training epochs (default {JUDGE_EPOCHS})")
    p.add_argument("--out", default=str(JUDGES_DIR), help="folder for NAME.onnx and NAME.json")
    args = p.parse_args(argv)
    from training.data import DEFAULT_SIZES, dataset_kind, load_dataset
    from training.tf_setup import import_tensorflow

    import_tensorflow()
    try:
        size = args.image_size or DEFAULT_SIZES[dataset_kind(args.dataset)]
        data = load_dataset(args.dataset, size, args.dataset_size)
        judge = train_judge(data, args.dataset, judge_name(args.dataset, size), Path(args.out), args.epochs)
    except GanimateError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(
        f"judge {judge.name}: sha256 {judge.sha256[:12]}..., validation accuracy "
        f"{judge.info['validation_accuracy']:.4f}, {Path(args.out) / (judge.name + '.onnx')}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
