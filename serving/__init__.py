"""Serving side of ganimate: numpy + onnxruntime + PIL/imageio. Never imports TensorFlow."""

from serving.errors import BundleError, InputError
from serving.generator import Generator
from serving.render import Recipe, render

__all__ = ["BundleError", "Generator", "Recipe", "InputError", "render"]
