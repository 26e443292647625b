"""Serving side of ganimate: numpy + onnxruntime + Pillow. Never imports TensorFlow.

The package is a few subpackages, each named for what it does (docs/structure.md draws them and
tests/test_structure.py holds their import rules):

- `serving.bundle`: a bundle's contract (config.json), its static checks and the `Generator` that runs it
- `serving.rendering`: recipes, latents, paths, budgets and costs, and `render` itself
- `serving.files`: frames into GIF, WebP, MP4 and PNG, and recipes read back from them
- `serving.picture`: a person's own picture projected into a model's latent space
- `serving.sound`: songs measured, and the walks that follow them
- `serving.art`: the math-art parameters and their numpy renderer
- `serving.galleries`: rendered files and the index of their recipes
- `serving.publish`: the Hub (bundles, the Space's files, cards)
- `serving.space`: the Gradio Space, the only place that imports Gradio

`import serving` is light: the names below are loaded on first use, so a program that only checks a figure or
reads a recipe does not pay for onnxruntime.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.3.0"  # the one place the version is written (pyproject reads it)

# public name -> the module that defines it
_EXPORTS = {
    "BudgetError": "serving.errors",
    "BundleError": "serving.errors",
    "GanimateError": "serving.errors",
    "HubError": "serving.errors",
    "InputError": "serving.errors",
    "Generator": "serving.bundle.generator",
    "Projection": "serving.picture.project",
    "project": "serving.picture.project",
    "Recipe": "serving.rendering.recipe",
    "render": "serving.rendering.render",
}

__all__ = [
    "BudgetError",
    "BundleError",
    "GanimateError",
    "Generator",
    "HubError",
    "InputError",
    "Projection",
    "Recipe",
    "project",
    "render",
]

if TYPE_CHECKING:
    from serving.bundle.generator import Generator
    from serving.errors import BudgetError, BundleError, GanimateError, HubError, InputError
    from serving.picture.project import Projection, project
    from serving.rendering.recipe import Recipe
    from serving.rendering.render import render


def __getattr__(name: str) -> Any:
    """Load a public name from its module the first time it is asked for (PEP 562)."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'serving' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
