"""Shared test setup: quiet TensorFlow, a per-session cache folder, tiny datasets."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import dataclasses
import shutil
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
# Debian's Chromium for the browser tests (driven by Playwright, no browser download). As root on an offline machine
# it needs no sandbox and none of its background network calls.
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """tests/artifacts/: screenshots for a person to look at (not checked in)."""
    path = REPO / "tests" / "artifacts"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _tiny_data(channels: int, classes: int):
    from training.data import Dataset

    rng = np.random.default_rng(0)
    images = rng.uniform(-1, 1, size=(16, 28, 28, channels)).astype(np.float32)
    labels = np.arange(16, dtype=np.int64) % max(classes, 1)
    names = [f"c{i}" for i in range(classes)]
    return Dataset("tiny", images, labels, names, images[:4], labels[:4], "random test data")


@pytest.fixture(scope="session")
def tiny_bundles(tmp_path_factory) -> dict[str, Path]:
    """Tiny random models (latent 8, 28x28) trained one step and exported: unconditional GAN, conditional GAN, VAE."""
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
        run_training(opts, data=_tiny_data(channels, classes), verbose=False)
        out[name] = export_run(root / "runs" / name, root / name)
    return out
