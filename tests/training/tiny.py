"""The one factory of random datasets for the training tests (imported by conftest and by the distributed-run
helper, which runs in a process of its own)."""

import numpy as np

from training.data import Dataset


def tiny_data(channels: int = 1, classes: int = 4, count: int = 16) -> Dataset:
    """`count` random 28x28 images in `classes` classes, with a 4-image validation and a 4-image test part of their
    own: enough to exercise every code path in seconds."""
    rng = np.random.default_rng(0)
    images = rng.uniform(-1, 1, size=(count + 8, 28, 28, channels)).astype(np.float32)
    labels = np.arange(count + 8, dtype=np.int64) % max(classes, 1)
    names = [f"c{i}" for i in range(classes)]
    return Dataset(
        "tiny",
        images[:count],
        labels[:count],
        names,
        images[count : count + 4],
        labels[count : count + 4],
        images[count + 4 :],
        labels[count + 4 :],
        "random test data",
    )
