"""Two models, one walk: the same recipe (seeds, classes, path, timing) rendered by two bundles side by side.

This is how a GAN and a VAE (or two checkpoints) are compared fairly: the same seeds give each model its own z of
its own size, the same classes give the same one-hot y, and both walk the same path with the same easing. The
two halves are joined into one animation, with each model's name above its half, so they stay in sync. A model
compared with itself is shown beside itself at a tamer truncation (`tamer_truncation`): two identical halves
would show nothing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np

from serving.bundle.generator import Generator
from serving.errors import InputError
from serving.rendering.budget import CLI, Budget
from serving.rendering.budget import check as budget_check
from serving.rendering.cost import check_time
from serving.rendering.recipe import Recipe
from serving.rendering.render import encode, render_frames, validate

GAP = 8  # pixels between the two halves
LABEL_HEIGHT = 18  # the strip above each half that names its model


def check_comparable(a: Generator, b: Generator) -> None:
    """Refuse two models that cannot share a recipe: their classes must be the same, in the same order."""
    names_a, names_b = list(a.config.class_names), list(b.config.class_names)
    if names_a != names_b:

        def show(names: list[str]) -> str:
            return ", ".join(names) if names else "none (unconditional)"

        raise InputError(
            f"cannot compare {a.config.name} (classes: {show(names_a)}) with {b.config.name} "
            f"(classes: {show(names_b)}): the two models must draw the same classes"
        )


def _label_strip(text: str, width: int, channels: int) -> np.ndarray:
    """A black strip with `text` in white, [LABEL_HEIGHT, width, channels] uint8 (PIL's built-in font)."""
    from PIL import Image, ImageDraw

    strip = Image.new("L", (width, LABEL_HEIGHT), 0)
    ImageDraw.Draw(strip).text((4, 3), text[: max(1, width // 6)], fill=255)
    out = np.asarray(strip)[..., None]
    return np.repeat(out, channels, axis=2) if channels == 3 else out


def tamer_truncation(psi: float) -> float:
    """The right half's truncation when a model is compared with itself: half of the left's (1.0 beside 0)."""
    return round(psi / 2, 4) if psi > 0 else 1.0


def compare_recipe(a: Generator, b: Generator, recipe: Recipe) -> Recipe:
    """The recipe a comparison's file carries: the walk, and the two models (name, sha256) instead of one bundle."""
    models = ((a.config.name, a.config.sha256), (b.config.name, b.config.sha256))
    return dataclasses.replace(recipe, bundle="", bundle_sha256="", models=models)


def check_models(a: Generator, b: Generator, recipe: Recipe, any_bundle: bool = False) -> None:
    """Refuse a Compare recipe given two other models than the ones it names (unless `any_bundle`), and a recipe
    that names one model (that is Animate's)."""
    if recipe.models is None:
        if recipe.bundle_sha256 or recipe.bundle:
            raise InputError(
                f"this recipe names one model ({recipe.bundle or recipe.bundle_sha256[:12] + '...'}): render it with "
                "`python -m serving render --recipe FILE`; a comparison's recipe names two models"
            )
        return
    if any_bundle:
        return
    for side, gen, (name, sha) in zip(("left", "right"), (a, b), recipe.models):
        if gen.config.sha256 != sha:
            raise InputError(
                f"the {side} model of this recipe is {name} (sha256 {sha[:12]}...), not {gen.config.name} "
                f"(sha256 {gen.config.sha256[:12]}...): give that bundle, or pass --any-bundle (any_bundle=True)"
            )


def halves_of(a: Generator, b: Generator, recipe: Recipe) -> list[tuple[str, Recipe]]:
    """(label, recipe) of the left and right halves."""
    recipe = dataclasses.replace(recipe, models=None, bundle="")
    left = dataclasses.replace(recipe, bundle_sha256=a.config.sha256)
    if a.config.sha256 == b.config.sha256:  # the same model: beside itself at a tamer truncation
        tamer = dataclasses.replace(left, truncation=tamer_truncation(recipe.truncation))
        return [
            (f"{a.config.name} psi {left.truncation:g}", left),
            (f"{b.config.name} psi {tamer.truncation:g}", tamer),
        ]
    return [(a.config.name, left), (b.config.name, dataclasses.replace(recipe, bundle_sha256=b.config.sha256))]


def compare_seconds(a: Generator, b: Generator, recipe: Recipe) -> float:
    """About how many seconds the side-by-side animation takes here (serving.rendering.cost), before any work."""
    from serving.rendering.cost import estimate

    h, w = recipe.output_shape()
    images = recipe.frame_total() * recipe.grid[0] * recipe.grid[1]
    return estimate(
        [(a, images), (b, images)], recipe.frame_total() * (h + LABEL_HEIGHT) * (2 * w + GAP), recipe.format
    )


def compare_frames(
    a: Generator,
    b: Generator,
    recipe: Recipe,
    budget: Budget = CLI,
    progress: Callable[[int, int], None] | None = None,
    any_bundle: bool = False,
) -> np.ndarray:
    """uint8 frames [n, LABEL_HEIGHT + h, 2w + GAP, c]: model a on the left, model b on the right.
    `progress(done, total)`: called as each half's frames are made. A Compare recipe naming two other models is
    refused unless `any_bundle`."""
    check_comparable(a, b)
    check_models(a, b, recipe, any_bundle)
    validate(recipe, a.config.latent_dim, a.config.num_classes, budget)
    h, w = recipe.output_shape()
    # The whole side-by-side animation must fit the budget, not each half alone.
    budget_check(
        recipe.frame_total(), 2 * recipe.grid[0] * recipe.grid[1], h + LABEL_HEIGHT, 2 * w + GAP, recipe.format, budget
    )
    images = recipe.frame_total() * recipe.grid[0] * recipe.grid[1]
    check_time(
        [(a, images), (b, images)], recipe.frame_total() * (h + LABEL_HEIGHT) * (2 * w + GAP), recipe.format, budget
    )  # both halves and the encoder together
    labelled = halves_of(a, b, recipe)
    halves = [render_frames(g, r, budget, progress=progress) for g, (_, r) in zip((a, b), labelled)]
    channels = max(f.shape[3] for f in halves)
    halves = [np.repeat(f, 3, axis=3) if f.shape[3] < channels else f for f in halves]
    n = halves[0].shape[0]
    out = np.zeros((n, LABEL_HEIGHT + h, 2 * w + GAP, channels), dtype=np.uint8)
    for i, ((label, _), frames) in enumerate(zip(labelled, halves)):
        left = i * (w + GAP)
        out[:, :LABEL_HEIGHT, left : left + w] = _label_strip(label, w, channels)
        out[:, LABEL_HEIGHT:, left : left + w] = frames
    return out


def render_compare(
    a: Generator,
    b: Generator,
    recipe: Recipe,
    budget: Budget = CLI,
    progress: Callable[[int, int], None] | None = None,
    any_bundle: bool = False,
) -> bytes:
    """The encoded side-by-side animation, carrying its Compare recipe (`compare_recipe`: both models named), so
    the file alone renders it again: byte-identical for the same two bundles and recipe."""
    frames = compare_frames(a, b, recipe, budget, progress, any_bundle)
    return encode(frames, recipe.format, recipe.fps, recipe.loop, compare_recipe(a, b, recipe).to_json())
