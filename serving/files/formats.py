"""Frames into files: GIF, WebP, MP4 or a PNG strip, each able to carry the recipe that made it."""

from __future__ import annotations

import io

import numpy as np

from serving.errors import InputError
from serving.files.gif import write_gif
from serving.files.video import encode_mp4

FORMATS = ("gif", "webp", "mp4", "png")


def encode(frames: np.ndarray, fmt: str, fps: int, loop: bool = True, recipe_json: str | None = None) -> bytes:
    """Encode uint8 frames; GIF uses one global palette (64 levels for grayscale) so colours do not flicker. With
    `recipe_json` the file carries it in its own metadata (serving/files/recipe_file.py)."""
    from PIL import Image

    from serving.files import recipe_file

    gray = frames.shape[3] == 1

    def pil_frames() -> list:  # built only by the encoders that need them: each is a copy of every frame
        return [Image.fromarray(f[..., 0] if gray else f) for f in frames]

    buf = io.BytesIO()
    duration = 1000.0 / fps
    if fmt == "gif":
        data = write_gif(frames, fps, loop)
        return recipe_file.add_to_gif(data, recipe_json) if recipe_json else data
    elif fmt == "webp":
        pil = pil_frames()
        extra = {"xmp": recipe_file.webp_xmp(recipe_json)} if recipe_json else {}
        # Lossless: exact colours (lossy WebP smeared thin coloured strokes and left a faint rectangle where a
        # frame changed on a flat background); method 2 keeps it as fast as lossy was on line art.
        # Frame times rounded cumulatively (24 fps is 42, 41, 42, ... ms): the animation keeps its fps and a music
        # video its song's length, where 42 ms each would run 0.8% slow.
        edges = [round(i * duration) for i in range(len(pil) + 1)]
        pil[0].save(
            buf,
            format="WEBP",
            save_all=True,
            append_images=pil[1:],
            duration=[b - a for a, b in zip(edges, edges[1:])],
            loop=0 if loop else 1,
            lossless=True,
            quality=50,
            method=2,
            **extra,
        )
    elif fmt == "png":
        strip = np.concatenate(list(frames), axis=1)
        Image.fromarray(strip[..., 0] if gray else strip).save(buf, format="PNG", optimize=False)
        return recipe_file.add_to_png(buf.getvalue(), recipe_json) if recipe_json else buf.getvalue()
    elif fmt == "mp4":
        return encode_mp4([frames], fps, recipe_file.mp4_params(recipe_json) if recipe_json else [])
    else:
        raise InputError(f"unknown format {fmt!r}")
    return buf.getvalue()
