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


def test_class_norm_generator_gives_each_class_its_own_gain_and_shift():
    import numpy as np

    g = build_generator(8, 28, 1, num_classes=3, width=4, class_norm=True)
    names = {layer.name for layer in g.layers}
    assert {"up0_class_gain", "up0_class_shift", "up1_class_gain"} <= names
    gain = g.get_layer("up0_class_gain")
    kernel, bias = gain.get_weights()
    np.testing.assert_array_equal(kernel, 0) and np.testing.assert_array_equal(bias, 1)  # starts as plain BN
    gain.set_weights([np.random.default_rng(0).normal(size=kernel.shape).astype("float32"), bias])
    z = np.random.default_rng(1).normal(size=(1, 8)).astype("float32")
    a, b = (g([z, np.eye(3, dtype="float32")[[c]]], training=False).numpy() for c in (0, 1))
    mid = g([z, np.array([[0.5, 0.5, 0.0]], "float32")], training=False).numpy()
    assert not np.allclose(a, b) and mid.shape == (1, 28, 28, 1) and np.isfinite(mid).all()
