"""Named latent directions (InterFaceGAN-style): which way in z makes a digit's stroke thicker, slanted or wider.

For a pixel generator, `find` draws a few thousand seeds, measures each image, and fits a linear regression of
each measure on z (with the class as a covariate, so a direction moves a digit's look, not its class). A fitted
direction is the unit vector of its z coefficients, made orthogonal to the ones before it, so sliders move one
attribute at a time; `per_unit` is how many standard deviations the attribute changes per unit step, and `r2`
how much of the attribute z explains. They are stored in config.json (`extra.directions`, no change to
model.onnx or its sha256) at export, or for an existing bundle with

    python -m serving.rendering.directions --bundle exported/mnist-cdcgan
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from serving.errors import GanimateError, InputError
from serving.inputs import load_json, read_text_file

SAMPLES = 4096
FIRST_SEED = 2_000_000  # seeds of their own, apart from the ones a user types


def measures(images: np.ndarray) -> dict[str, np.ndarray]:
    """Stroke thickness (ink area over half its outline, in pixels), slant (horizontal shear per row of the ink's
    second moments; positive leans right) and width (the ink's horizontal spread, in pixels), for uint8 images."""
    ink = images.astype(np.float64).mean(axis=3) / 255.0  # [n, h, w]
    n, h, w = ink.shape
    solid = ink > 0.5
    inner = solid.copy()
    inner[:, 1:, :] &= solid[:, :-1, :]
    inner[:, :-1, :] &= solid[:, 1:, :]
    inner[:, :, 1:] &= solid[:, :, :-1]
    inner[:, :, :-1] &= solid[:, :, 1:]
    outline = (solid & ~inner).sum(axis=(1, 2))
    thickness = 2.0 * solid.sum(axis=(1, 2)) / np.maximum(outline, 1)
    ys, xs = np.mgrid[0:h, 0:w]
    mass = np.maximum(ink.sum(axis=(1, 2)), 1e-6)
    cx = (ink * xs).sum(axis=(1, 2)) / mass
    cy = (ink * ys).sum(axis=(1, 2)) / mass
    dx, dy = xs[None] - cx[:, None, None], ys[None] - cy[:, None, None]
    mu11 = (ink * dx * dy).sum(axis=(1, 2)) / mass
    mu02 = np.maximum((ink * dy * dy).sum(axis=(1, 2)) / mass, 1e-6)
    slant = -mu11 / mu02  # image rows grow downward: a top leaning right has negative covariance
    width = np.sqrt((ink * dx * dx).sum(axis=(1, 2)) / mass)
    return {"thickness": thickness, "slant": slant, "width": width}


def find(generator, samples: int = SAMPLES) -> list[dict]:
    """Fit one direction per measure on `samples` seeds of `generator`; returns the config.json entries."""
    from serving.latent.latents import one_hot, z_batch

    seeds = np.arange(FIRST_SEED, FIRST_SEED + samples)
    z = z_batch(seeds, generator.latent_dim).astype(np.float64)
    labels = seeds % generator.num_classes if generator.num_classes else None
    y = one_hot(labels, generator.num_classes) if labels is not None else None
    images = generator(z.astype(np.float32), y)
    design = np.hstack([z, y if y is not None else np.ones((samples, 1))])  # class one-hots carry the intercept
    found: list[dict] = []
    basis: list[np.ndarray] = []
    for name, values in measures(images).items():
        target = (values - values.mean()) / max(values.std(), 1e-12)
        coef, *_ = np.linalg.lstsq(design, target, rcond=None)
        fitted = design @ coef
        r2 = 1.0 - ((target - fitted) ** 2).sum() / (target**2).sum()
        vector = coef[: generator.latent_dim]
        for b in basis:  # orthogonal to the directions before it: one slider, one attribute
            vector = vector - (vector @ b) * b
        norm = np.linalg.norm(vector)
        vector = vector / norm
        basis.append(vector)
        found.append(
            {
                "name": name,
                "vector": [round(float(v), 7) for v in vector],
                "per_unit": round(float(norm), 4),
                "r2": round(float(r2), 4),
            }
        )
    return found


def add_to_bundle(bundle: Path, samples: int = SAMPLES) -> list[dict]:
    """Fit the directions for a gray pixel bundle and write them into its config.json (sha256 unchanged)."""
    from serving.atomic import write_atomic
    from serving.bundle.generator import Generator

    gen = Generator.from_pretrained(bundle)
    if "params" in gen.config.outputs or gen.config.channels != 1:
        raise InputError(
            f"{bundle}: named directions measure gray strokes; this model draws "
            f"{'parameters' if 'params' in gen.config.outputs else 'RGB images'}"
        )
    found = find(gen, samples)
    raw = load_json(read_text_file(Path(bundle) / "config.json", "bundle file"), "config.json")
    raw.setdefault("extra", {})["directions"] = found
    write_atomic(Path(bundle) / "config.json", (json.dumps(raw, indent=2, sort_keys=True) + "\n").encode())
    return found


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m serving.rendering.directions", description=__doc__.split("\n\n")[0])
    p.add_argument("--bundle", required=True, help="a gray pixel bundle folder, e.g. exported/mnist-cdcgan")
    p.add_argument("--samples", type=int, default=SAMPLES, help=f"seeds to fit on (default {SAMPLES})")
    args = p.parse_args(argv)
    try:
        if not 256 <= args.samples <= 100_000:
            raise InputError(f"--samples must be in 256..100000, got {args.samples}")
        for d in add_to_bundle(Path(args.bundle), args.samples):
            print(f"{d['name']:<10} r2 {d['r2']:.3f}  {d['per_unit']:.3f} std per unit step")
    except GanimateError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
