"""Serving side of ganimate: numpy + onnxruntime + PIL/imageio. Never imports TensorFlow."""

from serving.generator import BundleError, Generator
from serving.render import Recipe, RecipeError, render

__all__ = ["BundleError", "Generator", "Recipe", "RecipeError", "render"]
