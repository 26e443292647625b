"""Build a GAN or VAE from TrainOptions: one place, shared by training and export."""

from __future__ import annotations

import keras

from training.gan import GAN
from training.networks import build_discriminator, build_encoder, build_generator
from training.options import TrainOptions
from training.vae import VAE


def build_model(
    opts: TrainOptions, channels: int, num_classes: int, for_export: bool = False, total_steps: int | None = None
) -> GAN | VAE:
    """Networks, wrapper model and optimizers for a run (call inside the distribution strategy's scope).
    `for_export` builds in float32 whatever the run's precision: the weights are float32 either way, and the
    exported graph must be. `total_steps` is the run's length, which --lr-decay counts its share of."""
    policy = "float32" if for_export else opts.precision
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(policy)  # layers keep the policy they were built with
    try:
        return _build(opts, channels, num_classes, for_export, total_steps)
    finally:
        keras.mixed_precision.set_global_policy(previous)


class LinearTail(keras.optimizers.schedules.LearningRateSchedule):
    """`rate` until `start`, then a straight line to 0 at `end`: a GAN's iterates circle the equilibrium at a
    radius that grows with the step size, so shrinking it at the end lands them nearer (as SN-GAN's recipe does)."""

    def __init__(self, rate: float, start: int, end: int) -> None:
        self.rate, self.start, self.end = float(rate), int(start), int(end)

    def __call__(self, step):
        left = (float(self.end) - keras.ops.cast(step, "float32")) / float(max(self.end - self.start, 1))
        return self.rate * keras.ops.clip(left, 0.0, 1.0)

    def get_config(self) -> dict:
        return {"rate": self.rate, "start": self.start, "end": self.end}


def learning_rate(rate: float, decay: float, total_steps: int | None) -> float | LinearTail:
    """A constant rate, or one that falls to 0 over the last `decay` share of `total_steps` (--lr-decay)."""
    if not decay or not total_steps:
        return rate
    return LinearTail(rate, round(total_steps * (1.0 - decay)), total_steps)


def resolved_microbatches(opts: TrainOptions) -> int:
    """opts.resolved_microbatches() for the devices TensorFlow sees here."""
    import tensorflow as tf

    return opts.resolved_microbatches(len(tf.config.list_physical_devices("GPU")))


def _build(opts: TrainOptions, channels: int, num_classes: int, for_export: bool, total_steps: int | None) -> GAN | VAE:
    size, width = opts.resolved_image_size(), opts.resolved_width()
    classes = num_classes if opts.conditional else 0
    keras.utils.set_random_seed(opts.seed)  # initial weights depend on the seed alone
    if opts.model == "vae":
        decoder = build_generator(
            opts.latent_dim, size, channels, classes, width, name="decoder", class_norm=opts.resolved_class_norm()
        )
        encoder = build_encoder(opts.latent_dim, size, channels, classes, width)
        model = VAE(encoder, decoder, opts.latent_dim, classes, seed=opts.seed)
        model.compile(keras.optimizers.Adam(opts.lr, beta_1=opts.beta1, beta_2=opts.beta2))
        return model
    if opts.model == "params":
        from training.params_networks import build_param_discriminator, build_param_generator

        generator = build_param_generator(opts.latent_dim, classes, width)
        discriminator = build_param_discriminator(classes, width, opts.spectral_norm)
    else:
        import tensorflow as tf

        replicas = 1 if for_export else tf.distribute.get_strategy().num_replicas_in_sync
        generator = build_generator(
            opts.latent_dim,
            size,
            channels,
            classes,
            width,
            synchronized=replicas > 1,
            class_norm=opts.resolved_class_norm(),
        )
        discriminator = build_discriminator(
            size,
            channels,
            classes,
            width,
            opts.spectral_norm,
            class_head=bool(classes) and opts.resolved_class_weight() > 0,
        )
    model = GAN(
        generator,
        discriminator,
        opts.latent_dim,
        classes,
        loss=opts.loss,
        label_smoothing=opts.label_smoothing,
        ema_decay=opts.ema,
        augment=opts.augment,
        class_weight=opts.resolved_class_weight() if classes else 0.0,
        class_loss=opts.class_loss,
        updates=opts.updates,
        microbatches=resolved_microbatches(opts),
        seed=opts.seed,
    )
    model.compile(
        g_optimizer=keras.optimizers.Adam(
            learning_rate(opts.lr, opts.lr_decay, total_steps), beta_1=opts.beta1, beta_2=opts.beta2
        ),
        d_optimizer=keras.optimizers.Adam(
            learning_rate(opts.d_lr or opts.lr, opts.lr_decay, total_steps), beta_1=opts.beta1, beta_2=opts.beta2
        ),
    )
    return model
