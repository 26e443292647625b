"""Every output reproducible from itself, on the shipped bundles and the real CLI: a Compare file renders again
byte-identical from its own recipe, a recipe names its model and is refused on another, stills carry theirs."""

import dataclasses
import json
import subprocess
import sys

import pytest

from serving.bundle.generator import Generator
from serving.errors import InputError
from serving.files.recipe_file import recipe_in_file, recipe_text
from serving.rendering.compare import render_compare
from serving.rendering.recipe import Recipe
from serving.rendering.render import render
from tests.conftest import REPO

GAN, VAE = REPO / "exported" / "mnist-cdcgan", REPO / "exported" / "mnist-cvae"
SMALL = Recipe(seeds=(1, 2), classes=(3, 8), path="lerp", frames=3, size=32, fps=10)


def cli(*args: str, cwd=REPO) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "serving", *args], cwd=cwd, capture_output=True, text=True)


@pytest.fixture(scope="module")
def models():
    return Generator.from_pretrained(GAN), Generator.from_pretrained(VAE)


@pytest.mark.parametrize("fmt", ["gif", "webp", "png"])
def test_a_compare_file_renders_again_byte_identical_from_its_own_recipe(models, tmp_path, fmt):
    a, b = models
    first = tmp_path / f"cmp.{fmt}"
    first.write_bytes(render_compare(a, b, dataclasses.replace(SMALL, format=fmt)))
    carried = json.loads(recipe_in_file(str(first)))
    assert carried["models"] == [
        {"bundle": "mnist-cdcgan", "sha256": a.config.sha256},
        {"bundle": "mnist-cvae", "sha256": b.config.sha256},
    ]
    assert carried["bundle_sha256"] == "" and "bundle" not in carried  # two models, no single one
    done = cli("compare", "--recipe", str(first), "--out", str(tmp_path / f"again.{fmt}"))
    assert done.returncode == 0, done.stderr
    assert (tmp_path / f"again.{fmt}").read_bytes() == first.read_bytes()


def test_a_compare_recipe_on_two_other_models_is_refused_unless_asked(models, tmp_path):
    a, b = models
    cmp = tmp_path / "cmp.gif"
    cmp.write_bytes(render_compare(a, b, SMALL))
    swapped = cli("compare", "--recipe", str(cmp), "--bundle-a", str(VAE), "--bundle-b", str(GAN))
    assert swapped.returncode == 2 and "left model of this recipe is mnist-cdcgan" in swapped.stderr
    assert "Traceback" not in swapped.stderr
    anyway = cli(
        "compare",
        "--recipe",
        str(cmp),
        "--bundle-a",
        str(VAE),
        "--bundle-b",
        str(GAN),
        "--any-bundle",
        "--out",
        str(tmp_path / "x.gif"),
    )
    assert anyway.returncode == 0, anyway.stderr


def test_render_refuses_a_compare_recipe_pointing_to_compare(models, tmp_path):
    a, b = models
    cmp = tmp_path / "cmp.gif"
    cmp.write_bytes(render_compare(a, b, SMALL))
    done = cli("render", "--bundle", str(GAN), "--recipe", str(cmp), "--out", str(tmp_path / "x.gif"))
    assert done.returncode == 2
    assert "Compare recipe" in done.stderr and "python -m serving compare --recipe" in done.stderr
    with pytest.raises(InputError, match="/compare"):
        render(a, Recipe.from_json(recipe_in_file(str(cmp))))


def test_a_recipe_names_its_model_and_another_bundle_exits_2(tmp_path):
    out = tmp_path / "a.gif"
    done = cli("render", "--bundle", str(GAN), "--seeds", "1,2", "--frames", "2", "--size", "32", "--out", str(out))
    assert done.returncode == 0, done.stderr
    carried = Recipe.from_json(recipe_in_file(str(out)))
    assert carried.bundle == "mnist-cdcgan" and len(carried.bundle_sha256) == 64
    wrong = cli("render", "--bundle", str(VAE), "--recipe", str(out), "--out", str(tmp_path / "b.gif"))
    assert wrong.returncode == 2 and not (tmp_path / "b.gif").exists()
    assert "made with mnist-cdcgan" in wrong.stderr and "--any-bundle" in wrong.stderr
    same = cli("render", "--bundle", str(GAN), "--recipe", str(out), "--out", str(tmp_path / "c.gif"))
    assert same.returncode == 0 and (tmp_path / "c.gif").read_bytes() == out.read_bytes()
    anyway = cli("render", "--bundle", str(VAE), "--recipe", str(out), "--any-bundle", "--out", str(tmp_path / "d.gif"))
    assert anyway.returncode == 0, anyway.stderr
    assert Recipe.from_json(recipe_in_file(str(tmp_path / "d.gif"))).bundle == "mnist-cvae"  # what really made it


def test_the_library_call_has_the_same_switch(models):
    a, b = models
    made_on_a = dataclasses.replace(SMALL, bundle="mnist-cdcgan", bundle_sha256=a.config.sha256)
    with pytest.raises(InputError, match="made with mnist-cdcgan"):
        render(b, made_on_a)
    carried = Recipe.from_json(recipe_text(render(b, made_on_a, any_bundle=True)))
    assert (carried.bundle, carried.bundle_sha256) == ("mnist-cvae", b.config.sha256)
    # A name alone (no sha256) names the model too.
    with pytest.raises(InputError, match="made with mnist-cdcgan"):
        render(b, dataclasses.replace(SMALL, bundle="mnist-cdcgan"))


def test_a_sample_sheet_carries_its_recipe_naming_its_model(tmp_path):
    out = tmp_path / "grid.png"
    done = cli("sample", "--bundle", str(GAN), "--seeds", "0-3", "--classes", "7", "--out", str(out))
    assert done.returncode == 0, done.stderr
    carried = json.loads(recipe_in_file(str(out)))
    assert carried["kind"] == "sample" and carried["bundle"] == "mnist-cdcgan"
    assert carried["seeds"] == [0, 1, 2, 3] and carried["classes"] == [7] and len(carried["bundle_sha256"]) == 64
    # render says what a sheet's recipe is, in one line
    again = cli("render", "--bundle", str(GAN), "--recipe", str(out), "--out", str(tmp_path / "x.gif"))
    assert again.returncode == 2 and "Sample sheet" in again.stderr


def test_bad_models_field_is_one_line():
    with pytest.raises(InputError, match="models must list two models"):
        Recipe.from_dict({"models": [{"bundle": "a", "sha256": "0" * 64}]})
    with pytest.raises(InputError, match="bundle"):
        Recipe.from_dict({"bundle": "../etc/passwd"})
    # old recipes (no bundle, no models) keep their bytes
    assert "bundle" not in json.loads(Recipe().to_json()) and "models" not in json.loads(Recipe().to_json())


def test_a_sample_sheet_is_drawn_again_byte_identical_from_itself(tmp_path):
    first, again = tmp_path / "grid.png", tmp_path / "again.png"
    assert (
        cli("sample", "--bundle", str(GAN), "--seeds", "3-9", "--truncation", "0.7", "--out", str(first)).returncode
        == 0
    )
    done = cli("sample", "--bundle", str(GAN), "--recipe", str(first), "--out", str(again))
    assert done.returncode == 0, done.stderr
    assert again.read_bytes() == first.read_bytes()
    other = cli("sample", "--bundle", str(VAE), "--recipe", str(first), "--out", str(tmp_path / "x.png"))
    assert other.returncode == 2 and "drawn by mnist-cdcgan" in other.stderr


def test_a_gray_gif_holds_64_levels_each_within_2_of_255():
    """docs/rendering.md: gray GIFs keep 64 evenly spaced levels, every pixel within 2/255 of the render."""
    import io

    import numpy as np
    from PIL import Image

    from serving.files.formats import encode

    ramp = np.arange(256, dtype=np.uint8).reshape(1, 16, 16, 1)
    with Image.open(io.BytesIO(encode(ramp, "gif", 24))) as im:
        shown = np.asarray(im.convert("L"), dtype=int)
    assert len(np.unique(shown)) == 64
    assert np.abs(shown - ramp[0, ..., 0].astype(int)).max() == 2


def test_a_gif_faster_than_50_fps_is_refused_not_played_slower(models):
    a, _ = models
    with pytest.raises(InputError, match="a GIF plays at most 50 fps"):
        render(a, dataclasses.replace(SMALL, fps=51))
    assert render(a, dataclasses.replace(SMALL, fps=60, format="webp"))[:4] == b"RIFF"  # WebP keeps 60
    done = cli("render", "--bundle", str(GAN), "--fps", "60", "--out", "/nonexistent/x.gif")
    assert done.returncode == 2 and "at most 50 fps" in done.stderr
