"""How far each output format's pixels are from the frames themselves, on every shipped bundle, in one run.

The reference is the PNG strip (lossless, the frames exactly as rendered). Each other format is decoded back to
RGB and compared: the mean and the largest absolute error over all pixels, and the mean error on the flat
background alone (pixels whose frame value is the background colour), where block artefacts would show as a
faint rectangle. GIF is quantised to at most 256 colours (its error is the palette's); WebP is lossless; MP4 is
H.264 in yuv420p (chroma at half resolution, as every player expects), so thin coloured lines lose some colour.

    python -m bench.format_error [--bundles mnist-cdcgan,mathart-params]
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

from serving import Generator, Recipe, render

ROOT = Path(__file__).resolve().parents[1]
BUNDLES = ("mnist-cdcgan", "mnist-cvae", "mathart-params")
WALK = dict(seeds=(1, 2, 3, 4), path="cubic", frames=12, loop=True, size=256, fps=24)


def _strip_frames(png: bytes, count: int) -> np.ndarray:
    strip = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
    return np.stack(np.split(strip, count, axis=1))


def _decoded(data: bytes, fmt: str) -> np.ndarray:
    if fmt == "mp4":
        import imageio_ffmpeg

        with tempfile.NamedTemporaryFile(suffix=".mp4") as f:
            f.write(data)
            f.flush()
            reader = imageio_ffmpeg.read_frames(f.name, pix_fmt="rgb24")
            meta = reader.__next__()
            w, h = meta["size"]
            return np.stack([np.frombuffer(b, np.uint8).reshape(h, w, 3) for b in reader])
    image = Image.open(io.BytesIO(data))
    frames = []
    for k in range(getattr(image, "n_frames", 1)):
        image.seek(k)
        frames.append(np.asarray(image.convert("RGB")))
    return np.stack(frames)


def measure(bundle: str) -> dict[str, dict[str, float]]:
    """{format: {mean, max, background_mean}} against the PNG strip of the same walk."""
    gen = Generator.from_pretrained(ROOT / "exported" / bundle)
    recipe = Recipe(
        **WALK, classes=(3, 8, 0, 5) if gen.num_classes >= 9 else ((1, 2, 3, 4) if gen.num_classes else None)
    )
    count = WALK["frames"] * len(WALK["seeds"])
    truth = _strip_frames(render(gen, dataclasses.replace(recipe, format="png")), count).astype(np.int16)
    background = np.median(truth[:, :8, :8].reshape(-1, 3), axis=0)  # the corners are background in every bundle
    flat = np.all(np.abs(truth - background) <= 2, axis=-1)
    out = {}
    for fmt in ("gif", "webp", "mp4"):
        got = _decoded(render(gen, dataclasses.replace(recipe, format=fmt)), fmt).astype(np.int16)
        error = np.abs(got[: len(truth)] - truth)
        out[fmt] = {
            "mean": float(error.mean()),
            "max": float(error.max()),
            "background_mean": float(error[flat].mean()) if flat.any() else float("nan"),
            "background_max": float(error[flat].max()) if flat.any() else float("nan"),
        }
    return out


def main(argv: list[str] | None = None) -> dict[str, dict[str, dict[str, float]]]:
    p = argparse.ArgumentParser(prog="python -m bench.format_error", description=__doc__.splitlines()[0])
    p.add_argument("--bundles", default=",".join(BUNDLES))
    args = p.parse_args(argv)
    results = {}
    print(
        "error of each format against the lossless PNG strip of the same walk (0-255 per channel; "
        f"{WALK['frames'] * len(WALK['seeds'])} frames at {WALK['size']} px)\n"
    )
    print("| bundle | format | mean | max | background mean | background max |\n|---|---|---|---|---|---|")
    for bundle in args.bundles.split(","):
        results[bundle] = measure(bundle)
        for fmt, r in results[bundle].items():
            print(
                f"| {bundle} | {fmt} | {r['mean']:.2f} | {r['max']:.0f} | {r['background_mean']:.2f} | "
                f"{r['background_max']:.0f} |"
            )
    return results


if __name__ == "__main__":
    main()
