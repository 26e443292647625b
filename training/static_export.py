"""A fixed-shape copy of a math-art bundle's model, for runtimes that fix every shape when they load a graph.

model.onnx draws each row with its own family only: it gathers each family's rows (ONNX NonZero), so shapes inside
the graph depend on the classes asked for. OpenCV's DNN module (4.x) refuses that graph as it loads it, first at a
multi-axis Unsqueeze, and it fixes every shape at load time, which those gathers cannot have. model-static.onnx draws every row with every family and keeps the row's own
picture: the same pictures, five renders per row instead of one, at a batch fixed when it is written (1). The
Space, `Generator` and the web page keep model.onnx; this copy is for OpenCV and runtimes like it.

The parameter network is read from model.onnx itself (training/onnx_graph.py), so the copy needs no Keras weights
and can be added to a bundle that is already published:

    python -m training.static_export --bundle exported/mathart-params
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

from serving.atomic import write_atomic
from serving.bundle.config import GeneratorConfig
from serving.errors import GanimateError, InputError, TrainingError

STATIC_FILE = "model-static.onnx"
STATIC_BATCH = 1
# How near the copy must draw to model.onnx in onnxruntime, per pixel (images in [0, 1]): the same arithmetic, so
# only the chaotic Julia and Clifford pixels may move (see training/parity.py RENDERER_PARITY_TOLERANCE).
PARAMS_TOLERANCE = 1e-6
SHARE_WITHIN = 0.999


def static_graph(bundle: Path, config: GeneratorConfig, batch: int = STATIC_BATCH, opset: int = 17):
    """The ModelProto of model-static.onnx for the bundle whose checked config is `config` (`renderer_config`):
    inputs z [batch, latent] and y [batch, families], outputs images and params, every shape fixed."""
    import tensorflow as tf
    import tf2onnx

    from training import mathart_graph
    from training.onnx_graph import OnnxFunction
    from training.onnx_passes import canonical_names, contract_names, deterministic_scatter, portable

    signature = [
        tf.TensorSpec([batch, config.latent_dim], tf.float32, name="z"),
        tf.TensorSpec([batch, config.num_classes], tf.float32, name="y"),
    ]

    def serve(z, y):
        # Read inside the traced function, so the weights become constants of the graph, not captured inputs.
        params = OnnxFunction(bundle / "model.onnx", outputs=("params",))(z=z, y=y)["params"]
        return {"images": mathart_graph.render(params, y, config.image_size[0], every_family=True), "params": params}

    proto, _ = tf2onnx.convert.from_function(tf.function(serve, input_signature=signature), signature, opset=opset)
    proto = canonical_names(portable(deterministic_scatter(contract_names(proto, ["images", "params"]))))
    meta = proto.metadata_props.add()
    meta.key, meta.value = "ganimate_static_copy_of", config.sha256  # the model.onnx it draws like
    return proto


def renderer_config(bundle: Path) -> GeneratorConfig:
    """The bundle's config.json, checked to be a math-art bundle with its model.onnx, or InputError."""
    path = bundle / "config.json"
    if not path.is_file():
        raise InputError(f"{bundle} is not a bundle folder (no config.json)")
    if not (bundle / "model.onnx").is_file():
        raise InputError(f"{bundle} has no model.onnx")
    config = GeneratorConfig.from_json(path.read_text())
    if "params" not in config.outputs:
        raise InputError(
            f"{config.name} draws pixels, not parameters: OpenCV reads its model.onnx as it is (only a "
            "math-art model needs a static copy)"
        )
    return config


def agreement(bundle: Path, config: GeneratorConfig, static_path: Path, count: int = 64) -> dict:
    """model-static.onnx against model.onnx in onnxruntime, one row at a time over `count` parity rows (every
    family, plus mixtures between neighbours): params max |diff|, and per pixel the max, mean and share within 1e-3."""
    import onnxruntime as ort

    from training.parity import RENDERER_PARITY_TOLERANCE, parity_inputs

    z, y = parity_inputs(config.latent_dim, config.num_classes, count)
    # Morphs part-way between two families: 0.75 / 0.25 draws the first at strength 0.5 (at 0.5 / 0.5 a row would be
    # background alone, which would flatter the figures).
    y[1::4] = 0.75 * y[1::4] + 0.25 * np.roll(y[1::4], 1, axis=1)
    options = {"providers": ["CPUExecutionProvider"]}
    full = ort.InferenceSession(str(bundle / "model.onnx"), **options)
    static = ort.InferenceSession(str(static_path), **options)
    images, params = full.run(["images", "params"], {"z": z, "y": y})
    rows = [static.run(["images", "params"], {"z": z[i : i + 1], "y": y[i : i + 1]}) for i in range(count)]
    pixel = np.abs(np.concatenate([r[0] for r in rows]) - images).max(axis=-1)
    return {
        "params_max_abs_diff": float(np.abs(np.concatenate([r[1] for r in rows]) - params).max()),
        "max_abs_diff": float(pixel.max()),
        "mean_abs_diff": float(pixel.mean()),
        "share_within_1e-3": round(float((pixel <= RENDERER_PARITY_TOLERANCE).mean()), 6),
        "rows": count,
    }


def add_static_copy(bundle: Path, opset: int = 17) -> dict:
    """Write model-static.onnx beside model.onnx (temp file, then rename), check it draws like model.onnx, and
    record it in config.json's `extra.static_copy`; returns that record. Refuses a copy that draws differently."""
    import onnx

    from serving.bundle.generator import sha256_file

    bundle = Path(bundle)
    config = renderer_config(bundle)
    proto = static_graph(bundle, config, opset=opset)
    target = bundle / STATIC_FILE
    handle, name = tempfile.mkstemp(prefix=f".{STATIC_FILE}-", dir=bundle)
    os.close(handle)
    staged = Path(name)
    try:
        onnx.save_model(proto, str(staged))
        onnx.checker.check_model(str(staged), full_check=True)
        figures = agreement(bundle, config, staged)
        if figures["params_max_abs_diff"] > PARAMS_TOLERANCE or figures["share_within_1e-3"] < SHARE_WITHIN:
            raise TrainingError(f"{STATIC_FILE} draws unlike model.onnx: {json.dumps(figures)}")
        record = {"file": STATIC_FILE, "sha256": sha256_file(staged), "batch": STATIC_BATCH, "agreement": figures}
        staged.chmod(0o644)  # mkstemp makes it private; a bundle is meant to be read by others
        staged.replace(target)
    finally:
        staged.unlink(missing_ok=True)
    write_atomic(
        bundle / "config.json", config.replace(extra={**config.extra, "static_copy": record}).to_json().encode()
    )
    return record


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m training.static_export",
        description="Add model-static.onnx (fixed shapes, for OpenCV's DNN) to a math-art bundle.",
    )
    p.add_argument("--bundle", required=True, help="bundle folder, e.g. exported/mathart-params")
    args = p.parse_args(argv)
    bundle = Path(args.bundle)
    try:
        renderer_config(bundle)  # a wrong folder is told at once, before TensorFlow's import
        from training.tf_setup import import_tensorflow

        import_tensorflow()
        record = add_static_copy(bundle)
        from training.card import refresh_card

        refresh_card(bundle)  # the card shows the copy's sha256, agreement and OpenCV code
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (GanimateError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(
        f"wrote {bundle / STATIC_FILE} (sha256 {record['sha256'][:12]}...) and the card: {json.dumps(record['agreement'])}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
