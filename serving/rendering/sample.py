"""Still images from seeds: a labelled batch for synthetic data, as a PNG grid or an `.npz` of images and labels.

Shared by `python -m serving sample` and the Space's Sample tab, so both give the same bytes for the same request.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass

import numpy as np

from serving.errors import BudgetError, InputError
from serving.files.grid import tile, upscale_nearest
from serving.latent.latents import one_hot, z_batch
from serving.rendering.budget import CLI, Budget

DEFAULT_SAMPLE_SEEDS = "0-31"  # one request's worth: a 4x8 grid


@dataclass(frozen=True)
class Samples:
    images: np.ndarray  # uint8 [n, h, w, c]
    labels: np.ndarray  # int64 [n]; -1 for unconditional models
    seeds: np.ndarray  # uint32 [n]
    class_names: tuple[str, ...]


CHUNK_BYTES = 32 * 2**20  # float images in flight at once, as serving.rendering.render streams an animation


def sample(
    generator, seeds: list[int], classes: list[int] | None = None, truncation: float = 1.0, budget: Budget = CLI
) -> Samples:
    """One image per seed. `classes`: one for all, one per seed, or None (cycle through the classes). The images
    are made in chunks of at most CHUNK_BYTES of floats and held as uint8, within the budget's output pixels (a
    bundle's own image size counts: 64 seeds of a 4096x4096 model are a gigapixel)."""
    h, w = generator.config.image_size
    if len(seeds) * h * w > budget.output_pixels:
        raise BudgetError(
            f"{len(seeds)} images of {w}x{h} are {len(seeds) * h * w / 1e6:.0f}M pixels; "
            f"{budget.where} allows {budget.output_pixels / 1e6:.0f}M: use fewer seeds"
        )
    from serving.rendering.cost import check_time

    check_time([(generator, len(seeds))], len(seeds) * h * w, "png", budget)  # a sheet and an .npz of them
    y, labels = None, np.full(len(seeds), -1, dtype=np.int64)
    if generator.num_classes:
        if not classes:
            classes = [i % generator.num_classes for i in range(len(seeds))]  # balanced labels by default
        if len(classes) not in (1, len(seeds)):
            raise InputError(f"classes: give one class, or one per seed ({len(seeds)}), not {len(classes)}")
        labels = np.resize(np.asarray(classes, dtype=np.int64), len(seeds))
        y = one_hot(labels, generator.num_classes)
    elif classes:
        raise InputError("this model is not conditional; leave classes empty")
    z = z_batch(seeds, generator.latent_dim, truncation)
    rows = max(1, CHUNK_BYTES // (h * w * generator.config.channels * 4))
    images = np.empty((len(seeds), h, w, generator.config.channels), np.uint8)
    for start in range(0, len(seeds), rows):
        images[start : start + rows] = generator(
            z[start : start + rows], None if y is None else y[start : start + rows]
        )
    return Samples(images, labels, np.asarray(seeds, dtype=np.uint32), tuple(generator.config.class_names))


def to_npz(samples: Samples) -> bytes:
    buf = io.BytesIO()
    np.savez_compressed(
        buf,
        images=samples.images,
        labels=samples.labels,
        seeds=samples.seeds,
        class_names=np.asarray(samples.class_names, dtype=str),
    )
    return buf.getvalue()


def sample_recipe(config, seeds: list[int], classes: list[int] | None, truncation: float) -> str:
    """The JSON a sample sheet carries: its model (name and sha256) and the seeds, classes and truncation that
    `sample` (and `python -m serving sample`) draws it from."""
    fields = {
        "kind": "sample",
        "bundle": config.name,
        "bundle_sha256": config.sha256,
        "seeds": [int(s) for s in seeds],
        "classes": None if not classes else [int(c) for c in classes],
        "truncation": float(truncation),
    }
    return json.dumps(fields, sort_keys=True)


def read_sample_recipe(text: str, config) -> tuple[list[int], list[int] | None, float]:
    """(seeds, classes, truncation) of a sheet's recipe (`sample_recipe`), made with `config`'s bundle; one
    InputError otherwise."""
    from serving import inputs as check
    from serving.latent.latents import MAX_SEEDS, TRUNCATION_RANGE, check_seed

    raw = check.load_json(text, "recipe")
    if not isinstance(raw, dict) or raw.get("kind") != "sample":
        raise InputError('this is no Sample sheet\'s recipe (its PNG carries one with "kind": "sample")')
    if raw.get("bundle_sha256") != config.sha256:
        raise InputError(f"this sheet was drawn by {str(raw.get('bundle'))[:60]}, not {config.name}: give its bundle")
    seeds = raw.get("seeds")
    if not isinstance(seeds, list) or not 1 <= len(seeds) <= MAX_SEEDS:
        raise InputError(f"seeds must be a list of 1..{MAX_SEEDS} seeds")
    classes = raw.get("classes")
    if classes is not None and (not isinstance(classes, list) or not 1 <= len(classes) <= len(seeds)):
        raise InputError("classes must be null or a list of class numbers")
    classes = (
        None
        if classes is None
        else [check.whole("class", c, 0, max(0, config.num_classes - 1), text_ok=False) for c in classes]
    )
    psi = raw.get("truncation")
    if isinstance(psi, bool) or not isinstance(psi, (int, float)):
        raise InputError("truncation must be a number")
    return [check_seed(s) for s in seeds], classes, check.number("truncation", psi, *TRUNCATION_RANGE)


def to_png(samples: Samples, recipe_json: str | None = None, scale: int = 2, max_cols: int = 8) -> bytes:
    """A grid, up to `max_cols` images a row, upscaled `scale` times (nearest: pixels stay crisp); with
    `recipe_json` (`sample_recipe`) the PNG carries it (serving/files/recipe_file.py)."""
    from PIL import Image

    cols = min(len(samples.images), max_cols)
    rows = -(-len(samples.images) // cols)
    grid = upscale_nearest(tile(samples.images, rows, cols, pad=2), scale)
    buf = io.BytesIO()
    Image.fromarray(grid[..., 0] if grid.shape[2] == 1 else grid).save(buf, format="PNG")
    if recipe_json is not None:
        from serving.files.recipe_file import add_to_png

        return add_to_png(buf.getvalue(), recipe_json)
    return buf.getvalue()


def summary(samples: Samples) -> str:
    """One line: shape, pixel statistics, and the count per class."""
    imgs = samples.images
    text = f"images {imgs.shape} uint8, mean {imgs.mean() / 255:.3f}, std {imgs.std() / 255:.3f}"
    counts = {samples.class_names[c]: int((samples.labels == c).sum()) for c in np.unique(samples.labels) if c >= 0}
    return text + (f", per class {counts}" if counts else "")


def to_png_row(images: list[np.ndarray], scale: int = 4) -> bytes:
    """uint8 pictures [h, w, c] side by side as one PNG, upscaled `scale` times (nearest)."""
    from PIL import Image

    row = upscale_nearest(tile(np.stack(images), 1, len(images), pad=2), scale)
    buf = io.BytesIO()
    Image.fromarray(row[..., 0] if row.shape[2] == 1 else row).save(buf, format="PNG")
    return buf.getvalue()
