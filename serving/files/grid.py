"""Tile images into grids (numpy), optionally with row labels drawn by PIL: sample sheets and model-card pictures."""

from __future__ import annotations

import numpy as np

from serving.errors import InputError


def to_uint8(images: np.ndarray) -> np.ndarray:
    """float images in [0, 1] -> uint8, rounding to nearest (the same everywhere so renders are reproducible)."""
    return (np.clip(images, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def tile(images: np.ndarray, rows: int, cols: int, pad: int = 0, pad_value: int = 0) -> np.ndarray:
    """[n, h, w, c] -> [rows*h + pad*(rows-1), cols*w + ..., c]; missing cells are filled with pad_value."""
    n, h, w, c = images.shape
    if n > rows * cols:
        raise InputError(f"{n} images do not fit a {rows}x{cols} grid")
    out = np.full((rows * h + pad * (rows - 1), cols * w + pad * (cols - 1), c), pad_value, dtype=images.dtype)
    for i in range(n):
        r, k = divmod(i, cols)
        out[r * (h + pad) : r * (h + pad) + h, k * (w + pad) : k * (w + pad) + w] = images[i]
    return out


def upscale_nearest(image: np.ndarray, factor: int) -> np.ndarray:
    return image.repeat(factor, axis=0).repeat(factor, axis=1) if factor > 1 else image


def labelled_grid(images_u8: np.ndarray, rows: int, cols: int, row_labels: list[str] | None = None, scale: int = 2):
    """A PIL image of the grid, upscaled by `scale`, with a label column on the left when row_labels are given."""
    from PIL import Image, ImageDraw

    grid = upscale_nearest(tile(images_u8, rows, cols, pad=2, pad_value=24), scale)
    if grid.shape[2] == 1:
        grid = np.repeat(grid, 3, axis=2)
    body = Image.fromarray(grid)
    if not row_labels:
        return body
    cell_h = (grid.shape[0] + 2 * scale) / rows
    label_w = 8 + 7 * max(len(s) for s in row_labels)
    canvas = Image.new("RGB", (body.width + label_w, body.height), (24, 24, 24))
    canvas.paste(body, (label_w, 0))
    draw = ImageDraw.Draw(canvas)
    for r, text in enumerate(row_labels):
        draw.text((4, int(r * cell_h + cell_h / 2 - 6)), text, fill=(230, 230, 230))
    return canvas


SHEET_COLUMNS = 8


def sample_sheet(generate, latent_dim: int, class_names: list[str] | tuple[str, ...]):
    """The fixed-seed sheet shown in training reports and model cards.

    Conditional models (class_names given): one row per class, seeds 0..7 in the columns. Otherwise an 8x8 grid
    of seeds 0..63. `generate(z, y)` returns uint8 images. Returns a labelled PIL image.
    """
    from serving.latent.latents import one_hot, z_batch

    if class_names:
        rows = len(class_names)
        z = z_batch(list(range(SHEET_COLUMNS)) * rows, latent_dim)
        y = one_hot(np.repeat(np.arange(rows), SHEET_COLUMNS), rows)
        labels = list(class_names)
    else:
        rows, labels, y = SHEET_COLUMNS, None, None
        z = z_batch(list(range(rows * SHEET_COLUMNS)), latent_dim)
    return labelled_grid(generate(z, y), rows, SHEET_COLUMNS, labels)
