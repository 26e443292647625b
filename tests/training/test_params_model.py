"""The parameter GAN: trains, exports one model.onnx that draws, agrees with the numpy renderer, serves without TF."""

import subprocess
import sys

import numpy as np
import onnx
import pytest

from serving.art import mathart
from serving.bundle.config import GeneratorConfig
from serving.bundle.generator import Generator
from tests.conftest import REPO
from training.data import Dataset, to_unit_params
from training.export import export_run
from training.options import TrainOptions
from training.train import main as train_main
from training.train import run_training


@pytest.fixture(scope="module")
def params_bundle(tmp_path_factory):
    """A tiny parameter GAN (latent 8, width 16) trained 3 steps on 20 accepted vectors, then exported."""
    root = tmp_path_factory.mktemp("params")
    params, labels = mathart.sample_accepted(20, seed=5)
    unit = to_unit_params(params)
    data = Dataset(
        "params",
        unit,
        labels,
        list(mathart.FAMILIES),
        unit[:5],
        labels[:5],
        unit[5:10],
        labels[5:10],
        "20 test vectors",
        drawn_shape=(256, 256, 3),
    )
    opts = TrainOptions(
        dataset="mathart-params",
        model="params",
        conditional=True,
        loss="hinge",
        spectral_norm=True,
        latent_dim=8,
        width=16,
        batch_size=8,
        epochs=1,
        max_steps=3,
        log_every=1,
        sample_every=1,
        out=str(root / "run"),
    )
    run_training(opts, data=data, verbose=False)
    assert (root / "run" / "samples" / "final.png").exists()  # sample grids are renders of the parameters
    return export_run(root / "run", root / "bundle")


def test_bundle_has_images_and_params_outputs(params_bundle):
    config = GeneratorConfig.from_json((params_bundle / "config.json").read_text())
    assert config.outputs == ("images", "params") and config.model_family == "params-gan"
    assert config.image_size == (256, 256) and config.channels == 3 and config.class_names == mathart.FAMILIES
    assert config.parity_max_abs_diff <= 1e-4  # the learned part, params, as tight as any generator
    assert config.extra["image_parity"]["share_within_1e-3"] >= 0.99
    assert config.extra["image_parity"]["worst_image_share"] >= 0.95
    assert config.param_names == mathart.NAMES
    model = onnx.load(str(params_bundle / "model.onnx"))
    assert [o.name for o in model.graph.output] == ["images", "params"]
    ops = {n.op_type for n in model.graph.node}
    assert "ScatterElements" in ops and "ScatterND" not in ops  # the racy scatter is rewritten away
    card = (params_bundle / "README.md").read_text()
    assert "| `params` |" in card and "rose_k" in card and "1e-3" in card


def test_export_adds_a_static_copy_that_draws_alike_and_is_written_byte_for_byte_again(params_bundle, tmp_path):
    """model-static.onnx (fixed shapes, for OpenCV): recorded with its sha256 and its agreement with model.onnx;
    written again from the same bundle, the same bytes (so the shipped copy is what the code makes)."""
    import shutil

    from serving.bundle.generator import sha256_file
    from training.static_export import STATIC_FILE, add_static_copy, main

    record = GeneratorConfig.from_json((params_bundle / "config.json").read_text()).extra["static_copy"]
    assert record["file"] == STATIC_FILE and record["sha256"] == sha256_file(params_bundle / STATIC_FILE)
    assert record["agreement"]["params_max_abs_diff"] <= 1e-6 and record["agreement"]["share_within_1e-3"] >= 0.999
    model = onnx.load(str(params_bundle / STATIC_FILE))
    assert "NonZero" not in {n.op_type for n in model.graph.node}
    ends = [*model.graph.input, *model.graph.output]
    assert all(d.dim_value > 0 for v in ends for d in v.type.tensor_type.shape.dim)  # every size fixed
    again = tmp_path / "again"
    shutil.copytree(params_bundle, again)
    (again / STATIC_FILE).unlink()
    assert add_static_copy(again)["sha256"] == record["sha256"]
    assert main(["--bundle", str(tmp_path / "nothing-here")]) == 2
    (again / "model.onnx").unlink()
    assert main(["--bundle", str(again)]) == 2  # one line, not onnx's FileNotFoundError
    assert main(["--bundle", str(REPO / "exported" / "mnist-cdcgan")]) == 2  # pixels: OpenCV reads model.onnx


def test_rendering_is_deterministic_on_several_threads(params_bundle):
    """onnxruntime's multi-threaded ScatterND lost additions; the exported splat gives the same pixels every run."""
    gen = Generator.from_pretrained(params_bundle, threads=2)
    z = np.random.default_rng(0).standard_normal((24, gen.latent_dim)).astype(np.float32)
    y = np.eye(5, dtype=np.float32)[np.arange(24) % 5]
    first = gen(z, y, output="float")
    for _ in range(3):
        np.testing.assert_array_equal(gen(z, y, output="float"), first)
    params = gen.params(z, y)
    assert params.shape == (24, len(mathart.NAMES))
    assert np.all(params >= mathart.LOW.astype(np.float32)) and np.all(params <= mathart.HIGH.astype(np.float32))


def test_params_at_the_float32_limits_are_drawn(params_bundle):
    """model.onnx clips to float32 copies of the limits, a rounding step outside some of them: numpy draws them."""
    gen = Generator.from_pretrained(params_bundle)
    z = np.full((10, gen.latent_dim), 40.0, np.float32)  # saturates the tanh: every value at a limit
    z[5:] *= -1
    y = np.eye(5, dtype=np.float32)[np.arange(10) % 5]
    params = gen.params(z, y)
    at_limit = np.isclose(params, mathart.LOW.astype(np.float32)) | np.isclose(params, mathart.HIGH.astype(np.float32))
    assert at_limit.mean() > 0.5
    drawn = mathart.render_mix(params.astype(np.float64), y, 64)
    assert drawn.shape == (10, 64, 64, 3) and np.isfinite(drawn).all()


def test_onnx_images_match_the_numpy_renderer(params_bundle):
    """model.onnx and serving.art.mathart draw the same parameters alike: within 2/255 on 99% of pixels."""
    gen = Generator.from_pretrained(params_bundle)
    z = np.random.default_rng(1).standard_normal((12, gen.latent_dim)).astype(np.float32)
    y = np.eye(5, dtype=np.float32)[np.arange(12) % 5]
    y[10], y[11] = [0.3, 0.7, 0, 0, 0], [0, 0, 0.2, 0.2, 0.6]  # class mixtures fade the same way too
    onnx_images = gen(z, y, output="float")
    numpy_images = mathart.render_mix(gen.params(z, y).astype(np.float64), y, 256)
    close = (np.abs(onnx_images - numpy_images).max(axis=-1) <= 2 / 255).mean(axis=(1, 2))
    assert close.min() >= 0.99, close


def test_graph_renderer_matches_numpy_on_accepted_data():
    """The TensorFlow renderer itself (before export) on accepted dataset vectors of every family."""
    import tensorflow as tf

    from training import mathart_graph

    params, labels = mathart.sample_accepted(10, seed=8)
    y = np.eye(5, dtype=np.float32)[labels]
    graph = mathart_graph.render(tf.constant(params, tf.float32), tf.constant(y), 128).numpy()
    numpy_images = mathart.render_mix(params.astype(np.float32).astype(np.float64), y, 128)
    close = (np.abs(graph - numpy_images).max(axis=-1) <= 2 / 255).mean(axis=(1, 2))
    assert close.min() >= 0.99, close


def test_serving_renders_a_gif_without_tensorflow(params_bundle, tmp_path):
    out = tmp_path / "walk.gif"
    code = (
        "import sys; sys.modules['tensorflow'] = None\n"  # any import of TensorFlow now fails
        "from serving.cli import main\n"
        f"sys.exit(main(['render', '--bundle', {str(params_bundle)!r}, '--seeds', '1,2,3', '--frames', '4', "
        f"'--size', '128', '--out', {str(out)!r}]))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    from PIL import Image

    with Image.open(out) as gif:
        assert gif.n_frames == 12 and gif.size == (128, 128)


def test_bad_parameter_table_exits_2_and_writes_nothing(tmp_path, capsys):
    table = tmp_path / "mine.csv"
    table.write_text("family,hue\nrose,0.5\n")
    out = tmp_path / "run"
    assert train_main(["--dataset", f"params:{table}", "--model", "params", "--conditional", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "line 1: missing column(s)" in err and err.count("\n") == 1
    assert not out.exists()


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--dataset", "mnist-sample", "--model", "params", "--conditional"], "--model params trains on"),
        (["--dataset", "mathart-params", "--model", "dcgan"], "train it with --model params"),
        (["--dataset", "mathart-params", "--model", "params"], "add --conditional"),
    ],
)
def test_params_options_are_checked(tmp_path, capsys, argv, message):
    assert train_main([*argv, "--out", str(tmp_path / "run")]) == 2
    assert message in capsys.readouterr().err


def test_params_dataset_round_trips_through_a_table(tmp_path):
    """--dataset params:FILE.csv loads a user's table: the same vectors, scaled to [-1, 1], with a held-out split."""
    from serving.art.mathart_csv import to_csv
    from training.data import from_unit_params, load_dataset

    params, labels = mathart.sample_accepted(20, seed=6)
    table = tmp_path / "mine.csv"
    table.write_text(to_csv(params, labels))
    data = load_dataset(f"params:{table}", mathart_count=20)
    assert len(data.images) + len(data.val_images) + len(data.test_images) == 20 and data.image_shape == (256, 256, 3)
    assert data.images.min() >= -1 and data.images.max() <= 1
    restored = from_unit_params(np.concatenate([data.images, data.val_images, data.test_images]))
    assert np.allclose(np.sort(restored, axis=0), np.sort(params, axis=0), atol=1e-5)
