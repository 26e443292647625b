import keras
import numpy as np
import pytest

from training.networks import build_discriminator, build_encoder, build_generator


@pytest.mark.parametrize("size, channels", [(28, 1), (32, 3), (64, 3)])
def test_generator_and_discriminator_shapes(size, channels):
    g = build_generator(8, size, channels, num_classes=0, width=4)
    d = build_discriminator(size, channels, num_classes=0, width=4, spectral_norm=True)
    images = g.predict_on_batch(np.random.default_rng(0).normal(size=(3, 8)).astype("float32"))
    assert images.shape == (3, size, size, channels)
    assert images.min() >= -1.0 and images.max() <= 1.0
    assert d.predict_on_batch(images).shape == (3, 1)
    assert g.name == "generator" and d.name == "discriminator"


def test_conditional_generator_output_changes_with_soft_y():
    g = build_generator(8, 28, 1, num_classes=10, width=4)
    z = np.ones((2, 8), "float32")
    y_a = np.eye(10, dtype="float32")[[3, 3]]
    y_b = np.eye(10, dtype="float32")[[8, 8]]
    mix = 0.5 * y_a + 0.5 * y_b  # a soft one-hot is a valid input
    out_a, out_b, out_mix = (g.predict_on_batch([z, y]) for y in (y_a, y_b, mix))
    assert np.abs(out_a - out_b).max() > 1e-4
    assert not np.allclose(out_mix, out_a) and not np.allclose(out_mix, out_b)


def test_conditional_discriminator_and_encoder():
    d = build_discriminator(28, 1, num_classes=4, width=4)
    x = np.zeros((2, 28, 28, 1), "float32")
    y = np.eye(4, dtype="float32")[[0, 1]]
    assert d.predict_on_batch([x, y]).shape == (2, 1)
    mean, log_var = build_encoder(8, 28, 1, num_classes=4, width=4).predict_on_batch([x, y])
    assert mean.shape == log_var.shape == (2, 8)


def test_unsupported_size_is_refused():
    with pytest.raises(ValueError, match="image size"):
        build_generator(8, 48, 3)
    keras.backend.clear_session()
