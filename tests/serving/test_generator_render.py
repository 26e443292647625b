import io
import json
import shutil
import subprocess
import sys

import numpy as np
import onnx
import pytest
from PIL import Image

from serving.bundle.generator import Generator, sha256_file
from serving.cli import main
from serving.errors import BundleError, InputError
from serving.rendering.recipe import Recipe
from serving.rendering.render import render, validate
from tests.conftest import REPO


def _copy(bundle, tmp_path):
    target = tmp_path / "bundle"
    shutil.copytree(bundle, target)
    return target


def _rewrite_model(bundle, mutate):
    """Apply `mutate` to model.onnx and re-sign config.json, so only the mutation is under test."""
    model = onnx.load(str(bundle / "model.onnx"))
    mutate(model)
    (bundle / "model.onnx").write_bytes(model.SerializeToString())  # raw bytes: no external-data handling
    cfg = json.loads((bundle / "config.json").read_text())
    cfg["sha256"] = sha256_file(bundle / "model.onnx")
    (bundle / "config.json").write_text(json.dumps(cfg))


def test_sha256_mismatch_is_refused(tiny_bundles, tmp_path):
    bundle = _copy(tiny_bundles["gan"], tmp_path)
    data = bytearray((bundle / "model.onnx").read_bytes())
    data[-10] ^= 0xFF
    (bundle / "model.onnx").write_bytes(bytes(data))
    with pytest.raises(BundleError, match="sha256"):
        Generator.from_pretrained(bundle)


def test_external_data_is_refused(tiny_bundles, tmp_path):
    bundle = _copy(tiny_bundles["gan"], tmp_path)

    def externalise(model):
        init = model.graph.initializer[0]
        init.data_location = onnx.TensorProto.EXTERNAL
        entry = init.external_data.add()
        entry.key, entry.value = "location", "weights.bin"

    _rewrite_model(bundle, externalise)
    with pytest.raises(BundleError, match="external data"):
        Generator.from_pretrained(bundle)


def test_custom_domain_op_is_refused(tiny_bundles, tmp_path):
    bundle = _copy(tiny_bundles["gan"], tmp_path)
    _rewrite_model(bundle, lambda m: setattr(m.graph.node[0], "domain", "com.evil"))
    with pytest.raises(BundleError, match="non-standard domain"):
        Generator.from_pretrained(bundle)


def test_wrong_signature_is_refused(tiny_bundles, tmp_path):
    bundle = _copy(tiny_bundles["gan"], tmp_path)
    cfg = json.loads((bundle / "config.json").read_text())
    cfg["latent_dim"] = 9
    (bundle / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(BundleError, match="input 'z'"):
        Generator.from_pretrained(bundle)
    cfg["latent_dim"] = "eight"
    (bundle / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(BundleError, match="'latent_dim'"):
        Generator.from_pretrained(bundle)


def test_render_is_deterministic_and_gif_reads_back(tiny_bundles):
    gen = Generator.from_pretrained(tiny_bundles["cgan"])
    recipe = Recipe(seeds=(1, 2, 3), classes=(0, 1, 2), path="cubic", frames=5, size=64, fps=20, grid=(1, 2))
    a, b = render(gen, recipe), render(gen, Recipe.from_json(recipe.to_json()))
    assert a == b
    gif = Image.open(io.BytesIO(a))
    assert gif.n_frames == 15 and gif.size == (64, 32) and gif.info["duration"] == 50 and gif.info["loop"] == 0


@pytest.mark.parametrize("fmt, magic", [("webp", b"RIFF"), ("png", b"\x89PNG")])
def test_other_formats(tiny_bundles, fmt, magic):
    gen = Generator.from_pretrained(tiny_bundles["gan"])
    data = render(gen, Recipe(seeds=(1, 2), frames=3, size=32, format=fmt, path="slerp"))
    assert data.startswith(magic)


def test_mp4_is_encoded_reproducibly_and_reads_back(tiny_bundles):
    import imageio.v3 as iio

    gen = Generator.from_pretrained(tiny_bundles["vae"])  # RGB, odd sizes are padded to even for H.264
    recipe = Recipe(seeds=(1, 2), classes=(0, 2), frames=5, size=33, format="mp4", path="lerp")
    data = render(gen, recipe)
    assert data[4:8] == b"ftyp" and render(gen, recipe) == data
    frames = iio.imread(data, extension=".mp4")
    assert frames.shape[0] == 10 and frames.shape[1:3] == (34, 34)


@pytest.mark.parametrize(
    "changes, message",
    [
        (dict(seeds=(-1, 2)), "out of range"),
        (dict(seeds=(2**32, 2)), "out of range"),
        (dict(frames=10**6), "frames"),
        (dict(size=10**5), "size"),
        (dict(truncation=float("nan")), "truncation"),
        (dict(path="zigzag"), "path must be one of"),
        (dict(classes=(0, 1)), "not conditional"),
        (dict(seeds=tuple(range(64)), frames=240, size=1024), "limit"),
    ],
)
def test_recipe_rejects_bad_input_before_work(changes, message):
    with pytest.raises(InputError, match=message):
        validate(Recipe(**{**dict(seeds=(1, 2)), **changes}), latent_dim=8, num_classes=0)


def test_class_morph_with_fixed_z_changes_the_image(tiny_bundles):
    gen = Generator.from_pretrained(tiny_bundles["cgan"])
    from serving.rendering.render import render_frames

    frames = render_frames(gen, Recipe(seeds=(7,), classes=(0, 3), path="lerp", frames=4, loop=False, size=28))
    assert len(frames) == 5 and not np.array_equal(frames[0], frames[-1])


def test_cli_render_sample_and_errors(tiny_bundles, tmp_path, capsys):
    bundle = str(tiny_bundles["cgan"])
    out = tmp_path / "a.gif"
    assert (
        main(
            [
                "render",
                "--bundle",
                bundle,
                "--seeds",
                "1,2",
                "--classes",
                "3",
                "--frames",
                "4",
                "--size",
                "64",
                "--out",
                str(out),
                "--save-recipe",
                str(tmp_path / "r.json"),
            ]
        )
        == 0
    )
    assert (
        main(["render", "--bundle", bundle, "--recipe", str(tmp_path / "r.json"), "--out", str(tmp_path / "b.gif")])
        == 0
    )
    assert out.read_bytes() == (tmp_path / "b.gif").read_bytes()
    assert (
        main(["sample", "--bundle", bundle, "--seeds", "0-9", "--classes", "2", "--out", str(tmp_path / "d.npz")]) == 0
    )
    data = np.load(tmp_path / "d.npz")
    assert data["images"].shape == (10, 28, 28, 1) and set(data["labels"].tolist()) == {2}
    capsys.readouterr()
    for argv in (["--seeds", ""], ["--seeds", "1,2", "--classes", "9"], ["--seeds", "5-1"], ["--truncation", "nan"]):
        assert main(["render", "--bundle", bundle, "--out", str(tmp_path / "x.gif"), *argv]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("error:") and len(err.splitlines()) == 1
    assert not (tmp_path / "x.gif").exists()


def test_serving_never_imports_tensorflow_and_default_bundles_verify():
    code = (
        "import sys, pathlib\n"
        "sys.modules['tensorflow'] = None  # any import of tensorflow now raises ImportError\n"
        "import importlib, pkgutil, serving\n"
        "for m in pkgutil.iter_modules(serving.__path__):\n"
        "    if m.name != '__main__':\n"
        "        importlib.import_module('serving.' + m.name)  # every module, gallery and hub included\n"
        "from serving import Generator\n"
        "bundles = sorted(p.parent for p in pathlib.Path('exported').glob('*/config.json'))\n"
        "assert bundles, 'no default bundles committed'\n"
        "for b in bundles:\n"
        "    g = Generator.from_pretrained(b)\n"
        "    print(b.name, g.config.sha256[:12])\n"
        "assert 'tensorflow' not in {m.split('.')[0] for m in sys.modules if sys.modules[m] is not None}\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "mnist-cdcgan" in result.stdout


def test_gray_gif_is_within_two_levels_of_the_frames(tiny_bundles):
    from serving.rendering.render import render_frames

    gen = Generator.from_pretrained(tiny_bundles["gan"])
    recipe = Recipe(seeds=(3, 4), frames=3, size=56, path="lerp")
    frames = render_frames(gen, recipe)[..., 0].astype(int)
    gif = Image.open(io.BytesIO(render(gen, recipe)))
    for i in range(gif.n_frames):
        gif.seek(i)
        assert np.abs(np.asarray(gif.convert("L"), dtype=int) - frames[i]).max() <= 2


@pytest.mark.parametrize("fps", [24, 12, 30, 15, 7, 50])
def test_a_gif_plays_at_the_fps_it_was_asked_for(tiny_bundles, fps):
    from PIL import ImageSequence

    gen = Generator.from_pretrained(tiny_bundles["gan"])
    data = render(gen, Recipe(seeds=(1, 2), frames=24, size=32, fps=fps, path="lerp"))
    durations = [f.info["duration"] for f in ImageSequence.Iterator(Image.open(io.BytesIO(data)))]
    assert len(durations) == 48
    assert abs(sum(durations) / 1000 - 48 / fps) <= 0.01  # the whole loop lasts what 48 frames at fps last
    assert min(durations) >= 20  # no delay a browser would stretch to 100 ms


def test_webp_keeps_every_pixel(tiny_bundles):
    from PIL import ImageSequence

    from serving.rendering.render import render_frames

    gen = Generator.from_pretrained(tiny_bundles["vae"])  # colour
    recipe = Recipe(seeds=(1, 2), classes=(0, 1), frames=3, size=32, path="lerp", format="webp")
    frames = render_frames(gen, recipe)
    back = [np.asarray(f.convert("RGB")) for f in ImageSequence.Iterator(Image.open(io.BytesIO(render(gen, recipe))))]
    assert len(back) == len(frames) and all(np.array_equal(a, b) for a, b in zip(back, frames))
