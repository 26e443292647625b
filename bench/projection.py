"""Where a visitor's own picture waits: `serving.picture.project` against the encoder alone, per shipped bundle, in one run.

The pictures are what a person sends: for the digit models a digit drawn by the model itself, inverted to dark
ink on light paper and scaled to 112 px (so `prepare` inverts, crops and centres it); for math art a picture the
model drew at 256 px. "encoder alone" is one encoder call and one generator call (the answer without the
search); "project" is the whole `serving.picture.project`: preparing the picture, the encoder and the bounded refinement.

    python -m bench.projection [--pictures 12]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from PIL import Image

from serving import Generator, project
from serving.latent.latents import one_hot, z_batch

ROOT = Path(__file__).resolve().parents[1]
BUNDLES = ("mnist-cdcgan", "mnist-cvae", "mathart-params")


def pictures(gen: Generator, count: int) -> list[Image.Image]:
    """`count` pictures a person might send, made by the model from seeds 900.. (classes in turn)."""
    y = one_hot([k % gen.num_classes for k in range(count)], gen.num_classes) if gen.num_classes else None
    drawn = gen(z_batch(list(range(900, 900 + count)), gen.latent_dim), y)
    if drawn.shape[-1] == 1:  # a digit: dark ink on light paper, photographed larger
        return [Image.fromarray(255 - d[..., 0]).resize((112, 112), Image.BILINEAR) for d in drawn]
    return [Image.fromarray(d) for d in drawn]


def measure(bundle: str, count: int) -> dict[str, float]:
    gen = Generator.from_pretrained(ROOT / "exported" / bundle)
    shown = pictures(gen, count)
    project(gen, shown[0])  # warm: sessions, arenas
    whole, alone = [], []
    for picture in shown:
        started = time.perf_counter()
        found = project(gen, picture)
        whole.append(time.perf_counter() - started)
        target = found.prepared.astype(np.float32) / 255  # the picture as prepared for the encoder
        started = time.perf_counter()
        z, logits = gen.encode(target[None])
        gen(z, one_hot([int(np.argmax(logits[0]))], gen.num_classes) if gen.num_classes else None)
        alone.append(time.perf_counter() - started)
    return {"project_p50_ms": float(np.median(whole)) * 1000, "encoder_p50_ms": float(np.median(alone)) * 1000}


def main(argv: list[str] | None = None) -> dict[str, dict[str, float]]:
    p = argparse.ArgumentParser(prog="python -m bench.projection", description=__doc__.splitlines()[0])
    p.add_argument("--pictures", type=int, default=12)
    args = p.parse_args(argv)
    print(f"{args.pictures} pictures per bundle; p50 of each\n")
    print("| bundle | encoder alone ms | project (prepare, encoder, refinement) ms | ratio |\n|---|---|---|---|")
    results = {}
    for bundle in BUNDLES:
        if not (ROOT / "exported" / bundle / "encoder.onnx").is_file():
            continue
        r = results[bundle] = measure(bundle, args.pictures)
        print(
            f"| {bundle} | {r['encoder_p50_ms']:.1f} | {r['project_p50_ms']:.0f} | "
            f"{r['project_p50_ms'] / r['encoder_p50_ms']:.0f}x |"
        )
    return results


if __name__ == "__main__":
    main()
