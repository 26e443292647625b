"""Export a run's generator to a verified ONNX bundle.

    python -m training.export --run runs/mnist-cdcgan --out exported/mnist-cdcgan [--opset 17] [--force] [--quantize]

Steps: rebuild the run's model and load its last checkpoint -> convert the EMA generator (or VAE decoder) with
tf2onnx.convert.from_function and a named signature, with the [-1, 1] -> [0, 1] mapping inside the graph ->
validate (onnx full check, contract, parity with Keras on 64 fixed seeds, batch 1 and 37) -> write the bundle
in a temporary folder -> rename it into place. Nothing is written unless every check passes.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from serving.config import GeneratorConfig
from serving.latents import one_hot, z_batch

PARITY_TOLERANCE = 1e-4
PARITY_SEEDS = 64


class ExportError(RuntimeError):
    """The export failed a check; nothing was written."""


def load_run(run_dir: Path):
    """(options, dataset facts, model with the last checkpoint restored, step)."""
    from training import checkpoint
    from training.build import build_model
    from training.options import TrainOptions

    options_path = run_dir / "options.json"
    if not options_path.exists():
        raise ExportError(f"{run_dir} is not a run folder (no options.json)")
    opts = TrainOptions.from_json(options_path.read_text())
    facts = json.loads((run_dir / "dataset.json").read_text())
    found = checkpoint.latest_checkpoint(run_dir)
    if found is None:
        raise ExportError(f"{run_dir} has no checkpoint to export")
    model = build_model(opts, facts["image_shape"][2], len(facts["class_names"]))
    step = checkpoint.restore(found[1], model.state_variables())
    return opts, facts, model, step


def convert(generator, latent_dim: int, num_classes: int, opset: int):
    """ONNX ModelProto for images = clip((G(z[, y]) + 1) / 2, 0, 1), inputs named z (and y), output 'images'."""
    import tensorflow as tf
    import tf2onnx

    signature = [tf.TensorSpec([None, latent_dim], tf.float32, name="z")]
    if num_classes:
        signature.append(tf.TensorSpec([None, num_classes], tf.float32, name="y"))

        def serve(z, y):
            return {"images": tf.clip_by_value((generator([z, y], training=False) + 1.0) / 2.0, 0.0, 1.0)}
    else:

        def serve(z):
            return {"images": tf.clip_by_value((generator(z, training=False) + 1.0) / 2.0, 0.0, 1.0)}

    fn = tf.function(serve, input_signature=signature)
    model_proto, _ = tf2onnx.convert.from_function(fn, input_signature=signature, opset=opset)
    # tf2onnx names the output after the graph tensor; rename it to the contract's name everywhere it appears.
    old = model_proto.graph.output[0].name
    if old != "images":
        for node in model_proto.graph.node:
            node.output[:] = ["images" if o == old else o for o in node.output]
            node.input[:] = ["images" if i == old else i for i in node.input]
        model_proto.graph.output[0].name = "images"
    return canonical_names(model_proto)


def canonical_names(model_proto):
    """Name every internal tensor, node and dynamic size by its position, so the same weights give the same bytes.

    tf2onnx numbers the names it makes (`new_shape__118`) from a counter whose value differs from run to run,
    which made two exports of one checkpoint differ in sha256. Graph inputs and outputs keep their contract
    names; nodes become `NNN_OpType`, their outputs `NNN_OpType:j`, constants `const_K` in order of first use.
    """
    graph = model_proto.graph
    keep = {v.name for v in graph.input} | {v.name for v in graph.output}
    initializers = {t.name for t in graph.initializer}
    names: dict[str, str] = {}
    consts: list[str] = []  # initializers in order of first use
    for i, node in enumerate(graph.node):
        node.name = f"{i:03d}_{node.op_type}"
        for x in node.input:
            if x in initializers and x not in names:
                names[x] = f"const_{len(consts)}"
                consts.append(x)
        for j, x in enumerate(node.output):
            if x and x not in keep:
                names[x] = f"{node.name}:{j}"
        node.input[:] = [names.get(x, x) for x in node.input]
        node.output[:] = [names.get(x, x) for x in node.output]
    rank = {name: k for k, name in enumerate(consts)}
    ordered = sorted(graph.initializer, key=lambda t: (rank.get(t.name, len(rank)), t.name))  # unused ones last
    for tensor in ordered:
        tensor.name = names.get(tensor.name, tensor.name)
    del graph.initializer[:]
    graph.initializer.extend(ordered)
    for info in graph.value_info:
        info.name = names.get(info.name, info.name)
    infos = sorted(graph.value_info, key=lambda v: v.name)
    del graph.value_info[:]
    graph.value_info.extend(infos)
    # Dynamic sizes (`unk__267`) and the doc string (`__inference_serve_7608`) carry the same counters.
    # Every dynamic leading dimension here is the batch, so it is named as one.
    dims: dict[str, str] = {}
    for info in [*graph.input, *graph.output, *graph.value_info]:
        for k, dim in enumerate(info.type.tensor_type.shape.dim):
            if dim.dim_param:
                dim.dim_param = dims.setdefault(dim.dim_param, "batch" if k == 0 else f"dim_{len(dims)}")
    graph.doc_string = "ganimate generator: images = clip((G(z[, y]) + 1) / 2, 0, 1)"
    return model_proto


def parity_inputs(latent_dim: int, num_classes: int, count: int = PARITY_SEEDS):
    z = z_batch(list(range(count)), latent_dim)
    y = one_hot(np.arange(count) % num_classes, num_classes) if num_classes else None
    return z, y


def validate(model_path: Path, config: GeneratorConfig, generator) -> float:
    """Full ONNX check, contract check, Keras parity and dynamic batch; returns the max |diff|."""
    import onnx
    import onnxruntime as ort

    from serving.generator import BundleError, check_model

    try:
        onnx.checker.check_model(str(model_path), full_check=True)
        check_model(model_path, config)
    except (onnx.checker.ValidationError, BundleError) as exc:
        raise ExportError(f"exported model failed validation: {exc}") from None
    session = ort.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])
    z, y = parity_inputs(config.latent_dim, config.num_classes)
    feed = {"z": z, **({"y": y} if y is not None else {})}
    onnx_out = session.run(["images"], feed)[0]
    keras_in = [z, y] if y is not None else z
    keras_out = np.clip((np.asarray(generator.predict_on_batch(keras_in)) + 1.0) / 2.0, 0.0, 1.0)
    diff = float(np.max(np.abs(onnx_out - keras_out)))
    if not diff <= PARITY_TOLERANCE:
        raise ExportError(f"onnxruntime and Keras disagree: max |diff| {diff:.3g} > {PARITY_TOLERANCE}")
    for batch in (1, 37):
        zb, yb = parity_inputs(config.latent_dim, config.num_classes, batch)
        out = session.run(["images"], {"z": zb, **({"y": yb} if yb is not None else {})})[0]
        if out.shape != (batch, *config.image_size, config.channels):
            raise ExportError(f"batch {batch} gave shape {out.shape}")
    return diff


def _versions(opset: int) -> dict[str, str]:
    import keras
    import onnx
    import tensorflow as tf
    import tf2onnx

    return {"tensorflow": tf.__version__, "keras": keras.__version__, "tf2onnx": tf2onnx.__version__,
            "onnx": onnx.__version__, "opset": str(opset), "ganimate": "0.1.0"}


def export_run(run_dir: Path, out_dir: Path, opset: int = 17, force: bool = False, name: str | None = None,
               quantize: bool = False) -> Path:
    """Export `run_dir` to the bundle folder `out_dir`; returns out_dir. `quantize` adds a measured int8 copy."""
    import onnx

    from serving.generator import sha256_file
    from training.card import write_card_assets

    run_dir, out_dir = Path(run_dir), Path(out_dir)
    if out_dir.exists() and not force:
        raise ExportError(f"{out_dir} already exists; pass --force to replace it")
    opts, facts, model, step = load_run(run_dir)
    generator = model.sampling_generator
    num_classes = len(facts["class_names"]) if opts.conditional else 0
    size = opts.resolved_image_size()
    config = GeneratorConfig(
        name=name or out_dir.name,
        latent_dim=opts.latent_dim,
        image_size=(size, size),
        channels=facts["image_shape"][2],
        model_family=opts.model if opts.model == "vae" else {"wgan-gp": "wgan-gp"}.get(opts.loss, "dcgan"),
        num_classes=num_classes,
        class_names=tuple(facts["class_names"]) if num_classes else (),
        inputs=("z", "y") if num_classes else ("z",),
        dataset=facts["source"],
        train_steps=step,
        versions=_versions(opset),
        extra={"training": {k: v for k, v in json.loads(opts.to_json()).items() if k != "out"},
               "ema_generator": opts.model == "dcgan" and opts.ema > 0},
    )

    # 1. Convert, attach the config (without its sha256, which cannot describe the file it is inside).
    proto = convert(generator, config.latent_dim, num_classes, opset)
    meta = proto.metadata_props.add()
    meta.key, meta.value = "ganimate_config", config.to_json()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}-", dir=out_dir.parent))
    staging.chmod(0o755)  # mkdtemp makes it private; a bundle is meant to be read by others
    try:
        model_path = staging / "model.onnx"
        onnx.save_model(proto, str(model_path))
        config = config.replace(sha256=sha256_file(model_path))
        # 2. Validate before anything else is written.
        config = config.replace(parity_max_abs_diff=validate(model_path, config, generator))
        if quantize:
            from training.quantize import quantize_int8

            z, y = parity_inputs(config.latent_dim, config.num_classes)
            report = quantize_int8(model_path, {"z": z, **({"y": y} if y is not None else {})})
            if isinstance(report, str):
                print(f"notice: {report}")
            else:
                config = config.replace(extra={**config.extra, "quantized": report.to_dict()})
        (staging / "config.json").write_text(config.to_json())
        # 3. Card, pictures (rendered from the ONNX model itself) and the run's records.
        write_card_assets(staging, config, run_dir)
        # 4. Swap into place: the old bundle is removed only after the new one is complete.
        if out_dir.exists():
            backup = out_dir.with_name(f".{out_dir.name}-old-{os.getpid()}")
            os.replace(out_dir, backup)
            os.replace(staging, out_dir)
            shutil.rmtree(backup, ignore_errors=True)
        else:
            os.replace(staging, out_dir)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return out_dir


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m training.export",
        description="Export a training run's generator as a verified ONNX bundle.",
        epilog="example:\n  python -m training.export --run runs/mnist-cdcgan --out exported/mnist-cdcgan --force",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--run", required=True, help="run folder written by python -m training.train")
    p.add_argument("--out", required=True, help="bundle folder to create")
    p.add_argument("--opset", type=int, default=17, help="ONNX opset, 17 or newer (default 17)")
    p.add_argument("--force", action="store_true", help="replace an existing bundle")
    p.add_argument("--name", default=None, help="model name in config.json (default: the --out folder's name)")
    p.add_argument("--quantize", action="store_true",
                   help="also write model.int8.onnx (dynamic int8), kept only with its measured parity and speed")
    args = p.parse_args(argv)
    if args.opset < 17:
        print(f"error: --opset must be 17 or newer, got {args.opset}", file=sys.stderr)
        return 2
    started = time.perf_counter()
    try:
        out = export_run(Path(args.run), Path(args.out), args.opset, args.force, args.name, args.quantize)
    except ExportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    config = GeneratorConfig.from_json((out / "config.json").read_text())
    print(f"exported {out} in {time.perf_counter() - started:.1f}s: parity max|diff| {config.parity_max_abs_diff:.2e}, "
          f"sha256 {config.sha256[:12]}..., {(out / 'model.onnx').stat().st_size / 1e6:.2f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
