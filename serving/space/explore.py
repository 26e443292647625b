"""Explore's three sliders: what they move for each kind of model, and their names.

- A pixel model with named directions in config.json (`serving/rendering/directions.py`: stroke thickness, slant, width for
  the digit model) moves z along them.
- A renderer model (a `params` output, the math-art model) moves its real parameters: the three that shape class
  A's family most, each slider step a tenth of the parameter's range, then draws with the numpy renderer.
- Anything else moves z along three fixed orthonormal directions (named "Direction 1..3").
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from serving.latent.latents import z_from_seed

EXPLORE_DIRECTIONS = 3
EXPLORE_DIRECTION_SEEDS = (1_000_001, 1_000_002, 1_000_003)  # fixed, so an explore URL means the same everywhere
DIRECTION_LABELS = {"thickness": "Stroke thickness", "slant": "Slant (leans right)", "width": "Width"}
# The parameters each math-art family's sliders move (serving/art/mathart.py names them and their ranges).
FAMILY_SLIDERS = {
    "lissajous": ("lis_f1", "lis_damping", "hue"),
    "rose": ("rose_k", "rose_offset", "hue"),
    "hypotrochoid": ("hypo_lobes", "hypo_pen", "hue"),
    "julia": ("julia_angle", "julia_radius", "julia_zoom"),
    "clifford": ("cl_a", "cl_b", "hue"),
}


def explore_directions(config) -> tuple[list[str], np.ndarray]:
    """Slider names and unit latent directions [k, latent_dim] for a pixel model."""
    named = config.extra.get("directions") or []
    if len(named) >= EXPLORE_DIRECTIONS:
        picked = named[:EXPLORE_DIRECTIONS]
        return [DIRECTION_LABELS.get(d["name"], d["name"]) for d in picked], np.asarray([d["vector"] for d in picked])
    raw = np.stack([z_from_seed(s, config.latent_dim).astype(np.float64) for s in EXPLORE_DIRECTION_SEEDS])
    q, _ = np.linalg.qr(raw.T)
    return [f"Direction {i + 1}" for i in range(EXPLORE_DIRECTIONS)], q.T[:EXPLORE_DIRECTIONS]


def param_labels(family: str) -> list[str]:
    return [name.replace("_", " ") for name in FAMILY_SLIDERS[family]]


def edit_params(params: np.ndarray, family: str, steps: list[float]) -> np.ndarray:
    """`params` with family's slider parameters moved by steps (each step a tenth of the range), kept in range."""
    from serving.art import mathart

    out = np.array(params, dtype=np.float64)
    for name, step in zip(FAMILY_SLIDERS[family], steps):
        i = mathart.NAMES.index(name)
        out[i] = np.clip(out[i] + step * (mathart.HIGH[i] - mathart.LOW[i]) / 10.0, mathart.LOW[i], mathart.HIGH[i])
    return out


def explore_recipe(
    config, seed: int, steps: list[float], class_a: Any, class_b: Any, mix: float, psi: float, size: int
) -> str:
    """The JSON an Explore PNG carries: its model (name and sha256) and every value of /explore that made it, in
    the endpoint's own names, so the same call draws it again."""
    fields = {
        "kind": "explore",
        "bundle": config.name,
        "bundle_sha256": config.sha256,
        "seed": seed,
        "d1": steps[0],
        "d2": steps[1],
        "d3": steps[2],
        "class_a": str(class_a or "").strip()[:100],
        "class_b": str(class_b or "").strip()[:100],
        "mix": mix,
        "truncation": psi,
        "size": size,
    }
    return json.dumps(fields, sort_keys=True)
