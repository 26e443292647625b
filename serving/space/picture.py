"""The Space's "Your picture" handler: a visitor's upload, paste, webcam shot or drawing -> the model's version of it
and an animation that starts from it, with the recipe that reproduces it.

The picture arrives as a file Gradio stored (the front gate, serving/space/gate.py, let only small images
through); it is read from Gradio's upload folder only, decoded by Pillow within the Space's caps, and removed
once its request is done, whatever the outcome.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from serving.errors import InputError
from serving.latent.latents import parse_classes, parse_int_list
from serving.rendering.recipe import Recipe
from serving.rendering.render import default_classes
from serving.space.disk import under

MAX_PICTURE_BYTES = 1 * 2**20  # the Space's cap (the library and CLI take more)
DEFAULT_FOLLOWING = "5,6,7"  # the seeds after the picture in the animation it starts
MAX_FOLLOWING = 8


def uploaded_path(value: Any, results: Path | None = None, what: str = "picture") -> Path:
    """The stored file of a Gradio image or audio value (a FileData dict, a path, or an editor's
    {composite: ...}), which must lie in Gradio's upload folder and outside the Space's own results (`results`: a
    visitor names the path, so it may name anything there); InputError otherwise."""
    from gradio.utils import get_upload_folder

    if isinstance(value, dict) and "composite" in value:  # a sketchpad: its flattened picture
        value = value.get("composite")
    path = value.get("path") if isinstance(value, dict) else value
    if path in (None, ""):
        raise InputError("give a picture: upload one, paste one, take one with the webcam or draw one")
    resolved = under(Path(get_upload_folder()), path)
    if resolved is None or not resolved.is_file():
        raise InputError(f"not an uploaded {what}" + (" (upload it again)" if what == "song" else ""))
    if results is not None and results.resolve() in resolved.parents:
        raise InputError(f"not an uploaded {what}")
    return resolved


def drop_upload(value: Any, results: Path, janitor=None) -> None:
    """Remove the uploaded files a value names (an editor sends its layers too): in the upload folder, never
    among the Space's results, and (with the Space's `janitor`) only once no other upload of the same file is
    waiting to be used."""
    values = [value]
    if isinstance(value, dict) and "composite" in value:
        values = [value.get("background"), value.get("composite"), *(value.get("layers") or [])[:8]]
    for v in values:
        try:
            path = uploaded_path(v, results)
            if janitor is None or janitor.release(str(path)):
                path.unlink(missing_ok=True)
        except (InputError, OSError):
            pass


def class_hint(text: Any, class_names: tuple[str, ...]) -> int | None:
    """The class a visitor says the picture shows (a name or an index), or None when the box is empty."""
    text = str(text or "").strip()[:40]
    if not text:
        return None
    if not class_names:
        raise InputError("this model has no classes: leave the class empty")
    found = parse_classes(text, class_names)
    if len(found) != 1:
        raise InputError(f"give one class, like {class_names[0]}, or leave it empty")
    return found[0]


def project_picture(
    app, model: Any, picture: Any, following: Any = DEFAULT_FOLLOWING, hint: Any = ""
) -> tuple[str, str, str, str, str]:
    """(side-by-side PNG of the picture as the model saw it and its version, latent JSON, animation GIF, recipe,
    how well it fits in a sentence)."""
    from serving.files.recipe_file import add_to_png
    from serving.picture.project import open_picture
    from serving.rendering.sample import to_png_row

    gen = app.model(model)
    if not gen.has_encoder:
        raise InputError(f"{gen.config.name} has no encoder: pick a model that ships encoder.onnx")
    seeds = parse_int_list(str(following or DEFAULT_FOLLOWING)[:200], "seed", max_count=MAX_FOLLOWING)
    try:
        cls = class_hint(hint, gen.config.class_names)
        opened = open_picture(uploaded_path(picture, app.out_dir), max_bytes=MAX_PICTURE_BYTES)
        # In the Space's accounting as a render is: a math-art drawing's fit is a second's work, not a moment's.
        found = app.in_turn(project_seconds(gen), _projected, gen, opened, cls)
    finally:
        drop_upload(picture, app.out_dir, app.janitor)
    latent = tuple(float(v) for v in found.latent)
    classes = None
    if gen.config.conditional:
        classes = (found.class_index, *default_classes(seeds, gen.config.num_classes))
    recipe = Recipe(
        seeds=(0, *seeds),
        classes=classes,
        latents=(latent, *([None] * len(seeds))),
        bundle_sha256=gen.config.sha256,
        bundle=gen.config.name,
        name="from your picture",
    )
    # The pair carries the recipe of the animation that starts from the picture: the file alone renders it again.
    shown = [found.prepared, found.image] + ([found.overlay] if found.overlay is not None else [])
    row = add_to_png(to_png_row(shown, scale=8 if gen.config.image_size[0] < 128 else 1), recipe.to_json())
    pair = app.save(row, f"project-{found_key(latent)}", "png")
    fields = found.to_dict(gen.config.sha256)
    # What a person reads first (the class, whether it fits, the curve's equation), the 64 numbers last.
    keys = ("class", "fits", "verdict", "fit_px", "distance", "equation", "bundle_sha256", "latent")
    answer = json.dumps({k: fields[k] for k in keys if k in fields})
    name = gen.config.class_names[found.class_index] if found.class_index is not None else ""
    verdict = (f"**{name}**: " if name else "") + found.verdict
    return pair, answer, app.rendered(gen, recipe), recipe.to_pretty_json(), verdict


def project_seconds(gen) -> float:
    """What a projection costs here, for the Space's lanes: a math-art drawing's curve fit and latent search about
    a second and a half (bench.projection), a digit's search a fraction of one."""
    from serving.picture.project import draws_curves

    return 1.5 if draws_curves(gen.config) else 0.3


def _projected(gen, picture, class_index, progress=None):
    """serving.picture.project, as the Space's in_turn calls it (its progress deadline is not needed: the search
    is bounded)."""
    from serving.picture.project import project

    return project(gen, picture, class_index)


def found_key(latent: tuple[float, ...]) -> str:
    import hashlib

    return hashlib.sha256(json.dumps(latent).encode()).hexdigest()[:16]


def recipe_from_file(value: Any, results: Path, janitor=None) -> str:
    """The recipe a dropped GIF, PNG or WebP carries (serving/files/recipe_file.py), checked by the recipe schema,
    as the text for Animate's recipe box; the upload is removed once read."""
    from serving.files.recipe_file import recipe_text
    from serving.inputs import read_binary_file

    try:
        path = uploaded_path(value, results)
        data = read_binary_file(path, "file", MAX_PICTURE_BYTES)
        if data[4:8] == b"ftyp":  # never run ffmpeg on a stranger's file; the CLI reads MP4s
            raise InputError(
                "drop a GIF, PNG or WebP here; an MP4's recipe is read by python -m serving render --recipe"
            )
        return Recipe.from_json(recipe_text(data)).to_pretty_json()
    finally:
        drop_upload(value, results, janitor)
