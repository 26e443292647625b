"""What an export is checked on: the fixed inputs it compares ONNX and Keras (or two ONNX graphs) with, and the
tolerances it holds them to."""

from __future__ import annotations

import numpy as np

from serving.latent.latents import one_hot, z_batch

PARITY_TOLERANCE = 1e-4
# A renderer model's images: Julia pixels next to the set's boundary and Clifford orbits are chaotic, and stretch the
# last-bit differences between TensorFlow's and onnxruntime's float arithmetic (fused multiply-adds, vector code)
# until a few pixels differ by more than any fixed tolerance (measured: 0.04% of Julia and 0.6% of Clifford pixels
# beyond 1e-3). The rest agree within 1e-3; the share is recorded in config.json and the card.
RENDERER_PARITY_TOLERANCE = 1e-3
IMAGE_PARITY_SHARE = 0.99
WORST_IMAGE_SHARE = 0.95
PARITY_SEEDS = 64


def parity_inputs(latent_dim: int, num_classes: int, count: int = PARITY_SEEDS):
    z = z_batch(list(range(count)), latent_dim)
    y = one_hot(np.arange(count) % num_classes, num_classes) if num_classes else None
    return z, y
