"""Render latency of the standard requests R1 and R2 (DESIGN.md), against a naive reference, in one run.

The naive reference is how the keras-io conditional GAN example makes its animation: the same latents, but
the model is called once per frame, frames are resized one by one and written with `imageio.mimsave`.
Ours is `serving.rendering.render`: all frames in large batches, a slice per core, one global palette, GIF frames
coded in this process (as the Space runs it).

    python -m bench.render [--repeats 7]
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from serving import Generator, Recipe, render
from serving.errors import BundleError
from serving.files.grid import tile, to_uint8
from serving.rendering.render import build_inputs, render_frames

ROOT = Path(__file__).resolve().parents[1]

# DESIGN.md "Standard benchmark requests".
REQUESTS = {
    "R1": (
        "mnist-cdcgan",
        Recipe(
            seeds=(1, 2, 3, 4), classes=(3, 8, 0, 5), path="cubic", frames=24, loop=True, size=256, format="gif", fps=24
        ),
    ),
    "R2": (
        "mathart-params",
        Recipe(seeds=tuple(range(16)), grid=(4, 4), path="slerp", frames=16, loop=True, size=512, format="gif", fps=24),
    ),
    # The math-art model's own walk (issue 13): 96 frames at 256 px through four families, renderer in the graph.
    "M1": (
        "mathart-params",
        Recipe(seeds=(1, 2, 3, 4), path="cubic", frames=24, loop=True, size=256, format="gif", fps=24),
    ),
    # The same walk on the retired pixel model, measured only where a copy of it sits in exported/ (not shipped).
    "M1-pixel": (
        "mathart-dcgan",
        Recipe(seeds=(1, 2, 3, 4), path="cubic", frames=24, loop=True, size=256, format="gif", fps=24),
    ),
}


def plain_session(gen: Generator):
    """The bundle as a tutorial program loads it: one session with onnxruntime's default options."""
    import onnxruntime as ort

    return ort.InferenceSession(str(gen.bundle_dir / "model.onnx"), providers=["CPUExecutionProvider"])


def naive_render(gen: Generator, recipe: Recipe, session) -> bytes:
    """One session call per frame, PIL resize per frame, imageio.mimsave: the tutorial way."""
    import imageio.v2 as imageio
    from PIL import Image

    z, y = build_inputs(recipe, gen.latent_dim, gen.num_classes)
    rows, cols = recipe.grid
    cells = rows * cols
    height, width = recipe.output_shape()
    frames = []
    for f in range(recipe.frame_total()):
        feed = {"z": z[f * cells : (f + 1) * cells]}
        if y is not None:
            feed["y"] = y[f * cells : (f + 1) * cells]
        images = to_uint8(session.run(["images"], feed)[0])
        frame = tile(images, rows, cols)
        pil = Image.fromarray(frame[..., 0] if frame.shape[2] == 1 else frame)
        frames.append(np.asarray(pil.resize((width, height), Image.LANCZOS)))
    buf = io.BytesIO()
    imageio.mimsave(buf, frames, format="GIF", duration=1000 / recipe.fps, loop=0)
    return buf.getvalue()


def _times(fn, repeats: int) -> np.ndarray:
    fn()  # warm-up: session arenas, PIL's palette code
    out = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        out.append(time.perf_counter() - started)
    return np.asarray(out)


def floor_parts(gen: Generator, recipe: Recipe, tries: int = 3) -> tuple[Callable[[], object], Callable[[], object]]:
    """(generate, code): the two halves of the request's floor on this machine, to be timed. `generate` makes all
    of the request's images on every core in one call, or in the slices of rows that suit the caches better (the
    fastest of those, chosen here); `code` runs the GIF coder over the finished frames in this process, whose time
    divided over every core is its ideal share-out. Nothing in between: no latents, no tiling, no resizing, no
    palette, no Python."""
    from serving.files.gif_blocks import Palette, frame_blocks

    z, y = build_inputs(recipe, gen.latent_dim, gen.num_classes)
    # A batch onnxruntime may not hold here (R2's 4,096 drawings in one call ask for GBs) is no candidate.
    best, refused = None, None
    for b in sorted({len(z), 64, 32, 16, 8}):
        if b <= len(z):
            try:
                t = float(np.median(_times(lambda b=b: gen(z, y, batch_size=b, output="float"), tries)))
            except BundleError as exc:
                refused = exc
                continue
            if best is None or t < best[0]:
                best = (t, b)
    if best is None:
        raise refused
    frames = render_frames(gen, recipe)
    palette = Palette.for_frames(frames)
    batch = best[1]
    return (lambda: gen(z, y, batch_size=batch, output="float")), (lambda: frame_blocks(frames, palette))


def interleaved(ours: Callable[[], object], generate: Callable[[], object], code: Callable[[], object], rounds: int):
    """(ours s, floor s, generator s, coder s per core) of each round: every round times ours and then the floor's
    two halves back to back, so a slow minute of a shared machine falls on both sides of a round's ratio (measured
    minutes apart, the floor caught the machine's fast moments and ours its slow ones, or the other way round)."""
    cores = os.cpu_count() or 1
    for fn in (ours, generate, code):
        fn()  # warm-up: session arenas, PIL's palette code
    out = []
    for _ in range(rounds):
        started = time.perf_counter()
        ours()
        mid = time.perf_counter()
        generate()
        gen_end = time.perf_counter()
        code()
        code_s = (time.perf_counter() - gen_end) / cores
        out.append((mid - started, (gen_end - mid) + code_s, gen_end - mid, code_s))
    return np.asarray(out)


def measure(name: str, repeats: int, threads: int | None = None, naive_repeats: int | None = None) -> dict | None:
    bundle_name, recipe = REQUESTS[name]
    bundle = ROOT / "exported" / bundle_name
    if not bundle.is_dir():
        print(f"{name}: skipped, no bundle at {bundle}")
        return None
    gen = Generator.from_pretrained(bundle, threads=threads)
    recipe = dataclasses.replace(recipe, bundle_sha256=gen.config.sha256)
    # Ours, each round beside the floor.
    generate, code = floor_parts(gen, recipe)
    rounds = interleaved(lambda: render(gen, recipe), generate, code, repeats)
    ours, floor = rounds[:, 0], rounds[:, 1]
    session = plain_session(gen)
    naive = _times(lambda: naive_render(gen, recipe, session), naive_repeats or max(3, repeats // 2))
    size_kib = len(render(gen, recipe)) / 1024
    naive_kib = len(naive_render(gen, recipe, session)) / 1024
    return {
        "request": name,
        "frames": recipe.frame_total(),
        "size": f"{recipe.size}x{recipe.output_shape()[0]}",
        "ours_p50_ms": np.percentile(ours, 50) * 1000,
        "ours_p95_ms": np.percentile(ours, 95) * 1000,
        "naive_p50_ms": np.percentile(naive, 50) * 1000,
        "naive_p95_ms": np.percentile(naive, 95) * 1000,
        "floor_ms": np.median(floor) * 1000,
        "floor_generator_ms": np.median(rounds[:, 2]) * 1000,
        "floor_gif_ms": np.median(rounds[:, 3]) * 1000,
        "x_floor_p50": float(np.median(ours / floor)),  # the median of the rounds' ratios
        "speedup_p50": np.percentile(naive, 50) / np.percentile(ours, 50),
        "ours_kib": size_kib,
        "naive_kib": naive_kib,
    }


def table(rows: list[dict]) -> str:
    head = (
        "| request | frames | size | floor ms (generator + GIF coder) | ours p50 ms | ours / floor (rounds' median) | ours p95 ms | "
        "naive p50 ms | naive p95 ms | speed-up (p50) | GIF KiB ours / naive |"
    )
    lines = [head, "|" + "---|" * 11]
    for r in rows:
        lines.append(
            f"| {r['request']} | {r['frames']} | {r['size']} | {r['floor_ms']:.0f} ({r['floor_generator_ms']:.0f} + "
            f"{r['floor_gif_ms']:.0f}) | {r['ours_p50_ms']:.0f} | {r['x_floor_p50']:.2f}x | {r['ours_p95_ms']:.0f} | "
            f"{r['naive_p50_ms']:.0f} | {r['naive_p95_ms']:.0f} | {r['speedup_p50']:.1f}x | "
            f"{r['ours_kib']:.0f} / {r['naive_kib']:.0f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> list[dict]:
    p = argparse.ArgumentParser(prog="python -m bench.render", description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=7, help="timed runs of ours per request (naive: half, at least 3)")
    p.add_argument("--threads", type=int, default=None, help="onnxruntime threads (default: the serving default)")
    p.add_argument("--only", choices=sorted(REQUESTS), default=None)
    p.add_argument(
        "--naive-repeats", type=int, default=None, help="timed naive runs (default: half of --repeats, >= 3)"
    )
    args = p.parse_args(argv)
    rows = [
        r
        for name in REQUESTS
        if args.only in (None, name)
        if (r := measure(name, args.repeats, args.threads, args.naive_repeats))
    ]
    print(table(rows))
    return rows


if __name__ == "__main__":
    main()
