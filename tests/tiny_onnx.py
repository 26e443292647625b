"""Tiny generator bundles built with `onnx.helper` alone: the serving and Space tests need no TensorFlow.

Each model is z [batch, D] (and y [batch, K]) -> concat -> MatMul -> Sigmoid -> Reshape -> images
[batch, H, W, C] in [0, 1], with fixed random weights: not a trained model, but every contract a bundle has
(names, dtypes, dynamic batch, sha256, config.json) is the real one, so the checks and the renders run for real.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from serving.bundle.config import GeneratorConfig
from serving.bundle.generator import sha256_file


def tiny_model(latent_dim: int, num_classes: int, size: int, channels: int, seed: int = 0):
    """An ONNX ModelProto honouring the generator contract."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(seed)
    width = latent_dim + num_classes
    weights = rng.normal(0, 1.5 / np.sqrt(width), size=(width, size * size * channels)).astype(np.float32)
    inputs = [helper.make_tensor_value_info("z", TensorProto.FLOAT, ["batch", latent_dim])]
    nodes = []
    joined = "z"
    if num_classes:
        inputs.append(helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", num_classes]))
        nodes.append(helper.make_node("Concat", ["z", "y"], ["zy"], axis=1))
        joined = "zy"
    nodes += [
        helper.make_node("MatMul", [joined, "w"], ["logits"]),
        helper.make_node("Sigmoid", ["logits"], ["flat"]),
        helper.make_node("Reshape", ["flat", "shape"], ["images"]),
    ]
    graph = helper.make_graph(
        nodes,
        "tiny",
        inputs,
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, ["batch", size, size, channels])],
        initializer=[
            numpy_helper.from_array(weights, "w"),
            numpy_helper.from_array(np.array([-1, size, size, channels], dtype=np.int64), "shape"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="ganimate-tests")
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    return model


def make_bundle(
    folder: Path, name: str, latent_dim: int = 8, num_classes: int = 0, size: int = 28, channels: int = 1, seed: int = 0
) -> Path:
    """Write model.onnx and its config.json into `folder`; returns the folder."""
    import onnx

    folder.mkdir(parents=True, exist_ok=True)
    onnx.save(tiny_model(latent_dim, num_classes, size, channels, seed), str(folder / "model.onnx"))
    config = GeneratorConfig(
        name=name,
        latent_dim=latent_dim,
        image_size=(size, size),
        channels=channels,
        model_family="tiny",
        num_classes=num_classes,
        class_names=tuple(f"c{i}" for i in range(num_classes)),
        inputs=("z", "y") if num_classes else ("z",),
        dataset="random weights",
        train_steps=0,
        versions={"opset": "17"},
        sha256=sha256_file(folder / "model.onnx"),
    )
    (folder / "config.json").write_text(config.to_json())
    _write_card(folder)
    return folder


def _write_card(folder: Path) -> None:
    """README.md, samples.png and interpolation.gif, made with the serving library as an export makes them."""
    from serving.bundle.generator import Generator
    from serving.files.grid import sample_sheet
    from serving.publish.cards import card_text
    from serving.rendering.recipe import Recipe
    from serving.rendering.render import render

    gen = Generator.from_pretrained(folder)
    c = gen.config
    sample_sheet(gen, c.latent_dim, list(c.class_names)).save(folder / "samples.png")
    classes = (0, 1) if c.num_classes else None
    recipe = Recipe(seeds=(0, 1), classes=classes, path="lerp", frames=4, size=64, bundle_sha256=c.sha256)
    (folder / "interpolation.gif").write_bytes(render(gen, recipe))
    body = (
        f"# {c.name}\n\nA tiny test generator with random weights (onnxruntime, no TensorFlow).\n"
        "Published as `USER/NAME` on the Hub.\n"
    )
    (folder / "README.md").write_text(
        card_text({"license": "apache-2.0", "library_name": "onnx", "tags": ["ganimate"]}, body)
    )


def tiny_encoder(generator, latent_dim: int, num_classes: int, size: int, channels: int):
    """The exact inverse of `tiny_model` as an ONNX encoder: logit(image) times the pseudo-inverse of its weights
    gives back [z, y]; y (a one-hot near 0/1) scaled up serves as class logits. Honours the encoder contract."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    weights = numpy_helper.to_array(next(t for t in generator.graph.initializer if t.name == "w"))
    inverse = np.linalg.pinv(weights.astype(np.float64)).astype(np.float32)  # [pixels, latent + classes]
    pixels = size * size * channels
    nodes = [
        helper.make_node("Reshape", ["image", "flat_shape"], ["flat"]),
        helper.make_node("Clip", ["flat", "lo", "hi"], ["clipped"]),
        helper.make_node("Sub", ["one", "clipped"], ["rest"]),
        helper.make_node("Div", ["clipped", "rest"], ["odds"]),
        helper.make_node("Log", ["odds"], ["logit"]),
        helper.make_node("MatMul", ["logit", "inverse"], ["code"]),
        helper.make_node("Slice", ["code", "z_from", "z_to", "axis"], ["z"]),
    ]
    outputs = [helper.make_tensor_value_info("z", TensorProto.FLOAT, ["batch", latent_dim])]
    init = [
        numpy_helper.from_array(np.array([-1, pixels], np.int64), "flat_shape"),
        numpy_helper.from_array(np.array(1e-6, np.float32), "lo"),
        numpy_helper.from_array(np.array(1 - 1e-6, np.float32), "hi"),
        numpy_helper.from_array(np.array(1.0, np.float32), "one"),
        numpy_helper.from_array(inverse, "inverse"),
        numpy_helper.from_array(np.array([0], np.int64), "z_from"),
        numpy_helper.from_array(np.array([latent_dim], np.int64), "z_to"),
        numpy_helper.from_array(np.array([1], np.int64), "axis"),
    ]
    if num_classes:
        nodes += [
            helper.make_node("Slice", ["code", "z_to", "y_to", "axis"], ["y_code"]),
            helper.make_node("Mul", ["y_code", "sharp"], ["logits"]),
        ]
        init += [
            numpy_helper.from_array(np.array([latent_dim + num_classes], np.int64), "y_to"),
            numpy_helper.from_array(np.array(20.0, np.float32), "sharp"),
        ]
        outputs.append(helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", num_classes]))
    graph = helper.make_graph(
        nodes,
        "tiny-encoder",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", size, size, channels])],
        outputs,
        initializer=init,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="ganimate-tests")
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    return model


def add_encoder(folder: Path) -> Path:
    """Give the tiny bundle in `folder` its exact encoder, declared in config.json as training.encoder declares one."""
    import json

    import onnx

    raw = json.loads((folder / "config.json").read_text())
    size, channels = raw["image_size"][0], raw["channels"]
    model = tiny_encoder(onnx.load(str(folder / "model.onnx")), raw["latent_dim"], raw["num_classes"], size, channels)
    onnx.save(model, str(folder / "encoder.onnx"))
    raw["encoder"] = {
        "file": "encoder.onnx",
        "sha256": sha256_file(folder / "encoder.onnx"),
        "inputs": ["image"],
        "outputs": ["z", "logits"] if raw["num_classes"] else ["z"],
        "parity_max_abs_diff": 0.0,
    }
    (folder / "config.json").write_text(json.dumps(raw, indent=2, sort_keys=True) + "\n")
    return folder
