"""Keras's Adam, with each variable's update done by TensorFlow's fused kernel.

Keras 3 writes Adam's update as about ten element-wise operations per variable, each a pass over the variable's
memory; TensorFlow's `ResourceApplyAdam` does the same update in one pass (the same formula: the bias
correction folded into the rate, epsilon added after the square root; Keras works out 1 - beta in float64 and
the kernel in float32, a difference in the last bits). For the digit GAN's 2.5 million weights
that is 7 ms against under 3 ms per step on two cores, about a twentieth of the step. The optimizer's variables
(iterations, momentums, velocities) are Keras's own, so checkpoints are the same either way.

The fused path is taken only where it is plainly the same update: float32 weights, dense gradients, no AMSGrad,
one replica (under several replicas Keras updates each replica's copy inside the strategy, which this leaves to
Keras). Everything else goes through Keras's own update.
"""

from __future__ import annotations

import keras
import tensorflow as tf


class FusedAdam(keras.optimizers.Adam):
    """`keras.optimizers.Adam` with the same arguments; see the module docstring for when it fuses."""

    def _fuses(self, gradient, variable) -> bool:
        return (
            not self.amsgrad
            and isinstance(gradient, tf.Tensor)
            and gradient.dtype == tf.float32
            and variable.dtype == tf.float32
            and tf.distribute.get_strategy().num_replicas_in_sync == 1
        )

    def update_step(self, gradient, variable, learning_rate):
        if not self._fuses(gradient, variable):
            return super().update_step(gradient, variable, learning_rate)
        index = self._get_variable_index(variable)
        local_step = tf.cast(self.iterations + 1, tf.float32)
        tf.raw_ops.ResourceApplyAdam(  # a tf.Variable and a Keras variable both expose their resource handle
            var=variable.handle,
            m=self._momentums[index].handle,
            v=self._velocities[index].handle,
            beta1_power=tf.pow(tf.constant(self.beta_1, tf.float32), local_step),
            beta2_power=tf.pow(tf.constant(self.beta_2, tf.float32), local_step),
            lr=tf.cast(learning_rate, tf.float32),
            beta1=tf.constant(self.beta_1, tf.float32),
            beta2=tf.constant(self.beta_2, tf.float32),
            epsilon=tf.constant(self.epsilon, tf.float32),
            grad=gradient,
        )
