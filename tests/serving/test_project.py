"""Your own picture as a keyframe: the encoder in the bundle contract, projection, latent keyframes in recipes.

The tiny bundles get an exact encoder (the pseudo-inverse of their generator, tests/tiny_onnx.py), so a generated
picture must come back to its own z and class: a real test of the plumbing, with no TensorFlow and no training.
"""

import io
import json
import struct
import zlib

import numpy as np
import pytest
from PIL import Image, ImageDraw

from serving import cli
from serving.bundle.generator import Generator
from serving.errors import BundleError, InputError
from serving.latent.latents import one_hot, z_from_seed
from serving.picture.project import open_picture, prepare, project
from serving.rendering.recipe import Recipe
from serving.rendering.render import render, render_frames
from tests.tiny_onnx import add_encoder, make_bundle


@pytest.fixture(scope="module")
def encoded(tmp_path_factory):
    root = tmp_path_factory.mktemp("encoded")
    return {
        "cgan": add_encoder(make_bundle(root / "cgan", "tiny-cgan", num_classes=4, seed=1)),
        "gan": add_encoder(make_bundle(root / "gan", "tiny-gan")),
    }


def _one_line_exit_2(argv, capsys) -> str:
    code = cli.main(argv)
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.startswith("error: ") and "\n" not in err and "Traceback" not in err, err
    return err


def test_a_generated_picture_projects_back_to_its_own_z_and_class(encoded):
    gen = Generator.from_pretrained(encoded["cgan"])
    assert gen.has_encoder
    z = z_from_seed(11, gen.latent_dim)
    picture = gen(z[None], one_hot([2], 4), output="float")[0]
    found = project(gen, picture)
    assert found.class_index == 2
    assert np.abs(found.latent - z).max() < 1e-2 and found.distance < 1e-6
    assert found.image.dtype == np.uint8 and found.image.shape == (28, 28, 1)
    again = project(gen, picture)
    assert np.array_equal(found.latent, again.latent)  # seeded search: the same picture, the same latent


def test_the_search_never_does_worse_than_the_encoder(encoded):
    gen = Generator.from_pretrained(encoded["gan"])
    picture = np.random.default_rng(0).random((28, 28, 1)).astype(np.float32)  # nothing G can draw exactly
    found = project(gen, picture)
    assert found.distance <= found.encoder_distance
    with pytest.raises(InputError, match="not conditional"):
        project(gen, picture, class_index=1)


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda raw, f: raw["encoder"].update(file="../model.onnx"), "encoder.file"),
        (lambda raw, f: raw["encoder"].update(sha256="0" * 64), "does not match"),
        (lambda raw, f: raw["encoder"].update(outputs=["z"]), "must declare"),
        (lambda raw, f: (f / "encoder.onnx").unlink(), "has no encoder.onnx"),
    ],
)
def test_a_bundle_encoder_is_checked_like_the_model(encoded, tmp_path, change, message):
    import shutil

    folder = tmp_path / "b"
    shutil.copytree(encoded["cgan"], folder)
    raw = json.loads((folder / "config.json").read_text())
    change(raw, folder)
    (folder / "config.json").write_text(json.dumps(raw))
    with pytest.raises(BundleError, match=message):
        Generator.from_pretrained(folder)


def test_an_encoder_for_another_latent_size_is_refused(encoded, tmp_path):
    import shutil

    from serving.bundle.generator import sha256_file

    folder = tmp_path / "b"
    shutil.copytree(encoded["gan"], folder)
    other = add_encoder(make_bundle(tmp_path / "other", "other", latent_dim=5))
    shutil.copy(other / "encoder.onnx", folder / "encoder.onnx")
    raw = json.loads((folder / "config.json").read_text())
    raw["encoder"]["sha256"] = sha256_file(folder / "encoder.onnx")
    (folder / "config.json").write_text(json.dumps(raw))
    with pytest.raises(BundleError, match="encoder output 'z' has shape"):
        Generator.from_pretrained(folder)


def _drawn_digit(ink="black", paper="white", size=(300, 360), mode="RGB") -> Image.Image:
    im = Image.new(mode, size, paper)
    d = ImageDraw.Draw(im)
    d.line([(90, 60), (210, 60), (120, 300)], fill=ink, width=24)  # a thick-pen 7
    return im


def test_prepare_makes_any_picture_look_like_the_training_data():
    dark_on_light = prepare(_drawn_digit(), (28, 28), 1)
    light_on_dark = prepare(_drawn_digit("white", "black"), (28, 28), 1)
    transparent = prepare(_drawn_digit((0, 0, 0, 255), (0, 0, 0, 0), mode="RGBA"), (28, 28), 1)
    assert dark_on_light.shape == (28, 28, 1) and dark_on_light.dtype == np.float32
    assert np.abs(dark_on_light - light_on_dark).max() < 0.05 and np.abs(dark_on_light - transparent).max() < 0.05
    assert dark_on_light[0].max() == 0 and dark_on_light[:, 0].max() == 0  # the ground is black, strokes are light
    rows, cols = np.nonzero(dark_on_light[..., 0] > 0.3)
    assert max(np.ptp(rows), np.ptp(cols)) <= 21  # fits the 20-pixel box of MNIST
    ys, xs = np.mgrid[:28, :28]
    mass = dark_on_light[..., 0] / dark_on_light.sum()
    assert abs((mass * ys).sum() - 13.5) < 1.5 and abs((mass * xs).sum() - 13.5) < 1.5  # centred by mass
    # A photographed-looking page: uneven light and noise do not change what is found.
    rng = np.random.default_rng(0)
    photo = np.asarray(_drawn_digit().convert("L"), np.float32)
    photo = photo * np.linspace(0.55, 1.0, photo.shape[1])[None] + rng.normal(0, 12, photo.shape)
    shot = prepare(Image.fromarray(np.uint8(np.clip(photo, 0, 255))), (28, 28), 1)
    assert np.mean(np.abs(shot - dark_on_light)) < 0.08
    with pytest.raises(InputError, match="blank"):
        prepare(Image.new("RGB", (100, 100), "white"), (28, 28), 1)


def _png_claiming(width: int, height: int) -> bytes:
    """A valid 1x1 PNG whose header claims another size: a decompression bomb's calling card."""
    buf = io.BytesIO()
    Image.new("L", (1, 1)).save(buf, format="PNG")
    data = bytearray(buf.getvalue())
    ihdr = struct.pack(">II", width, height) + bytes(data[24:29])
    data[16:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    return bytes(data)


def test_pictures_are_opened_within_their_caps():
    with pytest.raises(InputError, match="at most 4096x4096"):
        open_picture(_png_claiming(100_000, 100_000))
    with pytest.raises(InputError, match="not a picture"):
        open_picture(b"<svg xmlns='http://www.w3.org/2000/svg'/>")
    with pytest.raises(InputError, match="bytes; at most 100"):
        open_picture(b"x" * 101, max_bytes=100)
    buf = io.BytesIO()
    _drawn_digit().save(buf, format="JPEG")
    assert open_picture(buf.getvalue()).size == (300, 360)


def test_latent_keyframes_in_recipes(encoded):
    gen = Generator.from_pretrained(encoded["cgan"])
    plain = Recipe(seeds=(1, 2), classes=(0, 1), frames=3, size=32)
    assert "latents" not in plain.to_json()  # recipes from before the field keep their bytes and hashes
    z = np.round(np.random.default_rng(1).standard_normal(gen.latent_dim), 3).astype(np.float32)
    recipe = Recipe(
        seeds=(0, 2), classes=(3, 1), frames=3, size=28, path="lerp", latents=(tuple(float(v) for v in z), None)
    )
    back = Recipe.from_json(recipe.to_json())
    assert back == recipe
    frames = render_frames(gen, recipe)
    assert np.array_equal(frames[0], gen(z[None], one_hot([3], 4))[0])  # keyframe 0 is the latent, untruncated
    seeded = render_frames(gen, Recipe(seeds=(7, 2), classes=(3, 1), frames=3, size=28, path="lerp"))
    assert np.array_equal(frames[3], seeded[3])  # keyframe 1 is still its seed's z
    assert render(gen, recipe) == render(gen, back)  # byte-identical on repeat and after a JSON round trip
    assert render(gen, plain) == render(gen, Recipe.from_json(plain.to_json()))


@pytest.mark.parametrize(
    "latents, message",
    [
        ([[1.0] * 8, None, None], "3 entries for 2 keyframes"),
        ([[1.0] * 7, None], "latentdim|latent_dim is 8"),
        ([["1"] * 8, None], "numbers only"),
        ([[1e9] * 8, None], "must be in"),
        ("zzz", "latents must be a list"),
        ([5, None], "must be null or a list"),
    ],
)
def test_bad_latents_are_one_line(encoded, latents, message):
    from serving.rendering.render import validate

    gen = Generator.from_pretrained(encoded["gan"])
    with pytest.raises(InputError, match=message):
        recipe = Recipe.from_dict({"seeds": [1, 2], "latents": latents})
        validate(recipe, gen.latent_dim, gen.num_classes)


def test_cli_project_and_render_from_image(encoded, tmp_path, capsys):
    picture = tmp_path / "me.png"
    _drawn_digit().save(picture)
    bundle = str(encoded["cgan"])
    assert (
        cli.main(
            [
                "project",
                "--bundle",
                bundle,
                "--image",
                str(picture),
                "--out",
                str(tmp_path / "p.json"),
                "--preview",
                str(tmp_path / "p.png"),
            ]
        )
        == 0
    )
    found = json.loads((tmp_path / "p.json").read_text())
    assert len(found["latent"]) == 8 and found["class"] in range(4) and len(found["bundle_sha256"]) == 64
    assert Image.open(tmp_path / "p.png").size[0] > 2 * 28
    assert "projected" in capsys.readouterr().err
    out, saved = tmp_path / "a.gif", tmp_path / "a.json"
    assert (
        cli.main(
            [
                "render",
                "--bundle",
                bundle,
                "--from-image",
                str(picture),
                "--seeds",
                "5,6",
                "--frames",
                "3",
                "--size",
                "32",
                "--out",
                str(out),
                "--save-recipe",
                str(saved),
            ]
        )
        == 0
    )
    recipe = json.loads(saved.read_text())
    assert (
        recipe["seeds"] == [0, 5, 6]
        and recipe["latents"][0] == found["latent"]
        and recipe["latents"][1:] == [None, None]
    )
    assert recipe["classes"][0] == found["class"]
    again = tmp_path / "b.gif"
    assert cli.main(["render", "--bundle", bundle, "--recipe", str(saved), "--out", str(again)]) == 0
    assert again.read_bytes() == out.read_bytes()


def test_cli_project_refusals_are_one_line(encoded, tiny_bundles, tmp_path, capsys):
    picture = tmp_path / "me.png"
    _drawn_digit().save(picture)
    (tmp_path / "bomb.png").write_bytes(_png_claiming(50_000, 50_000))
    (tmp_path / "page.html").write_text("<html></html>")
    bundle = str(encoded["cgan"])
    assert "no encoder" in _one_line_exit_2(
        ["project", "--bundle", str(tiny_bundles["gan"]), "--image", str(picture)], capsys
    )
    assert "4096x4096" in _one_line_exit_2(
        ["project", "--bundle", bundle, "--image", str(tmp_path / "bomb.png")], capsys
    )
    assert "not a picture" in _one_line_exit_2(
        ["project", "--bundle", bundle, "--image", str(tmp_path / "page.html")], capsys
    )
    assert "not a regular file" in _one_line_exit_2(["project", "--bundle", bundle, "--image", "/dev/zero"], capsys)
    assert "--class" in _one_line_exit_2(
        ["project", "--bundle", bundle, "--image", str(picture), "--class", "c1,c2"], capsys
    )


@pytest.mark.parametrize("fmt", ["gif", "png", "webp", "mp4"])
def test_every_file_carries_its_recipe_and_renders_again_from_it(encoded, tmp_path, capsys, fmt):
    from serving.files.recipe_file import recipe_text

    gen = Generator.from_pretrained(encoded["cgan"])
    z = tuple(float(v) for v in np.round(np.random.default_rng(3).standard_normal(8), 4))
    recipe = Recipe(
        seeds=(0, 2),
        classes=(1, 3),
        frames=3,
        size=32,
        path="lerp",
        format=fmt,
        name="a=b;c#d\\e",
        latents=(z, None),
        bundle_sha256=gen.config.sha256,
    )
    first = tmp_path / f"a.{fmt}"
    first.write_bytes(render(gen, recipe))
    assert Recipe.from_json(recipe_text(first.read_bytes(), str(first))) == recipe
    again = tmp_path / f"b.{fmt}"
    assert cli.main(["render", "--bundle", str(encoded["cgan"]), "--recipe", str(first), "--out", str(again)]) == 0
    assert again.read_bytes() == first.read_bytes()  # the file alone is enough: byte-identical
    capsys.readouterr()


def test_a_file_without_a_recipe_is_one_line(tmp_path, capsys):
    plain = tmp_path / "plain.png"
    Image.new("L", (8, 8)).save(plain)
    assert "carries no ganimate recipe" in _one_line_exit_2(
        ["render", "--bundle", "exported/mnist-cdcgan", "--recipe", str(plain), "--out", str(tmp_path / "x.gif")],
        capsys,
    )


def test_the_package_offers_project_as_the_issue_names_it(encoded):
    import serving

    gen = Generator.from_pretrained(encoded["gan"])
    found = serving.project(gen, np.zeros((28, 28, 1), np.float32) + 0.5)
    assert isinstance(found, serving.Projection) and found.latent.shape == (8,) and found.class_index is None
