"""Tiny generator bundles built with `onnx.helper` alone: the serving and Space tests need no TensorFlow.

Each model is z [batch, D] (and y [batch, K]) -> concat -> MatMul -> Sigmoid -> Reshape -> images
[batch, H, W, C] in [0, 1], with fixed random weights: not a trained model, but every contract a bundle has
(names, dtypes, dynamic batch, sha256, config.json) is the real one, so the checks and the renders run for real.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from serving.config import GeneratorConfig
from serving.generator import sha256_file


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
        nodes, "tiny", inputs,
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, ["batch", size, size, channels])],
        initializer=[numpy_helper.from_array(weights, "w"),
                     numpy_helper.from_array(np.array([-1, size, size, channels], dtype=np.int64), "shape")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="ganimate-tests")
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    return model


def make_bundle(folder: Path, name: str, latent_dim: int = 8, num_classes: int = 0, size: int = 28,
                channels: int = 1, seed: int = 0) -> Path:
    """Write model.onnx and its config.json into `folder`; returns the folder."""
    import onnx

    folder.mkdir(parents=True, exist_ok=True)
    onnx.save(tiny_model(latent_dim, num_classes, size, channels, seed), str(folder / "model.onnx"))
    config = GeneratorConfig(
        name=name, latent_dim=latent_dim, image_size=(size, size), channels=channels, model_family="tiny",
        num_classes=num_classes, class_names=tuple(f"c{i}" for i in range(num_classes)),
        inputs=("z", "y") if num_classes else ("z",), dataset="random weights", train_steps=0,
        versions={"opset": "17"}, sha256=sha256_file(folder / "model.onnx"),
    )
    (folder / "config.json").write_text(config.to_json())
    _write_card(folder)
    return folder


def _write_card(folder: Path) -> None:
    """README.md, samples.png and interpolation.gif, made with the serving library as an export makes them."""
    from serving.cards import card_text
    from serving.generator import Generator
    from serving.grid import sample_sheet
    from serving.recipe import Recipe
    from serving.render import render

    gen = Generator.from_pretrained(folder)
    c = gen.config
    sample_sheet(gen, c.latent_dim, list(c.class_names)).save(folder / "samples.png")
    classes = (0, 1) if c.num_classes else None
    recipe = Recipe(seeds=(0, 1), classes=classes, path="lerp", frames=4, size=64, bundle_sha256=c.sha256)
    (folder / "interpolation.gif").write_bytes(render(gen, recipe))
    body = (f"# {c.name}\n\nA tiny test generator with random weights (onnxruntime, no TensorFlow).\n"
            "Published as `USER/NAME` on the Hub.\n")
    (folder / "README.md").write_text(card_text({"license": "apache-2.0", "library_name": "onnx", "tags": ["ganimate"]}, body))
