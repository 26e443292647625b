"""Form parts several tabs share: the walk's controls, the share box, dice and the file preview."""

from __future__ import annotations

import gradio as gr
import numpy as np

from serving.latent.paths import EASINGS, PATH_KINDS
from serving.rendering.recipe import BOUNDS, MAX_FPS, MAX_FRAMES_PER_TRANSITION, MAX_GRID, span
from serving.space.api_docs import described
from serving.space.handlers import SpaceApp
from serving.space.handling import DEFAULT

# Every grid the recipe takes (serving.rendering.recipe.MAX_GRID a side), so the API's type is what is validated.
GRIDS = tuple(f"{rows}x{cols}" for rows in range(1, MAX_GRID + 1) for cols in range(1, MAX_GRID + 1))


def random_seeds(count: int = 4) -> str:
    rng = np.random.default_rng()
    return ",".join(str(int(s)) for s in rng.integers(0, 100_000, size=int(count)))


def random_seed_range() -> str:
    start = int(np.random.default_rng().integers(0, 1_000_000))
    return f"{start}-{start + 31}"


def preview(file):
    """UI only: show GIF/WebP/PNG in the image box and MP4 in the video box (only a file Gradio itself served)."""
    path = SpaceApp.shown_file(file)
    if not path:
        return gr.update(value=None, visible=True), gr.update(value=None, visible=False)
    if path.endswith(".mp4"):
        return gr.update(value=None, visible=False), gr.update(value=path, visible=True)
    return gr.update(value=path, visible=True), gr.update(value=None, visible=False)


def walk_controls(size_label: str, size_text: str) -> tuple:
    """The walk's form fields, in rows: path, easing, loop; frames, fps; truncation, size (Animate and Compare)."""
    with gr.Row():
        path = described(
            gr.Dropdown(list(PATH_KINDS), value=DEFAULT.path, label="Path"),
            "through keyframes: lerp, slerp, cubic; closed orbits of two seeds: circle, lissajous, spiral",
        )
        easing = described(
            gr.Dropdown(list(EASINGS), value=DEFAULT.easing, label="Easing"),
            f"timing between keyframes: {', '.join(EASINGS)}",
        )
    loop = described(
        gr.Checkbox(DEFAULT.loop, label="Loop: the last frame flows into the first"),
        "true: the last frame flows back into the first",
    )
    with gr.Row():
        frames = described(
            gr.Slider(1, MAX_FRAMES_PER_TRANSITION, DEFAULT.frames, step=1, precision=0, label="Frames per transition"),
            f"frames between two keyframes, 1..{MAX_FRAMES_PER_TRANSITION}",
        )
        fps = described(
            gr.Slider(1, MAX_FPS, DEFAULT.fps, step=1, precision=0, label="FPS"), f"frames per second, 1..{MAX_FPS}"
        )
    with gr.Row():
        truncation = described(
            gr.Slider(*BOUNDS["truncation"], DEFAULT.truncation, step=0.05, label="Truncation ψ"),
            f"psi, {span('truncation')}: scales z toward the average picture (lower: tamer)",
        )
        size = described(
            gr.Slider(*BOUNDS["size"], DEFAULT.size, step=16, precision=0, label=size_label),
            f"{size_text}, {span('size')}",
        )
    return path, easing, loop, frames, fps, truncation, size


def share_box() -> gr.Textbox:
    """Where Animate offers the link of the current render."""
    return gr.Textbox(
        "", label="Share link (opens this render)", interactive=False, buttons=["copy"], elem_id="gm-share", max_lines=2
    )
