"""Where a visitor's own picture waits: `serving.picture.project` against the encoder alone, per shipped bundle, in one run.

The pictures are what a person sends: for the digit models a digit drawn by the model itself, inverted to dark
ink on light paper and scaled to 112 px (so `prepare` inverts, crops and centres it); for math art a picture the
model drew at 256 px. "encoder alone" is one encoder call and one generator call (the answer without the
search); "project" is the whole `serving.picture.project`: preparing the picture, the encoder and the bounded refinement.

    python -m bench.projection [--pictures 12]

It also times the Space's own "Your picture" request (`SpaceApp.project`, in this process: reading the upload,
projecting, the animation that starts from it, the files) on drawings nobody trained on (training/drawings.py,
validation split): hand-drawn curves for math art, scikit-learn's handwritten digits for the digit models.
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
    out = {"project_p50_ms": float(np.median(whole)) * 1000, "encoder_p50_ms": float(np.median(alone)) * 1000}
    out["space_drawing_p50_ms"] = space_drawings(gen, count) * 1000
    return out


def space_drawings(gen: Generator, count: int) -> float:
    """Median seconds of the Space's /project on `count` drawings (module docstring), each uploaded first."""
    import shutil
    import tempfile

    from gradio.utils import get_upload_folder

    from serving.picture.project import draws_curves
    from serving.space import SpaceApp
    from training.drawings import curves, digits

    if draws_curves(gen.config):
        shown = [d.image for d in curves("validation", count)]  # the three curve families, julia and clifford
        shown = shown[:count]
    else:
        shown = [d.image for d in digits("validation", count)]
    app = SpaceApp({gen.config.name: gen}, per_client=10**6)
    folder = Path(get_upload_folder()) / "ganimate-bench"
    folder.mkdir(parents=True, exist_ok=True)
    seconds = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, picture in enumerate(shown):
            path = Path(tmp) / f"drawing-{i}.png"
            picture.save(path)
            stored = shutil.copy(path, folder / path.name)  # as Gradio stores an upload
            started = time.perf_counter()
            app.project(gen.config.name, {"path": str(stored)})
            seconds.append(time.perf_counter() - started)
    return float(np.median(seconds[1:] if len(seconds) > 1 else seconds))  # the first warms the caches


def main(argv: list[str] | None = None) -> dict[str, dict[str, float]]:
    p = argparse.ArgumentParser(prog="python -m bench.projection", description=__doc__.splitlines()[0])
    p.add_argument("--pictures", type=int, default=12)
    args = p.parse_args(argv)
    print(f"{args.pictures} pictures per bundle; p50 of each\n")
    print(
        "| bundle | encoder alone ms | project (prepare, encoder, refinement) ms | ratio | the Space's /project on "
        "drawings ms |\n|---|---|---|---|---|"
    )
    results = {}
    for bundle in BUNDLES:
        if not (ROOT / "exported" / bundle / "encoder.onnx").is_file():
            continue
        r = results[bundle] = measure(bundle, args.pictures)
        print(
            f"| {bundle} | {r['encoder_p50_ms']:.1f} | {r['project_p50_ms']:.0f} | "
            f"{r['project_p50_ms'] / r['encoder_p50_ms']:.0f}x | {r['space_drawing_p50_ms']:.0f} |"
        )
    return results


if __name__ == "__main__":
    main()
