"""Export a run's generator to a verified ONNX bundle.

    python -m training.export --run runs/mnist-mine --out exported/mnist-mine [--opset 17] [--force] [--quantize]

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

import serving
from serving.bundle.config import GeneratorConfig
from serving.errors import BundleError, GanimateError, InputError, TrainingError
from serving.publish.license import license_text
from training.onnx_passes import canonical_names, contract_names, deterministic_scatter, portable
from training.options import model_family
from training.parity import (
    IMAGE_PARITY_SHARE,
    PARITY_TOLERANCE,
    RENDERER_PARITY_TOLERANCE,
    WORST_IMAGE_SHARE,
    parity_inputs,
)


def load_run(run_dir: Path, step: int | None = None):
    """(options, dataset facts, model with the checkpoint of `step` (default: the last) restored, step)."""
    from training import checkpoint
    from training.build import build_model
    from training.options import TrainOptions

    options_path = run_dir / "options.json"
    if not options_path.exists():
        raise InputError(f"{run_dir} is not a run folder (no options.json)")
    opts = TrainOptions.from_json(options_path.read_text())
    facts = json.loads((run_dir / "dataset.json").read_text())
    found = checkpoint.latest_checkpoint(run_dir)
    if found is None:
        raise InputError(f"{run_dir} has no checkpoint to export")
    if step is not None:
        kept = dict(checkpoint.list_checkpoints(run_dir))
        if step not in kept:
            raise InputError(f"{run_dir} has no checkpoint of step {step}; it keeps {', '.join(map(str, kept))}")
        found = (step, kept[step])
    # total_steps only shapes the optimizers' state like the run's (a decaying rate holds no variable); its value
    # does not matter here.
    model = build_model(
        opts, facts["image_shape"][2], len(facts["class_names"]), for_export=True, total_steps=opts.max_steps or 1
    )
    step = checkpoint.restore(found[1], model.state_variables())
    return opts, facts, model, step


def checkpoint_choice(run_dir: Path, step: int) -> dict:
    """How the exported checkpoint was chosen, for config.json: its validation probe row, if the run probed it."""
    import csv

    from training import checkpoint

    last = checkpoint.latest_checkpoint(run_dir)
    rows = []
    if (run_dir / "quality.csv").is_file():
        with open(run_dir / "quality.csv", newline="") as fh:
            rows = list(csv.DictReader(fh))
    row = next((r for r in rows if int(r["step"]) == step), None)
    if row is None:
        how = "the run's last checkpoint" if last and last[0] == step else f"step {step}, not probed"
        return {"chosen_by": how}
    return {
        "chosen_by": f"validation probes: step {step} of {len(rows)} probed steps ({rows[0]['step']}.."
        f"{rows[-1]['step']}), quality.csv",
        "validation_probe": {k: float(v) for k, v in row.items()},
    }


def serving_function(generator, latent_dim: int, num_classes: int, renderer_size: int | None = None):
    """The exported computation as a tf.function with a named signature: z (and y) -> {"images"[, "params"]}.

    Pixel generators map tanh output to [0, 1]. With `renderer_size`, the generator's unit parameters are mapped
    onto the documented math-art ranges and drawn by the graph renderer, and the parameters are a second output.
    """
    import tensorflow as tf

    signature = [tf.TensorSpec([None, latent_dim], tf.float32, name="z")]
    if num_classes:
        signature.append(tf.TensorSpec([None, num_classes], tf.float32, name="y"))

    def outputs(raw, y):
        if renderer_size is None:
            return {"images": tf.clip_by_value((raw + 1.0) / 2.0, 0.0, 1.0)}
        from serving.art import mathart
        from training import mathart_graph

        low, high = tf.constant(mathart.LOW, tf.float32), tf.constant(mathart.HIGH, tf.float32)
        params = tf.clip_by_value(low + (raw + 1.0) / 2.0 * (high - low), low, high)
        return {"images": mathart_graph.render(params, y, renderer_size), "params": params}

    if num_classes:

        def serve(z, y):
            return outputs(generator([z, y], training=False), y)
    else:

        def serve(z):
            return outputs(generator(z, training=False), None)

    return tf.function(serve, input_signature=signature), signature


def convert(generator, latent_dim: int, num_classes: int, opset: int, renderer_size: int | None = None):
    """ONNX ModelProto of `serving_function`, inputs named z (and y), outputs named images (and params)."""
    import tf2onnx

    fn, signature = serving_function(generator, latent_dim, num_classes, renderer_size)
    model_proto, _ = tf2onnx.convert.from_function(fn, input_signature=signature, opset=opset)
    wanted = ["images"] if renderer_size is None else ["images", "params"]
    return canonical_names(portable(deterministic_scatter(contract_names(model_proto, wanted))))


def validate(model_path: Path, config: GeneratorConfig, reference) -> tuple[float, dict | None]:
    """Full ONNX check, contract check, parity with `reference(z, y) -> {output: array}` and dynamic batch.

    Returns the max |diff| of the learned part (images; for a renderer model, its params) and, for a renderer
    model, the image parity figures (see `IMAGE_PARITY_SHARE`)."""
    import onnx
    import onnxruntime as ort

    from serving.bundle.bundle_checks import check_model

    try:
        onnx.checker.check_model(str(model_path), full_check=True)
        check_model(model_path, config)
    except (onnx.checker.ValidationError, BundleError) as exc:
        raise TrainingError(f"exported model failed validation: {exc}") from None
    session = ort.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])
    z, y = parity_inputs(config.latent_dim, config.num_classes)
    feed = {"z": z, **({"y": y} if y is not None else {})}
    names = list(config.outputs)
    onnx_out = dict(zip(names, session.run(names, feed)))
    keras_out = {n: np.asarray(v) for n, v in reference(z, y).items()}
    learned = "params" if "params" in names else "images"
    diff = float(np.max(np.abs(onnx_out[learned] - keras_out[learned])))
    if not diff <= PARITY_TOLERANCE:
        raise TrainingError(f"onnxruntime and Keras disagree on {learned}: max |diff| {diff:.3g} > {PARITY_TOLERANCE}")
    image_parity = None
    if learned == "params":
        pixel = np.abs(onnx_out["images"] - keras_out["images"]).max(axis=-1)
        per_image = (pixel <= RENDERER_PARITY_TOLERANCE).mean(axis=(1, 2))
        image_parity = {
            "share_within_1e-3": round(float(per_image.mean()), 6),
            "worst_image_share": round(float(per_image.min()), 6),
            "max_abs_diff": float(pixel.max()),
            "mean_abs_diff": float(pixel.mean()),
        }
        # Over the batch, and per image, so one wrong picture cannot hide in the average (a chaotic Clifford orbit
        # alone has moved up to 2.4% of one image's pixels).
        if per_image.mean() < IMAGE_PARITY_SHARE or per_image.min() < WORST_IMAGE_SHARE:
            raise TrainingError(
                f"onnxruntime and Keras draw different images: {per_image.mean():.4%} of pixels agree "
                f"within {RENDERER_PARITY_TOLERANCE} (need {IMAGE_PARITY_SHARE:.0%}), and "
                f"{per_image.min():.4%} in the worst image (need {WORST_IMAGE_SHARE:.0%})"
            )
    for batch in (1, 37):
        zb, yb = parity_inputs(config.latent_dim, config.num_classes, batch)
        out = session.run(["images"], {"z": zb, **({"y": yb} if yb is not None else {})})[0]
        if out.shape != (batch, *config.image_size, config.channels):
            raise TrainingError(f"batch {batch} gave shape {out.shape}")
    return diff, image_parity


def params_contract() -> dict:
    """What the `params` output holds, for config.json: names, ranges and the renderer that draws them."""
    from serving.art import mathart

    return {
        "renderer": mathart.RENDERER_VERSION,
        "names": list(mathart.NAMES),
        "low": mathart.LOW.tolist(),
        "high": mathart.HIGH.tolist(),
        "families": list(mathart.FAMILIES),
    }


def _versions(opset: int) -> dict[str, str]:
    import keras
    import onnx
    import tensorflow as tf
    import tf2onnx

    return {
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "tf2onnx": tf2onnx.__version__,
        "onnx": onnx.__version__,
        "opset": str(opset),
        "ganimate": serving.__version__,
    }


def _refuse_overwrite(out_dir: Path, force: bool, replace: str | None) -> None:
    if out_dir.exists() and not force:
        raise InputError(f"{out_dir} already exists; pass --force to replace it")
    if (out_dir / "metrics.json").exists() and replace != out_dir.name:
        raise InputError(
            f"{out_dir} holds an evaluated bundle (metrics.json); export into a new folder, or pass "
            f"--force --replace {out_dir.name} to overwrite it"
        )


def _bundle_config(
    run_dir: Path, out_dir: Path, opts, facts: dict, step: int, opset: int, name: str | None
) -> GeneratorConfig:
    """The bundle's contract from the run's options and data facts (sha256 and parity are filled in later)."""
    num_classes = len(facts["class_names"]) if opts.conditional else 0
    size = opts.resolved_image_size()
    renderer = opts.model == "params"
    return GeneratorConfig(
        name=name or out_dir.name,
        latent_dim=opts.latent_dim,
        image_size=(size, size),
        channels=facts["image_shape"][2],
        model_family=model_family(opts.model, opts.loss),
        num_classes=num_classes,
        class_names=tuple(facts["class_names"]) if num_classes else (),
        inputs=("z", "y") if num_classes else ("z",),
        outputs=("images", "params") if renderer else ("images",),
        dataset=facts["source"],
        train_steps=step,
        versions=_versions(opset),
        extra={
            "training": {k: v for k, v in json.loads(opts.to_json()).items() if k != "out"},
            "ema_generator": opts.model != "vae" and opts.ema > 0,
            "data": {
                k: facts[k]
                for k in ("name", "spec", "sha256", "train_images", "val_images", "test_images")
                if k in facts
            },
            "checkpoint": checkpoint_choice(run_dir, step),
            **({"params": params_contract()} if renderer else {}),
        },
    )


def _verified(
    model_path: Path, config: GeneratorConfig, generator, renderer_size: int | None, quantize: bool
) -> GeneratorConfig:
    """Check the written model against the Keras one (parity, contract, dynamic batch) and, with `quantize`, add
    the measured int8 copy; returns the config with those figures."""
    from serving.bundle.generator import sha256_file

    config = config.replace(sha256=sha256_file(model_path))
    reference, _ = serving_function(generator, config.latent_dim, config.num_classes, renderer_size)

    def keras_outputs(z, y):
        return {k: v.numpy() for k, v in (reference(z, y) if y is not None else reference(z)).items()}

    diff, image_parity = validate(model_path, config, keras_outputs)
    config = config.replace(parity_max_abs_diff=diff)
    if image_parity is not None:
        config = config.replace(extra={**config.extra, "image_parity": image_parity})
    if quantize:
        from training.quantize import quantize_int8

        z, y = parity_inputs(config.latent_dim, config.num_classes)
        report = quantize_int8(model_path, {"z": z, **({"y": y} if y is not None else {})})
        if isinstance(report, str):
            print(f"notice: {report}")
        else:
            config = config.replace(extra={**config.extra, "quantized": report.to_dict()})
    return config


def _swap_into_place(staging: Path, out_dir: Path) -> None:
    """The old bundle is removed only after the new one is complete."""
    if out_dir.exists():
        backup = out_dir.with_name(f".{out_dir.name}-old-{os.getpid()}")
        os.replace(out_dir, backup)
        os.replace(staging, out_dir)
        shutil.rmtree(backup, ignore_errors=True)
    else:
        os.replace(staging, out_dir)


def export_run(
    run_dir: Path,
    out_dir: Path,
    opset: int = 17,
    force: bool = False,
    name: str | None = None,
    quantize: bool = False,
    replace: str | None = None,
    step: int | None = None,
) -> Path:
    """Export `run_dir` (its checkpoint of `step`, default the last) to the bundle folder `out_dir`; returns out_dir.
    `quantize` adds a measured int8 copy. config.json records how the checkpoint was chosen: the run's validation
    probe row of that step when it has one (quality.csv), else "the run's last checkpoint".

    An existing folder is replaced only with `force`; one that holds an evaluated bundle (metrics.json: a shipped
    or published model) only when `replace` also names it, so a tutorial command can never overwrite it."""
    import onnx

    from training.card import write_card_assets

    run_dir, out_dir = Path(run_dir), Path(out_dir)
    _refuse_overwrite(out_dir, force, replace)
    opts, facts, model, step = load_run(run_dir, step)
    generator = model.sampling_generator
    config = _bundle_config(run_dir, out_dir, opts, facts, step, opset, name)
    renderer_size = config.image_size[0] if "params" in config.outputs else None

    # 1. Convert, attach the config (without its sha256, which cannot describe the file it is inside).
    proto = convert(generator, config.latent_dim, config.num_classes, opset, renderer_size)
    meta = proto.metadata_props.add()
    meta.key, meta.value = "ganimate_config", config.to_json()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}-", dir=out_dir.parent))
    staging.chmod(0o755)  # mkdtemp makes it private; a bundle is meant to be read by others
    try:
        model_path = staging / "model.onnx"
        onnx.save_model(proto, str(model_path))
        # 2. Validate before anything else is written.
        config = _verified(model_path, config, generator, renderer_size, quantize)
        (staging / "config.json").write_text(config.to_json())
        if renderer_size is not None:  # a fixed-shape copy for OpenCV, which cannot load the renderer
            from training.static_export import add_static_copy

            add_static_copy(staging, opset)
            config = GeneratorConfig.from_json((staging / "config.json").read_text())
        if renderer_size is None and config.channels == 1:  # gray pixel models: named directions for Explore
            from serving.rendering.directions import add_to_bundle

            add_to_bundle(staging)
            config = GeneratorConfig.from_json((staging / "config.json").read_text())
        # 3. Card, pictures (rendered from the ONNX model itself), the run's records and the license.
        write_card_assets(staging, config, run_dir)
        (staging / "LICENSE").write_bytes(license_text())
        _swap_into_place(staging, out_dir)  # 4.
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return out_dir


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m training.export",
        description="Export a training run's generator as a verified ONNX bundle.",
        epilog="example:\n  python -m training.export --run runs/mnist-mine --out exported/mnist-mine",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--run", required=True, help="run folder written by python -m training.train")
    p.add_argument("--out", required=True, help="bundle folder to create")
    p.add_argument("--opset", type=int, default=17, help="ONNX opset, 17 or newer (default 17)")
    p.add_argument("--force", action="store_true", help="replace an existing bundle")
    p.add_argument(
        "--replace",
        default=None,
        metavar="NAME",
        help="with --force: also replace an evaluated bundle (one with metrics.json) named NAME",
    )
    p.add_argument("--name", default=None, help="model name in config.json (default: the --out folder's name)")
    p.add_argument(
        "--step",
        type=int,
        default=None,
        help="export the checkpoint of this step (default: the last); choose it by the run's validation "
        "probes (quality.csv), never by training.evaluate",
    )
    p.add_argument(
        "--quantize",
        action="store_true",
        help="also write model.int8.onnx (dynamic int8), kept only with its measured parity and speed",
    )
    args = p.parse_args(argv)
    from training.tf_setup import import_tensorflow

    import_tensorflow()  # before anything else imports it: its start-up lines are noise for a user
    if args.opset < 17:
        print(f"error: --opset must be 17 or newer, got {args.opset}", file=sys.stderr)
        return 2
    started = time.perf_counter()
    try:
        out = export_run(
            Path(args.run), Path(args.out), args.opset, args.force, args.name, args.quantize, args.replace, args.step
        )
    except InputError as exc:  # the command names something that cannot be exported
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except GanimateError as exc:  # the export itself failed its checks (validation, parity)
        print(f"error: {exc}", file=sys.stderr)
        return 1
    config = GeneratorConfig.from_json((out / "config.json").read_text())
    print(
        f"exported {out} in {time.perf_counter() - started:.1f}s: parity max|diff| {config.parity_max_abs_diff:.2e}, "
        f"sha256 {config.sha256[:12]}..., {(out / 'model.onnx').stat().st_size / 1e6:.2f} MB"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
