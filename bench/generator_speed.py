"""Generator throughput: onnxruntime (the bundle) against the same architecture in Keras, eager and tf.function.

Beside it, the machine's measured float32 matrix-multiply rate and the model's FLOPs per image, so the fraction
of the machine's peak each runtime reaches is visible. Keras weights are random (the bundle holds only ONNX);
speed does not depend on their values.

    python -m bench.generator_speed [--bundle exported/mnist-cdcgan]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]


def matmul_gflops(n: int = 1024, repeats: int = 5) -> float:
    """Best-of float32 GEMM rate with numpy's BLAS (all cores): the machine's practical peak."""
    a = np.random.default_rng(0).standard_normal((n, n), dtype=np.float32)
    b = np.random.default_rng(1).standard_normal((n, n), dtype=np.float32)
    a @ b
    best = min(_timed(lambda: a @ b) for _ in range(repeats))
    return 2 * n**3 / best / 1e9


def _timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def model_flops(keras_model) -> float:
    """Multiply-adds x 2 per image for Dense, Conv2D and Conv2DTranspose layers (the rest is negligible)."""
    from keras import layers

    total = 0
    for layer in keras_model.layers:
        if isinstance(layer, layers.Dense):
            total += layer.kernel.shape[0] * layer.kernel.shape[1]
        elif isinstance(layer, layers.Conv2DTranspose):
            h, w = layer.input.shape[1:3]
            kh, kw, cout, cin = layer.kernel.shape
            total += h * w * kh * kw * cin * cout
        elif isinstance(layer, layers.Conv2D):
            h, w = layer.output.shape[1:3]
            kh, kw, cin, cout = layer.kernel.shape
            total += h * w * kh * kw * cin * cout
    return 2.0 * total


def _images_per_s(fn, batch: int, min_s: float = 1.0) -> float:
    fn()  # warm-up / trace
    count, started = 0, time.perf_counter()
    while time.perf_counter() - started < min_s:
        fn()
        count += batch
    return count / (time.perf_counter() - started)


def measure(bundle: Path, peak: float) -> list[dict]:
    import tensorflow as tf

    from serving import Generator
    from serving.latent.latents import one_hot, z_batch
    from training.networks import build_generator

    gen = Generator.from_pretrained(bundle)
    cfg = gen.config
    width = cfg.extra.get("training", {}).get("width") or {28: 32, 32: 32, 64: 16}[cfg.image_size[0]]
    keras_g = build_generator(cfg.latent_dim, cfg.image_size[0], cfg.channels, cfg.num_classes, width)
    flops = model_flops(keras_g)
    compiled = tf.function(lambda inputs: keras_g(inputs, training=False), reduce_retracing=True)
    import onnxruntime as ort

    # "onnxruntime" is the bundle in a plain session with onnxruntime's default options, as a user's program
    # would load it; the Generator runs slices of the batch through its session, single-threaded, one per core.
    plain = ort.InferenceSession(str(bundle / "model.onnx"), providers=["CPUExecutionProvider"])
    rows = []
    for batch in (1, 64):
        z = z_batch(list(range(batch)), cfg.latent_dim)
        y = one_hot(np.arange(batch) % cfg.num_classes, cfg.num_classes) if cfg.num_classes else None
        inputs = [z, y] if y is not None else z
        feed = {"z": z, **({"y": y} if y is not None else {})}
        runs = {
            "onnxruntime": lambda feed=feed: plain.run(["images"], feed),
            "ganimate Generator (a slice per core, single-threaded runs)": lambda z=z, y=y, batch=batch: gen(
                z, y, batch_size=batch, output="float"
            ),
            "keras eager": lambda inputs=inputs: keras_g(inputs, training=False).numpy(),
            "keras tf.function": lambda inputs=inputs: compiled(inputs).numpy(),
        }
        measured = {name: _images_per_s(fn, batch) for name, fn in runs.items()}
        for name, ips in measured.items():
            rows.append(
                {
                    "bundle": cfg.name,
                    "runtime": name,
                    "batch": batch,
                    "images_per_s": ips,
                    "vs_onnxruntime": ips / measured["onnxruntime"],
                    "gflops": ips * flops / 1e9,
                    "peak_fraction": ips * flops / 1e9 / peak,
                    "model_mflops": flops / 1e6,
                    "peak_gflops": peak,
                }
            )
    return rows


def op_profile(bundle: Path, batch: int = 64, runs: int = 20) -> list[tuple[str, float]]:
    """(operator type, share of kernel time) for `runs` calls at `batch`, from onnxruntime's own profiler."""
    import json
    import tempfile

    import onnxruntime as ort

    from serving import Generator
    from serving.latent.latents import one_hot, z_batch

    cfg = Generator.from_pretrained(bundle).config  # verifies the bundle first
    opts = ort.SessionOptions()
    opts.enable_profiling = True
    with tempfile.TemporaryDirectory() as tmp:
        opts.profile_file_prefix = str(Path(tmp) / "profile")
        session = ort.InferenceSession(str(bundle / "model.onnx"), opts, providers=["CPUExecutionProvider"])
        feed = {"z": z_batch(list(range(batch)), cfg.latent_dim)}
        if cfg.num_classes:
            feed["y"] = one_hot(np.arange(batch) % cfg.num_classes, cfg.num_classes)
        for _ in range(runs):
            session.run(["images"], feed)
        events = json.loads(Path(session.end_profiling()).read_text())
    totals: dict[str, float] = {}
    for e in events:
        if e.get("cat") == "Node" and e.get("name", "").endswith("_kernel_time"):
            op = e.get("args", {}).get("op_name", "?")
            totals[op] = totals.get(op, 0.0) + e.get("dur", 0)
    whole = sum(totals.values()) or 1.0
    return sorted(((op, t / whole) for op, t in totals.items()), key=lambda kv: -kv[1])


def table(rows: list[dict]) -> str:
    lines = ["| bundle | runtime | batch | images/s | x onnxruntime | GFLOP/s | of matmul peak |", "|" + "---|" * 7]
    for r in rows:
        lines.append(
            f"| {r['bundle']} | {r['runtime']} | {r['batch']} | {r['images_per_s']:,.0f} | "
            f"{r['vs_onnxruntime']:.2f} | {r['gflops']:.1f} | {r['peak_fraction']:.1%} |"
        )
    if rows:
        lines.append(
            f"\nModel: {rows[0]['model_mflops']:.1f} MFLOP per image; float32 matmul peak measured "
            f"{rows[0]['peak_gflops']:.1f} GFLOP/s (numpy BLAS, 1024^3, best of 5)."
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> list[dict]:
    p = argparse.ArgumentParser(prog="python -m bench.generator_speed", description=__doc__.splitlines()[0])
    p.add_argument("--bundle", action="append", default=None, help="bundle folder(s); default: every exported bundle")
    args = p.parse_args(argv)
    import json

    # Pixel generators only: the math-art model draws inside its graph, and bench.render measures it (M1, R2).
    bundles = (
        [Path(b) for b in args.bundle]
        if args.bundle
        else sorted(
            p.parent
            for p in (ROOT / "exported").glob("*/config.json")
            if "params" not in json.loads(p.read_text()).get("outputs", ["images"])
        )
    )
    # The peak first, before TensorFlow's thread pools exist: their spinning threads halve a GEMM measured after.
    peak = matmul_gflops()
    rows = [r for b in bundles for r in measure(b, peak)]
    print(table(rows))
    for b in bundles:
        shares = op_profile(b)
        print(
            f"\n{b.name}, batch 64, onnxruntime kernel time by operator: "
            + ", ".join(f"{op} {share:.0%}" for op, share in shares[:6])
        )
    return rows


if __name__ == "__main__":
    main()
