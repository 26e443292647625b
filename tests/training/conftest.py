import numpy as np
import pytest

from training.data import Dataset


@pytest.fixture
def tiny_mnist_like() -> Dataset:
    """32 random 28x28x1 'digits' in 4 classes: enough to exercise every code path in seconds."""
    rng = np.random.default_rng(0)
    images = rng.uniform(-1, 1, size=(32, 28, 28, 1)).astype(np.float32)
    labels = np.arange(32, dtype=np.int64) % 4
    return Dataset("tiny", images, labels, ["a", "b", "c", "d"], images[:8], labels[:8], "random test data")


@pytest.fixture(autouse=True)
def _cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("GANIMATE_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))
