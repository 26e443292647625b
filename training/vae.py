"""`VAE(keras.Model)`: encoder -> reparameterised z -> decoder, trained on reconstruction + KL.

The decoder is built by `build_generator`, so it takes `z` (and `y` when conditional) and outputs tanh images:
it exports under the same ONNX contract as a GAN generator.
"""

from __future__ import annotations

import keras
import tensorflow as tf


class VAE(keras.Model):
    def __init__(
        self,
        encoder: keras.Model,
        decoder: keras.Model,
        latent_dim: int,
        num_classes: int = 0,
        beta: float = 1.0,
        seed: int = 0,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self.encoder = encoder
        self.decoder = decoder
        self.latent_dim = latent_dim
        self.num_classes = num_classes
        self.beta = beta
        self.seed_generator = keras.random.SeedGenerator(seed)

    def compile(self, optimizer: keras.optimizers.Optimizer, **kwargs):
        super().compile(**kwargs)
        self.vae_optimizer = optimizer
        self.vae_optimizer.build(self.encoder.trainable_variables + self.decoder.trainable_variables)
        self.trackers = {name: keras.metrics.Mean(name=name) for name in ("loss", "recon_loss", "kl_loss")}

    @property
    def metrics(self):
        return list(self.trackers.values())

    @property
    def sampling_generator(self) -> keras.Model:
        return self.decoder

    def _vae_losses(self, images, y, training: bool):
        enc_in = [images, y] if self.num_classes else images
        mean, log_var = (
            tf.cast(t, tf.float32) for t in self.encoder(enc_in, training=training)
        )  # bf16 under mixed precision
        eps = keras.random.normal(tf.shape(mean), seed=self.seed_generator)
        z = mean + tf.exp(0.5 * log_var) * eps
        recon = self.decoder([z, y] if self.num_classes else z, training=training)
        # Bernoulli likelihood on [0, 1] pixels, summed per image: the usual choice for MNIST-like data.
        target = (images + 1.0) / 2.0
        p = tf.clip_by_value((recon + 1.0) / 2.0, 1e-6, 1.0 - 1e-6)
        bce = -(target * tf.math.log(p) + (1.0 - target) * tf.math.log(1.0 - p))
        recon_loss = tf.reduce_mean(tf.reduce_sum(bce, axis=[1, 2, 3]))
        kl = -0.5 * tf.reduce_sum(1.0 + log_var - tf.square(mean) - tf.exp(log_var), axis=1)
        kl_loss = tf.reduce_mean(kl)
        return recon_loss + self.beta * kl_loss, recon_loss, kl_loss

    def train_step(self, data):
        images, labels = data
        y = tf.one_hot(labels, self.num_classes) if self.num_classes else None
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        variables = self.encoder.trainable_variables + self.decoder.trainable_variables
        with tf.GradientTape() as tape:
            loss, recon_loss, kl_loss = self._vae_losses(images, y, training=True)
            scaled = loss / replicas
        grads = tape.gradient(scaled, variables)
        self.vae_optimizer.apply_gradients(zip(grads, variables))
        values = {"loss": loss, "recon_loss": recon_loss, "kl_loss": kl_loss}
        for name, value in values.items():
            self.trackers[name].update_state(value)
        return values

    def state_variables(self) -> dict:
        """Every variable a checkpoint must hold to resume exactly, keyed by path."""
        from training.checkpoint import keyed

        return keyed(
            {
                "encoder": self.encoder.weights,
                "decoder": self.decoder.weights,
                "optimizer": self.vae_optimizer,
                "state": {"rng": self.seed_generator.state},
            }
        )
