"""FusedAdam makes Keras Adam's update with TensorFlow's fused kernel: the same weights and optimizer state, step
after step, and the fused kernel is really what runs."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from training.build import LinearTail
from training.fused_adam import FusedAdam


def _train(optimizer_class, beta_1: float, steps: int = 6, **kwargs):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(7, activation="tanh"), keras.layers.Dense(3)])
    optimizer = optimizer_class(LinearTail(1e-2, 2, steps), beta_1=beta_1, beta_2=0.9, **kwargs)
    x = tf.random.normal((16, 5), seed=1)

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(model(x) - 1.0))
        optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))

    start = [v.numpy() for v in model.weights]
    for _ in range(steps):
        step()
    graph = step.get_concrete_function().graph.as_graph_def()
    ops = {node.op for node in graph.node} | {n.op for f in graph.library.function for n in f.node_def}
    return [v.numpy() for v in model.weights + optimizer.variables], ops, start


@pytest.mark.parametrize("beta_1", [0.0, 0.5])
def test_fused_adam_makes_keras_adams_steps(beta_1):
    fused, fused_ops, start = _train(FusedAdam, beta_1)
    plain, plain_ops, _ = _train(keras.optimizers.Adam, beta_1)
    assert "ResourceApplyAdam" in fused_ops and "ResourceApplyAdam" not in plain_ops
    assert len(fused) == len(plain)
    for a, b in zip(fused, plain):
        np.testing.assert_allclose(a, b, rtol=2e-5, atol=1e-7)
    assert any(not np.allclose(a, b) for a, b in zip(fused, start))  # it did train


def test_amsgrad_is_left_to_keras():
    fused, ops, _ = _train(FusedAdam, 0.5, amsgrad=True)
    plain, _, _ = _train(keras.optimizers.Adam, 0.5, amsgrad=True)
    assert "ResourceApplyAdam" not in ops
    for a, b in zip(fused, plain):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-8)
