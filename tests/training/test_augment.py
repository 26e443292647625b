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
