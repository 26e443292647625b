"""DCGAN generator and discriminator (and the VAE encoder) as separate, named Keras models.

Sizes 28x28 (7 -> 14 -> 28), 32x32 (4 -> 8 -> 16 -> 32) and 64x64 (4 -> ... -> 64) are chosen from the image
size. The conditional generator concatenates `z` with an embedding of a soft one-hot `y`: the embedding is
linear, so a mixture of two one-hots is a point between the two classes, which is what class morphs draw.
The conditional discriminator uses a projection head (Miyato & Koyama 2018), optionally with an auxiliary
classifier head (AC-GAN, Odena et al. 2017) that makes the generator pay for drawing the wrong class.
"""

from __future__ import annotations

import keras
from keras import layers

_STAGES = {28: 2, 32: 3, 64: 4}  # upsampling stages; the start resolution is size / 2**stages (7 or 4)


def _plan(image_size: int, width: int) -> tuple[int, list[int]]:
    """Starting resolution and the channel count of each stage (halving as resolution doubles)."""
    if image_size not in _STAGES:
        raise ValueError(f"image size must be one of {sorted(_STAGES)}, got {image_size}")
    stages = _STAGES[image_size]
    return image_size // 2**stages, [width * 2 ** (stages - i) for i in range(stages + 1)]


def build_generator(
    latent_dim: int,
    image_size: int,
    channels: int,
    num_classes: int = 0,
    width: int = 64,
    name: str = "generator",
    synchronized: bool = False,
    class_norm: bool = False,
) -> keras.Model:
    """z [b, latent_dim] (+ y [b, num_classes]) -> images [b, size, size, channels] in [-1, 1] (tanh).
    `synchronized`: batch norm statistics over the global batch when training on several replicas (the weights
    are the same either way). `class_norm`: class-conditional batch norm in the upsampling stages (each class
    its own gain and shift, linear in y so class mixtures blend them), so the class steers every layer, not
    only the input."""
    base, chans = _plan(image_size, width)
    z = keras.Input((latent_dim,), name="z")
    inputs = [z]
    h = z
    if num_classes:
        y = keras.Input((num_classes,), name="y")
        inputs.append(y)
        h = layers.Concatenate(name="zy")([z, layers.Dense(latent_dim, use_bias=False, name="y_embed")(y)])
    h = layers.Dense(base * base * chans[0], use_bias=False, name="project")(h)
    h = layers.BatchNormalization(name="project_bn", synchronized=synchronized)(h)
    h = layers.ReLU()(h)
    h = layers.Reshape((base, base, chans[0]))(h)
    for i, ch in enumerate(chans[1:]):
        h = layers.Conv2DTranspose(ch, 4, strides=2, padding="same", use_bias=False, name=f"up{i}")(h)
        if num_classes and class_norm:
            h = layers.BatchNormalization(name=f"up{i}_bn", synchronized=synchronized, center=False, scale=False)(h)
            gain = layers.Dense(ch, kernel_initializer="zeros", bias_initializer="ones", name=f"up{i}_class_gain")(y)
            shift = layers.Dense(ch, kernel_initializer="zeros", name=f"up{i}_class_shift")(y)
            h = layers.Multiply(name=f"up{i}_class_scale")([h, layers.Reshape((1, 1, ch))(gain)])
            h = layers.Add(name=f"up{i}_class_add")([h, layers.Reshape((1, 1, ch))(shift)])
        else:
            h = layers.BatchNormalization(name=f"up{i}_bn", synchronized=synchronized)(h)
        h = layers.ReLU()(h)
    out = layers.Conv2D(channels, 3, padding="same", activation="tanh", dtype="float32", name="to_image")(h)
    return keras.Model(inputs, out, name=name)


def _maybe_sn(layer: layers.Layer, spectral_norm: bool) -> layers.Layer:
    return layers.SpectralNormalization(layer, name=f"sn_{layer.name}") if spectral_norm else layer


def _conv_trunk(x, image_size: int, width: int, spectral_norm: bool, prefix: str):
    """Strided 4x4 convolutions down to the generator's starting resolution, LeakyReLU, no batch norm
    (batch norm in D breaks the per-sample gradient penalty of WGAN-GP)."""
    _, chans = _plan(image_size, width)
    h = x
    for i, ch in enumerate(reversed(chans[1:])):
        h = _maybe_sn(layers.Conv2D(ch, 4, strides=2, padding="same", name=f"{prefix}down{i}"), spectral_norm)(h)
        h = layers.LeakyReLU(0.2)(h)
    return layers.Flatten()(h)


def build_discriminator(
    image_size: int,
    channels: int,
    num_classes: int = 0,
    width: int = 64,
    spectral_norm: bool = False,
    class_head: bool = False,
    name: str = "discriminator",
) -> keras.Model:
    """images (+ y) -> one logit per image (real > 0); with `class_head`, also class logits [b, num_classes]
    (the auxiliary classifier of AC-GAN, read from the same features as the real/fake score)."""
    x = keras.Input((image_size, image_size, channels), name="images")
    inputs = [x]
    features = _conv_trunk(x, image_size, width, spectral_norm, "d_")
    logit = _maybe_sn(layers.Dense(1, name="logit"), spectral_norm)(features)
    if num_classes:
        y = keras.Input((num_classes,), name="y")
        inputs.append(y)
        # Projection: <embed(y), phi(x)> adds a class-specific direction to the score.
        embed = _maybe_sn(layers.Dense(features.shape[-1], use_bias=False, name="y_project"), spectral_norm)(y)
        proj = layers.Dot(axes=1, name="projection")([embed, features])
        logit = layers.Add(name="logit_plus_projection")([logit, proj])
        if class_head:
            return keras.Model(inputs, [logit, layers.Dense(num_classes, name="class_logits")(features)], name=name)
    return keras.Model(inputs, logit, name=name)


def build_encoder(
    latent_dim: int, image_size: int, channels: int, num_classes: int = 0, width: int = 64, name: str = "encoder"
) -> keras.Model:
    """VAE encoder: images (+ y) -> (mean, log_var), each [b, latent_dim]."""
    x = keras.Input((image_size, image_size, channels), name="images")
    inputs = [x]
    h = _conv_trunk(x, image_size, width, False, "e_")
    if num_classes:
        y = keras.Input((num_classes,), name="y")
        inputs.append(y)
        h = layers.Concatenate()([h, y])
    h = layers.Dense(256, activation="relu", name="hidden")(h)
    mean = layers.Dense(latent_dim, name="mean")(h)
    log_var = layers.Dense(latent_dim, name="log_var")(h)
    return keras.Model(inputs, [mean, log_var], name=name)
