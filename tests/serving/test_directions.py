"""Named directions: measured attributes, fitted in z, that really move what they name."""

import json
import shutil

import numpy as np
import pytest

from serving import Generator
from serving.errors import InputError
from serving.latent.latents import one_hot, z_batch
from serving.rendering.directions import add_to_bundle, main, measures
from tests.conftest import REPO

MNIST = REPO / "exported" / "mnist-cdcgan"


def _bar(width: int, shear: float = 0.0) -> np.ndarray:
    img = np.zeros((28, 28, 1), np.uint8)
    for row in range(4, 24):
        x = int(round(14 + shear * (14 - row)))
        img[row, x - width // 2 : x - width // 2 + width] = 255
    return img


def test_measures_see_thickness_slant_and_width():
    thin, thick, leaning = _bar(2), _bar(6), _bar(2, shear=0.5)
    m = measures(np.stack([thin, thick, leaning]))
    assert m["thickness"][1] > 2 * m["thickness"][0]
    assert abs(m["slant"][0]) < 0.05 and m["slant"][2] > 0.3  # leans right
    assert m["width"][1] > m["width"][0] and m["width"][2] > m["width"][0]


def test_shipped_directions_move_what_they_name():
    gen = Generator.from_pretrained(MNIST)
    named = {d["name"]: d for d in gen.config.extra["directions"]}
    assert set(named) == {"thickness", "slant", "width"} and all(d["r2"] > 0.3 for d in named.values())
    vectors = np.asarray([d["vector"] for d in named.values()])
    np.testing.assert_allclose(vectors @ vectors.T, np.eye(3), atol=1e-5)  # one slider, one attribute
    seeds = list(range(100, 132))
    z, y = z_batch(seeds, gen.latent_dim), one_hot([s % 10 for s in seeds], 10)
    for name, d in named.items():
        step = 2.0 * np.asarray(d["vector"], np.float32)
        lower, upper = measures(gen(z - step, y))[name], measures(gen(z + step, y))[name]
        assert (upper > lower).mean() >= 0.8, name  # most digits move the named way


def test_fitting_writes_config_but_not_the_model(tmp_path, capsys):
    bundle = tmp_path / "b"
    shutil.copytree(MNIST, bundle)
    raw = json.loads((bundle / "config.json").read_text())
    raw["extra"].pop("directions")
    (bundle / "config.json").write_text(json.dumps(raw))
    before = (bundle / "model.onnx").read_bytes()
    assert main(["--bundle", str(bundle), "--samples", "512"]) == 0 and "slant" in capsys.readouterr().out
    assert (bundle / "model.onnx").read_bytes() == before
    assert len(Generator.from_pretrained(bundle).config.extra["directions"]) == 3


def test_rgb_or_renderer_models_are_refused(tiny_bundles):
    with pytest.raises(InputError, match="gray strokes"):
        add_to_bundle(tiny_bundles["vae"])
