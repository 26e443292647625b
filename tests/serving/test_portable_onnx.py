"""Bundles read by a runtime other than onnxruntime: OpenCV's DNN module (4.x), the export pass that makes a
graph portable (training/onnx_passes.py `portable`: one-axis Unsqueezes, no unused opset imports), and the math-art
bundle's fixed-shape copy (training/static_export.py)."""

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper

from tests.conftest import REPO

cv2 = pytest.importorskip("cv2")


def _unsqueeze_model() -> onnx.ModelProto:
    """x [2, 3] -> Unsqueeze(axes=[0, 2]) -> [1, 2, 1, 3] -> Relu: the multi-axis form tf2onnx writes."""
    axes = helper.make_tensor("axes", TensorProto.INT64, [2], [2, 0])
    graph = helper.make_graph(
        [
            helper.make_node("Unsqueeze", ["x", "axes"], ["u"], name="u"),
            helper.make_node("Relu", ["u"], ["y"], name="r"),
        ],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2, 1, 3])],
        [axes],
    )
    return helper.make_model(
        graph,
        ir_version=8,  # what tf2onnx writes at opset 17
        opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("ai.onnx.ml", 2)],
    )


def _opencv(model: onnx.ModelProto, feeds: dict, output: str, folder) -> np.ndarray:
    path = folder / "model.onnx"
    onnx.save(model, str(path))
    net = cv2.dnn.readNetFromONNX(str(path))
    for name, value in feeds.items():
        net.setInput(value, name)
    return net.forward(output)


def test_the_portable_pass_makes_a_graph_opencv_reads_without_changing_a_bit(tmp_path):
    from training.onnx_passes import portable

    before = _unsqueeze_model()
    with pytest.raises(cv2.error):  # the form OpenCV refuses ("Multidimensional unsqueeze")
        _opencv(before, {"x": np.ones((2, 3), np.float32)}, "y", tmp_path)
    after = portable(_unsqueeze_model())
    onnx.checker.check_model(after)
    assert [(o.domain, o.version) for o in after.opset_import] == [("", 17)]  # ai.onnx.ml was used by nothing
    assert all(len(onnx.numpy_helper.to_array(t).ravel()) == 1 for t in after.graph.initializer)
    x = np.arange(-3, 3, dtype=np.float32).reshape(2, 3)
    want = ort.InferenceSession(before.SerializeToString()).run(None, {"x": x})[0]
    got = ort.InferenceSession(after.SerializeToString()).run(None, {"x": x})[0]
    assert got.shape == (1, 2, 1, 3) and np.array_equal(got, want)
    assert np.array_equal(_opencv(after, {"x": x}, "y", tmp_path).reshape(want.shape), want)


def _shipped_feeds(config):
    from serving.latent.latents import one_hot, z_batch

    classes = [3, 8, 0, 5, 1] if config.num_classes >= 10 else list(range(config.num_classes))  # every family
    feeds = {"z": z_batch(list(range(1, len(classes) + 1)), config.latent_dim)}
    if config.conditional:
        feeds["y"] = one_hot(classes, config.num_classes)
    return feeds


@pytest.mark.parametrize("bundle", ["mnist-cdcgan", "mnist-cvae"])
def test_shipped_digit_bundles_load_and_agree_in_opencv(bundle):
    """The digit bundles' own model.onnx, the whole batch at once."""
    from serving.bundle.config import GeneratorConfig

    folder = REPO / "exported" / bundle
    config = GeneratorConfig.from_json((folder / "config.json").read_text())
    assert "static_copy" not in config.extra  # OpenCV reads model.onnx itself
    feeds = _shipped_feeds(config)
    want = ort.InferenceSession(str(folder / "model.onnx")).run(["images"], feeds)[0]
    net = cv2.dnn.readNetFromONNX(str(folder / "model.onnx"))
    for name, value in feeds.items():
        net.setInput(value, name)
    got = net.forward("images").reshape(want.shape)
    assert np.abs(got - want).max() < 1e-4


def test_the_math_art_bundle_loads_and_agrees_in_opencv_through_its_static_copy():
    """model.onnx picks each row's family with NonZero (shapes that follow the classes), and OpenCV 4.x refuses it
    when it loads it, first at one of its multi-axis Unsqueeze nodes (docs/hub.md says so); model-static.onnx (fixed
    shapes, every family drawn) is the bundle's file for it: its sha256 is the one config.json records, and OpenCV
    draws with it what onnxruntime draws with model.onnx, picture by picture (the export's own image-parity rule:
    99% of pixels within 1e-3, 95% in the worst picture; chaotic Julia and Clifford pixels may move more)."""
    from serving.bundle.config import GeneratorConfig
    from serving.bundle.generator import sha256_file

    folder = REPO / "exported" / "mathart-params"
    config = GeneratorConfig.from_json((folder / "config.json").read_text())
    with pytest.raises(cv2.error, match="Multidimensional unsqueeze"):  # why the copy exists, as the docs say
        cv2.dnn.readNetFromONNX(str(folder / "model.onnx"))
    copy = config.extra["static_copy"]
    assert sha256_file(folder / copy["file"]) == copy["sha256"]
    declared = onnx.load(str(folder / copy["file"])).opset_import
    assert [(o.domain, o.version) for o in declared] == [("", 17)]  # no unused ai.onnx.ml
    feeds = _shipped_feeds(config)
    images, params = ort.InferenceSession(str(folder / "model.onnx")).run(["images", "params"], feeds)
    assert len(feeds["z"]) == 5  # one picture of each family
    net = cv2.dnn.readNetFromONNX(str(folder / copy["file"]))
    shares = []
    for i in range(len(feeds["z"])):  # its batch is fixed at 1
        for name, value in feeds.items():
            net.setInput(value[i : i + 1], name)
        got_images, got_params = net.forward(["images", "params"])
        assert np.abs(got_params - params[i : i + 1]).max() < 1e-4
        assert got_images.shape == images[i : i + 1].shape
        shares.append((np.abs(got_images - images[i : i + 1]).max(axis=-1) <= 1e-3).mean())
    assert min(shares) >= 0.95 and np.mean(shares) >= 0.99, shares


def test_no_shipped_graph_declares_an_opset_it_does_not_use():
    """Every opset a shipped graph imports is used by one of its nodes (tf2onnx declares ai.onnx.ml regardless;
    the export drops it, and the shipped graphs had the declaration removed with every output bit-identical)."""
    import onnx

    for path in sorted((REPO / "exported").glob("*/*.onnx")):
        graph = onnx.load(str(path), load_external_data=False)
        used = {n.domain or "" for n in graph.graph.node} | {""}
        assert {o.domain or "" for o in graph.opset_import} <= used, path
