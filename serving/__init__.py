"""Serving side of ganimate: numpy + onnxruntime + PIL/imageio. Never imports TensorFlow."""

from serving.errors import BudgetError, BundleError, GanimateError, HubError, InputError
from serving.generator import Generator
from serving.recipe import Recipe
from serving.render import render

__all__ = ["BudgetError", "BundleError", "GanimateError", "Generator", "HubError", "InputError", "Recipe", "render"]
