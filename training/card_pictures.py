"""The card's pictures, drawn by the exported model.onnx (never by Keras, so they show what a downloader gets):
samples.png, interpolation.gif and, for a class-conditional image model, morph.gif."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from serving.bundle.config import GeneratorConfig
from serving.bundle.generator import Generator
from serving.files.grid import sample_sheet
from serving.rendering.recipe import Recipe
from serving.rendering.render import render

CARD_RECIPE = dict(seeds=(0, 1, 2, 3), path="cubic", frames=16, size=256, fps=20, loop=True)
PARAMS_CARD_CLASSES = (1, 1, 2, 2)
# A class morph at one fixed z (3 -> 8 -> 3 on MNIST): strokes should bend from one digit into the other.
MORPH_RECIPE = dict(seeds=(7,), path="lerp", easing="ease-in-out", frames=24, size=128, fps=24, loop=True)


def write_card_pictures(bundle: Path, config: GeneratorConfig) -> None:
    """samples.png, interpolation.gif and (class-conditional image models only) morph.gif, into the bundle."""
    generator = Generator.from_pretrained(bundle)
    draws = "params" in config.outputs

    def generate(z: np.ndarray, y: np.ndarray | None) -> np.ndarray:
        return _sheet_images(generator, z, y, draws)

    sample_sheet(generate, config.latent_dim, list(config.class_names)).save(bundle / "samples.png")
    recipe = Recipe(**CARD_RECIPE, classes=_interpolation_classes(config, draws), bundle_sha256=config.sha256)
    (bundle / "interpolation.gif").write_bytes(render(generator, recipe))
    if config.conditional and not draws:
        morph = Recipe(
            **MORPH_RECIPE, classes=tuple(c % config.num_classes for c in (3, 8)), bundle_sha256=config.sha256
        )
        (bundle / "morph.gif").write_bytes(render(generator, morph))


def _sheet_images(generator: Generator, z: np.ndarray, y: np.ndarray | None, draws: bool) -> np.ndarray:
    """uint8 images for the sample sheet."""
    images = generator(z, y)
    if draws:  # 256x256 drawings: the sheet shows them at half size (a 2x2 box filter) to stay light
        n, h, w, c = images.shape
        images = images.reshape(n, h // 2, 2, w // 2, 2, c).mean(axis=(2, 4)).round().astype(np.uint8)
    return images


def _interpolation_classes(config: GeneratorConfig, draws: bool) -> tuple[int, ...] | None:
    """The classes of interpolation.gif's four keyframes (None for an unconditional model)."""
    if draws:  # a rose that morphs, a fade through the background, a spirograph that morphs
        return PARAMS_CARD_CLASSES
    return tuple(c % config.num_classes for c in (3, 8, 0, 5)) if config.conditional else None
