"""Generator and discriminator of the parameter GAN (`--model params`): MLPs over math-art parameter vectors.

The generator maps (z, family) to a vector in [-1, 1] per slot (tanh); export maps it affinely onto the
documented ranges (`serving.art.mathart.PARAMS`) and draws it with the graph renderer. The discriminator sees only
the slots the family reads (the palette and its own shape values): slots a family ignores carry no information,
and letting D look at them would only teach G to copy the dataset's filler values.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import layers

from serving.art import mathart
from training.networks import _maybe_sn


def family_masks() -> np.ndarray:
    """[families, P]: 1 where a family reads a slot."""
    return np.stack([mathart.family_mask(i) for i in range(len(mathart.FAMILIES))]).astype(np.float32)


def build_param_generator(latent_dim: int, num_classes: int, width: int = 256, name: str = "generator") -> keras.Model:
    """z [b, latent_dim], y [b, families] (soft one-hot) -> unit parameters [b, P] in [-1, 1]."""
    z = keras.Input((latent_dim,), name="z")
    y = keras.Input((num_classes,), name="y")
    h = layers.Concatenate(name="zy")([z, layers.Dense(latent_dim, use_bias=False, name="y_embed")(y)])
    for i in range(3):
        h = layers.Dense(width, name=f"hidden{i}")(h)
        h = layers.LeakyReLU(0.2)(h)
    out = layers.Dense(len(mathart.PARAMS), activation="tanh", dtype="float32", name="to_params")(h)
    return keras.Model([z, y], out, name=name)


def build_param_discriminator(
    num_classes: int, width: int = 256, spectral_norm: bool = True, name: str = "discriminator"
) -> keras.Model:
    """unit parameters [b, P], y [b, families] -> one logit per vector, with a projection head on the family."""
    x = keras.Input((len(mathart.PARAMS),), name="images")
    y = keras.Input((num_classes,), name="y")
    # y @ masks: which slots this row's family reads (fixed, not trained).
    mask_layer = layers.Dense(len(mathart.PARAMS), use_bias=False, trainable=False, name="family_slots")
    mask = mask_layer(y)
    mask_layer.set_weights([family_masks()])
    h = layers.Multiply(name="masked")([x, mask])
    for i in range(3):
        h = _maybe_sn(layers.Dense(width, name=f"d_hidden{i}"), spectral_norm)(h)
        h = layers.LeakyReLU(0.2)(h)
    logit = _maybe_sn(layers.Dense(1, name="logit"), spectral_norm)(h)
    embed = _maybe_sn(layers.Dense(width, use_bias=False, name="y_project"), spectral_norm)(y)
    proj = layers.Dot(axes=1, name="projection")([embed, h])
    return keras.Model([x, y], layers.Add(name="logit_plus_projection")([logit, proj]), name=name)
