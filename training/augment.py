"""Differentiable augmentation (Zhao et al. 2020, "DiffAugment"): colour, translation and cutout.

Applied to both real and generated images before D, so gradients flow through it to G and the generator is
not pushed to reproduce the augmentation. Helps a lot when the dataset is small (the 4,500-digit MNIST sample).
"""

from __future__ import annotations

from collections.abc import Callable

import keras
import tensorflow as tf


def diff_augment(
    images: tf.Tensor, seed_generator: keras.random.SeedGenerator, translate: Callable | None = None
) -> tf.Tensor:
    """Random brightness, saturation, contrast, translation (1/8 of the side) and cutout (1/2 of the side).
    `translate(images, sx, sy)` moves the pixels (default `shift_pixels`; bench.train_speed passes the paper's
    gather to time the two)."""
    b = tf.shape(images)[0]
    size = images.shape[1]
    channels = images.shape[3]

    def uniform(shape, lo=0.0, hi=1.0):
        return keras.random.uniform(shape, lo, hi, seed=seed_generator)

    # 1. Colour, on [-1, 1] images.
    x = images + uniform((b, 1, 1, 1), -0.5, 0.5)
    if channels == 3:
        mean = tf.reduce_mean(x, axis=3, keepdims=True)
        x = (x - mean) * uniform((b, 1, 1, 1), 0.0, 2.0) + mean
    mean = tf.reduce_mean(x, axis=[1, 2, 3], keepdims=True)
    x = (x - mean) * uniform((b, 1, 1, 1), 0.5, 1.5) + mean

    # 2. Translation by up to size/8 pixels, zero outside.
    shift = size // 8
    sx = tf.cast(tf.floor(uniform((b, 1, 1), -shift, shift + 1)), tf.int32)
    sy = tf.cast(tf.floor(uniform((b, 1, 1), -shift, shift + 1)), tf.int32)
    x = (translate or shift_pixels)(x, sx, sy)
    grid_y, grid_x = tf.meshgrid(tf.range(size), tf.range(size), indexing="ij")

    # 3. Cutout: one square of half the side set to zero per image.
    half = size // 2
    cy = tf.cast(tf.floor(uniform((b, 1, 1), 0, size)), tf.int32)
    cx = tf.cast(tf.floor(uniform((b, 1, 1), 0, size)), tf.int32)
    inside = (tf.abs(grid_y[None] - cy) < half // 2) & (tf.abs(grid_x[None] - cx) < half // 2)
    return x * tf.cast(~inside, x.dtype)[..., None]


def shift_pixels(images: tf.Tensor, sx: tf.Tensor, sy: tf.Tensor) -> tf.Tensor:
    """images [b, h, w, c] moved by (sx, sy) pixels ([b, 1, 1] int32 each; output (i, j) reads input
    (i + sy, j + sx)), zero where that falls outside. A one-hot matrix product per sample on each axis: on a CPU
    the same pixels as the paper's gather (`tf.gather_nd`; a GPU that runs float32 products in TF32 rounds them),
    and its gradient is a matrix product too, where a gather's is a scatter-add (`python -m bench.train_speed`
    times both)."""
    height, width = images.shape[1], images.shape[2]
    rows = tf.cast(tf.equal(tf.range(height)[None, :, None] + sy, tf.range(height)[None, None, :]), images.dtype)
    cols = tf.cast(tf.equal(tf.range(width)[None, :, None] + sx, tf.range(width)[None, None, :]), images.dtype)
    moved = tf.einsum("bij,bjkc->bikc", rows, images)
    return tf.einsum("bkl,bilc->bikc", cols, moved)
