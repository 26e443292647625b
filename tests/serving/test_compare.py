"""Two models side by side (serving.rendering.compare) on tiny real ONNX bundles: layout, sync, refusals, budget."""

import dataclasses

import numpy as np
import pytest

from serving.bundle.generator import Generator
from serving.errors import BudgetError, InputError
from serving.rendering.budget import SPACE
from serving.rendering.compare import GAP, LABEL_HEIGHT, compare_frames, render_compare
from serving.rendering.recipe import Recipe
from serving.rendering.render import render_frames

RECIPE = Recipe(seeds=(1, 2), classes=(0, 3), path="lerp", frames=4, size=32, fps=10)


@pytest.fixture(scope="module")
def rgb_partner(tmp_path_factory):
    """Same four classes as tiny-cgan, but RGB and another latent size: still comparable."""
    from tests.tiny_onnx import make_bundle

    return Generator.from_pretrained(
        make_bundle(tmp_path_factory.mktemp("p") / "b", "tiny-rgb", latent_dim=6, num_classes=4, channels=3, seed=5)
    )


def test_each_half_is_that_model_rendering_the_same_recipe(tiny_bundles, rgb_partner):
    gray = Generator.from_pretrained(tiny_bundles["cgan"])
    frames = compare_frames(gray, rgb_partner, RECIPE)
    n = RECIPE.frame_total()
    assert frames.shape == (n, LABEL_HEIGHT + 32, 2 * 32 + GAP, 3)
    left = render_frames(gray, dataclasses.replace(RECIPE, bundle_sha256=gray.config.sha256))
    right = render_frames(rgb_partner, RECIPE)
    np.testing.assert_array_equal(frames[:, LABEL_HEIGHT:, :32], np.repeat(left, 3, axis=3))  # gray shown as RGB
    np.testing.assert_array_equal(frames[:, LABEL_HEIGHT:, 32 + GAP :], right)
    assert frames[:, :LABEL_HEIGHT, :32].max() > 200  # the model's name is written above its half
    assert not np.array_equal(frames[:, LABEL_HEIGHT:, :32], frames[:, LABEL_HEIGHT:, 32 + GAP :])


def test_same_request_same_bytes(tiny_bundles, rgb_partner):
    gray = Generator.from_pretrained(tiny_bundles["cgan"])
    assert render_compare(gray, rgb_partner, RECIPE) == render_compare(gray, rgb_partner, RECIPE)


def test_models_with_different_classes_are_refused_naming_both_lists(tiny_bundles):
    a, b = Generator.from_pretrained(tiny_bundles["cgan"]), Generator.from_pretrained(tiny_bundles["vae"])
    with pytest.raises(InputError) as exc:
        compare_frames(a, b, RECIPE)
    text = str(exc.value)
    assert "tiny-cgan (classes: c0, c1, c2, c3)" in text and "tiny-vae (classes: c0, c1, c2)" in text
    uncond = Generator.from_pretrained(tiny_bundles["gan"])
    with pytest.raises(InputError, match="none \\(unconditional\\)"):
        compare_frames(uncond, a, RECIPE)


def test_the_whole_side_by_side_animation_must_fit_the_budget(tiny_bundles):
    a = Generator.from_pretrained(tiny_bundles["cgan"])
    # One half alone fits the Space's 72M pixels (60 x 4 x 512 x 512 = 63M); both halves do not.
    big = dataclasses.replace(RECIPE, seeds=(1, 2, 3, 4), classes=None, frames=60, size=512, path="cubic")
    render_frames_ok = SPACE.output_pixels >= big.frame_total() * 512 * 512
    assert render_frames_ok
    with pytest.raises(BudgetError, match="pixels"):
        compare_frames(a, a, big, SPACE)
