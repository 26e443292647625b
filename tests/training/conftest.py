import dataclasses
from pathlib import Path

import pytest

from tests.training.tiny import tiny_data
from training.data import Dataset


@pytest.fixture
def tiny_mnist_like() -> Dataset:
    """32 random 28x28x1 'digits' in 4 classes."""
    return tiny_data(1, 4, 32)


@pytest.fixture(autouse=True)
def _cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("GANIMATE_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))


@pytest.fixture(scope="session")
def trained_bundles(tmp_path_factory) -> dict[str, Path]:
    """Tiny random Keras models (latent 8, 28x28) trained one step and exported: unconditional GAN, conditional GAN, VAE."""
    from training.export import export_run
    from training.options import TrainOptions
    from training.train import run_training

    root = tmp_path_factory.mktemp("bundles")
    base = TrainOptions(latent_dim=8, width=2, batch_size=8, epochs=1, max_steps=1, log_every=1, sample_every=100)
    specs = {
        "gan": (dataclasses.replace(base), 1, 0),
        "cgan": (dataclasses.replace(base, conditional=True), 1, 4),
        "vae": (dataclasses.replace(base, model="vae", conditional=True), 3, 3),
    }
    out = {}
    for name, (opts, channels, classes) in specs.items():
        opts = dataclasses.replace(opts, out=str(root / "runs" / name))
        run_training(opts, data=tiny_data(channels, classes), verbose=False)
        out[name] = export_run(root / "runs" / name, root / name)
    return out
