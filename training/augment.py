"""Differentiable augmentation (Zhao et al. 2020, "DiffAugment"): colour, translation and cutout.

Applied to both real and generated images before D, so gradients flow through it to G and the generator is
not pushed to reproduce the augmentation. Helps a lot when the dataset is small (the 4,500-digit MNIST sample).
"""

from __future__ import annotations

import keras
import tensorflow as tf


def diff_augment(images: tf.Tensor, seed_generator: keras.random.SeedGenerator) -> tf.Tensor:
    """Random brightness, saturation, contrast, translation (1/8 of the side) and cutout (1/2 of the side)."""
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

    # 2. Translation by up to size/8 pixels, zero padded, via a per-sample gather.
    shift = size // 8
    sx = tf.cast(tf.floor(uniform((b, 1, 1), -shift, shift + 1)), tf.int32)
    sy = tf.cast(tf.floor(uniform((b, 1, 1), -shift, shift + 1)), tf.int32)
    grid_y, grid_x = tf.meshgrid(tf.range(size), tf.range(size), indexing="ij")
    ys = tf.clip_by_value(grid_y[None] + sy + shift, 0, size + 2 * shift - 1)
    xs = tf.clip_by_value(grid_x[None] + sx + shift, 0, size + 2 * shift - 1)
    padded = tf.pad(x, [[0, 0], [shift, shift], [shift, shift], [0, 0]])
    batch_idx = tf.broadcast_to(tf.range(b)[:, None, None], tf.shape(ys))
    x = tf.gather_nd(padded, tf.stack([batch_idx, ys, xs], axis=-1))

    # 3. Cutout: one square of half the side set to zero per image.
    half = size // 2
    cy = tf.cast(tf.floor(uniform((b, 1, 1), 0, size)), tf.int32)
    cx = tf.cast(tf.floor(uniform((b, 1, 1), 0, size)), tf.int32)
    inside = (tf.abs(grid_y[None] - cy) < half // 2) & (tf.abs(grid_x[None] - cx) < half // 2)
    return x * tf.cast(~inside, x.dtype)[..., None]
