"""Figures about how a bundle is seen and walked: the pictures the classifier judges, acceptance, frame jumps.

A pixel generator is judged on its own images. A parameter generator (a `params` output) is judged on its
parameters drawn by the numpy renderer at the size its pixel dataset has (`mathart`, 64x64): the same renderer,
size and classifier as the real data, so the figures measure the parameters it invents and nothing else (the
graph renderer inside model.onnx is held to the numpy one by a test, within 2/255 on 99% of pixels).
"""

from __future__ import annotations

import numpy as np

from serving.bundle.generator import Generator
from serving.rendering.recipe import Recipe
from serving.rendering.render import render_frames

PARAMS_EVAL_SIZE = 64
WALKS = 10  # conditional models: half keep one class, half morph (each seed's own class)
WALK_SEED_BASE = 3_100_000_000


def walk_seeds() -> list[int]:
    """The keyframe seeds of every walk, in order: WALKS walks of 4 keyframes."""
    return [WALK_SEED_BASE + i for i in range(4 * WALKS)]


def is_params_model(gen: Generator) -> bool:
    return "params" in gen.config.outputs


def classifier_dataset(gen: Generator, spec: str) -> tuple[str, int | None]:
    """(dataset spec, image size) the domain classifier is trained on for this bundle."""
    if is_params_model(gen):
        return "mathart" if spec == "mathart-params" else spec, PARAMS_EVAL_SIZE
    return spec, gen.config.image_size[0]


def pictures(gen: Generator, z: np.ndarray, y: np.ndarray | None) -> np.ndarray:
    """What the classifier sees for inputs z, y: images in [-1, 1] at the classifier's size."""
    if is_params_model(gen):
        from serving.art import mathart

        drawn = mathart.render_batch(gen.params(z, y).astype(np.float64), np.argmax(y, axis=1), PARAMS_EVAL_SIZE)
        return drawn * 2.0 - 1.0
    return gen(z, y, output="float") * 2.0 - 1.0


def acceptance(gen: Generator, z: np.ndarray, y: np.ndarray) -> float:
    """Share of the model's parameter vectors that pass the same acceptance rule as the data."""
    from serving.art import mathart

    params = gen.params(z, y).astype(np.float64)
    return float(np.mean([mathart.accept(p, int(k)) for p, k in zip(params, np.argmax(y, axis=1))]))


def frame_changes(gen: Generator, frames: int = 24) -> dict[str, float]:
    """Mean absolute pixel change between consecutive frames of 96-frame looping cubic walks (4 keyframes,
    `frames` each, the wrap from the last frame to the first included), at the model's own size.

    Returns, over the walks that keep one class, the median and the largest change and the worst walk's largest /
    median ratio (a frame jump shows as a ratio far above the few-fold variation of a smooth walk). Conditional
    models also get that ratio for class-morph walks (each keyframe its seed's own class), reported apart: a
    math-art morph fades through the background, so its mid-morph frames barely move and its ratio measures the
    fade's rhythm as much as any jump."""
    within: list[tuple[float, float]] = []
    morph: list[float] = []
    for w in range(WALKS):
        seeds = tuple(walk_seeds()[4 * w : 4 * w + 4])
        one_class = not gen.num_classes or w < WALKS // 2
        classes = (w % gen.num_classes,) if gen.num_classes and one_class else None
        recipe = Recipe(
            seeds=seeds,
            classes=classes,
            path="cubic",
            frames=frames,
            loop=True,
            size=gen.config.image_size[1],
            format="png",
        )
        video = render_frames(gen, recipe).astype(np.float64) / 255.0
        change = np.abs(video - np.roll(video, -1, axis=0)).mean(axis=(1, 2, 3))
        median = max(float(np.median(change)), 1e-9)
        if one_class:
            within.append((median, float(change.max())))
        else:
            morph.append(float(change.max()) / median)
    figures = {
        "frame_change_median": float(np.median([m for m, _ in within])),
        "frame_change_max": float(max(x for _, x in within)),
        "frame_jump_ratio": float(max(x / m for m, x in within)),
    }
    if morph:
        figures["frame_jump_ratio_morph"] = float(max(morph))
    return figures
