"""DiffAugment's translation: the matrix-product shift moves exactly the pixels the paper's gather moves."""

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")


@pytest.mark.parametrize("channels", [1, 3])
def test_shift_pixels_equals_the_papers_gather(channels):
    from bench.train_speed import gather_shift
    from training.augment import shift_pixels

    rng = np.random.default_rng(0)
    images = tf.constant(rng.normal(size=(9, 16, 16, channels)).astype(np.float32))
    shifts = [-2, -1, 0, 1, 2, 2, -2, 1, 0]
    sx = tf.constant(np.array(shifts, np.int32).reshape(9, 1, 1))
    sy = tf.constant(np.array(shifts[::-1], np.int32).reshape(9, 1, 1))
    ours, papers = shift_pixels(images, sx, sy).numpy(), gather_shift(images, sx, sy).numpy()
    np.testing.assert_array_equal(ours, papers)
    # and it moves: sample 0 (sx -2, sy 0) reads column j - 2, so it moves 2 right and its first two columns are 0
    assert np.all(ours[0, :, :2] == 0) and np.array_equal(ours[0, :, 2:], images.numpy()[0, :, :-2])


def test_shift_pixels_gradient_equals_the_gathers():
    """The gradient is why the matrix form exists: it must be the gather's, exactly (each pixel is read once)."""
    from bench.train_speed import gather_shift
    from training.augment import shift_pixels

    rng = np.random.default_rng(1)
    images = tf.constant(rng.normal(size=(6, 16, 16, 1)).astype(np.float32))
    weights = tf.constant(rng.normal(size=(6, 16, 16, 1)).astype(np.float32))
    sx = tf.constant(np.array([-2, -1, 0, 1, 2, 2], np.int32).reshape(6, 1, 1))
    sy = tf.constant(np.array([2, 0, -1, 1, -2, 0], np.int32).reshape(6, 1, 1))
    grads = []
    for shift in (shift_pixels, gather_shift):
        with tf.GradientTape() as tape:
            tape.watch(images)
            loss = tf.reduce_sum(shift(images, sx, sy) * weights)
        grads.append(tape.gradient(loss, images).numpy())
    np.testing.assert_array_equal(grads[0], grads[1])
    assert np.count_nonzero(grads[0]) > 0.6 * grads[0].size  # the pixels that stay in view get a gradient
