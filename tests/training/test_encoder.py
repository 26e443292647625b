"""The encoder's training side: a shipped model.onnx run in TensorFlow, and a short encoder run end to end."""

import json
import shutil

import numpy as np
import onnxruntime as ort
import pytest

from serving import Generator
from tests.conftest import REPO


@pytest.mark.parametrize("bundle, outputs", [("mnist-cdcgan", ("images",)), ("mathart-params", ("params",))])
def test_a_shipped_model_runs_in_tensorflow_as_in_onnxruntime(bundle, outputs):
    from training.onnx_graph import OnnxFunction

    path = REPO / "exported" / bundle / "model.onnx"
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    dims = {i.name: i.shape[1] for i in session.get_inputs()}
    rng = np.random.default_rng(0)
    z = rng.standard_normal((4, dims["z"])).astype(np.float32)
    y = np.eye(dims["y"], dtype=np.float32)[rng.integers(0, dims["y"], 4)]
    want = session.run(list(outputs), {"z": z, "y": y})
    got = OnnxFunction(path, outputs)(z=z, y=y)
    for name, w in zip(outputs, want):
        assert np.abs(got[name].numpy() - w).max() < 1e-4, name


def test_an_unknown_operator_is_named(tmp_path):
    import onnx
    from onnx import TensorProto, helper

    from serving.errors import TrainingError
    from training.onnx_graph import OnnxFunction

    graph = helper.make_graph(
        [helper.make_node("Erf", ["z"], ["images"])],
        "g",
        [helper.make_tensor_value_info("z", TensorProto.FLOAT, ["b", 2])],
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, ["b", 2])],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(tmp_path / "m.onnx"))
    with pytest.raises(TrainingError, match="Erf"):
        OnnxFunction(tmp_path / "m.onnx")


@pytest.mark.slow
def test_a_short_encoder_run_leaves_the_model_alone_and_loads(tmp_path, capsys):
    from training.encoder import main

    bundle = tmp_path / "mnist-cdcgan"
    shutil.copytree(REPO / "exported" / "mnist-cdcgan", bundle)
    model_sha = json.loads((bundle / "config.json").read_text())["sha256"]
    assert main(["--bundle", str(bundle), "--steps", "5"]) == 0
    raw = json.loads((bundle / "config.json").read_text())
    assert raw["sha256"] == model_sha and raw["encoder"]["training"]["steps"] == 5
    assert raw["encoder"]["parity_max_abs_diff"] < 1e-3
    gen = Generator.from_pretrained(bundle)  # the new encoder passes every bundle check
    z, logits = gen.encode(np.zeros((2, 28, 28, 1), np.float32))
    assert z.shape == (2, 64) and logits.shape == (2, 10)
    import onnx

    written = onnx.load(str(bundle / "encoder.onnx"))
    assert [(o.domain, o.version) for o in written.opset_import] == [("", 17)]  # no unused ai.onnx.ml
    assert main(["--bundle", str(tmp_path / "nothing"), "--steps", "5"]) == 2
    assert "not a bundle folder" in capsys.readouterr().err


@pytest.mark.slow
def test_a_short_math_art_encoder_run_loads_and_names_a_family(tmp_path):
    from training.encoder_params import main

    bundle = tmp_path / "mathart-params"
    shutil.copytree(REPO / "exported" / "mathart-params", bundle)
    assert main(["--bundle", str(bundle), "--steps", "3", "--pictures", "64"]) == 0
    gen = Generator.from_pretrained(bundle)
    z, logits = gen.encode(np.zeros((1, 256, 256, 3), np.float32))
    assert z.shape == (1, 32) and logits.shape == (1, 5)
    assert json.loads((bundle / "config.json").read_text())["sha256"] == gen.config.sha256
