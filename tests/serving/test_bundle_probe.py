"""Bundles that pass every static check and still lie: proved by a probe run at load, or refused by their ops."""

import json

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from serving.bundle.generator import Generator, sha256_file
from serving.errors import BundleError
from tests.tiny_onnx import make_bundle


def _replace_model(folder, model) -> None:
    onnx.save(model, str(folder / "model.onnx"))
    raw = json.loads((folder / "config.json").read_text())
    raw["sha256"] = sha256_file(folder / "model.onnx")
    (folder / "config.json").write_text(json.dumps(raw))


def _model(nodes, initializers, out_shape=("batch", 28, 28, 1)):
    graph = helper.make_graph(
        nodes,
        "liar",
        [helper.make_tensor_value_info("z", TensorProto.FLOAT, ["batch", 8])],
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, list(out_shape))],
        initializer=initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model


def test_a_model_whose_real_output_is_another_size_is_refused_at_load(tmp_path):
    folder = make_bundle(tmp_path / "b", "liar")
    w = numpy_helper.from_array(np.zeros((8, 100), np.float32), "w")
    shape = numpy_helper.from_array(np.array([-1, 10, 10, 1], np.int64), "shape")
    _replace_model(
        folder,
        _model(
            [
                helper.make_node("MatMul", ["z", "w"], ["flat"]),
                helper.make_node("Reshape", ["flat", "shape"], ["images"]),
            ],
            [w, shape],
        ),
    )
    with pytest.raises(BundleError, match=r"output 'images' is float32 \[1, 10, 10, 1\].*\[1, 28, 28, 1\]"):
        Generator.from_pretrained(folder)


def test_a_model_that_doubles_the_batch_is_refused_at_load(tmp_path):
    folder = make_bundle(tmp_path / "b", "liar")
    w = numpy_helper.from_array(np.zeros((8, 784), np.float32), "w")
    shape = numpy_helper.from_array(np.array([-1, 28, 28, 1], np.int64), "shape")
    _replace_model(
        folder,
        _model(
            [
                helper.make_node("Concat", ["z", "z"], ["zz"], axis=0),
                helper.make_node("MatMul", ["zz", "w"], ["flat"]),
                helper.make_node("Reshape", ["flat", "shape"], ["images"]),
            ],
            [w, shape],
        ),
    )
    with pytest.raises(BundleError, match=r"\[2, 28, 28, 1\] for a batch of 1"):
        Generator.from_pretrained(folder)


def test_control_flow_is_refused_before_onnxruntime_sees_it(tmp_path):
    folder = make_bundle(tmp_path / "b", "looper")
    body = helper.make_graph(
        [helper.make_node("Identity", ["cond_in"], ["cond_out"])],
        "body",
        [
            helper.make_tensor_value_info("i", TensorProto.INT64, []),
            helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
        ],
        [helper.make_tensor_value_info("cond_out", TensorProto.BOOL, [])],
    )
    trips = numpy_helper.from_array(np.array(10**12, np.int64), "trips")
    cond = numpy_helper.from_array(np.array(True), "cond")
    w = numpy_helper.from_array(np.zeros((8, 784), np.float32), "w")
    shape = numpy_helper.from_array(np.array([-1, 28, 28, 1], np.int64), "shape")
    model = _model(
        [
            helper.make_node("Loop", ["trips", "cond"], [], body=body),
            helper.make_node("MatMul", ["z", "w"], ["flat"]),
            helper.make_node("Reshape", ["flat", "shape"], ["images"]),
        ],
        [trips, cond, w, shape],
    )
    _replace_model(folder, model)
    with pytest.raises(BundleError, match="uses Loop"):
        Generator.from_pretrained(folder)


@pytest.mark.parametrize(
    "directions",
    [[{"vector": [0.0] * 8}], [{"name": "x", "vector": [0.0] * 3}], "nope", [{"name": "x", "vector": ["a"] * 8}]],
)
def test_malformed_named_directions_are_one_line_at_load(tmp_path, directions):
    folder = make_bundle(tmp_path / "b", "tiny")
    raw = json.loads((folder / "config.json").read_text())
    raw.setdefault("extra", {})["directions"] = directions
    (folder / "config.json").write_text(json.dumps(raw))
    with pytest.raises(BundleError, match="extra.directions"):
        Generator.from_pretrained(folder)


def test_a_graph_that_asks_for_gigabytes_is_refused_at_load_in_one_line(tmp_path):
    """Eight bytes of ONNX asking for an 8 GB tensor: the capped arena refuses it at once; memory stays low."""
    import resource

    folder = make_bundle(tmp_path / "b", "bomb")
    shape = numpy_helper.from_array(np.array([1 << 16, 1 << 15], np.int64), "shape")
    small = numpy_helper.from_array(np.array([-1, 28, 28, 1], np.int64), "small")
    w = numpy_helper.from_array(np.zeros((8, 784), np.float32), "w")
    nodes = [
        helper.make_node(
            "ConstantOfShape", ["shape"], ["big"], value=helper.make_tensor("one", TensorProto.FLOAT, [1], [1.0])
        ),
        helper.make_node("ReduceSum", ["big"], ["total"], keepdims=0),
        helper.make_node("MatMul", ["z", "w"], ["flat"]),
        helper.make_node("Add", ["flat", "total"], ["sum"]),
        helper.make_node("Reshape", ["sum", "small"], ["images"]),
    ]
    _replace_model(folder, _model(nodes, [shape, small, w]))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(BundleError, match=r"asks for 8,192 MB at once, more than the [\d,]+ MB onnxruntime may use"):
        Generator.from_pretrained(folder)
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 1 << 20  # KB: under 1 GB more
