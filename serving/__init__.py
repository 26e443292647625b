"""Serving side of ganimate: numpy + onnxruntime + PIL/imageio. Never imports TensorFlow."""

from serving.errors import BudgetError, BundleError, GanimateError, HubError, InputError
from serving.generator import Generator
from serving.project import Projection, project
from serving.recipe import Recipe
from serving.render import render

__version__ = "0.2.0"  # the one place the version is written (pyproject reads it)

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
