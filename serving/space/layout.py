"""`build_demo`: the Space's Gradio Blocks over a `SpaceApp`, with its public API (`/animate`, `/sample`, `/explore`,
`/compare`).

Only those four events are API endpoints; every UI-only event is `api_visibility="private"`.
"""

from __future__ import annotations

import os
from pathlib import Path

import gradio as gr
import numpy as np

from serving.bundle.generator import Generator
from serving.files.formats import FORMATS
from serving.galleries.gallery import Gallery
from serving.latent.paths import EASINGS, PATH_KINDS
from serving.rendering.recipe import BOUNDS, MAX_FPS, MAX_FRAMES_PER_TRANSITION, span
from serving.rendering.sample import DEFAULT_SAMPLE_SEEDS
from serving.space.handlers import DEFAULT, DEFAULT_GRID, DEFAULT_SEEDS, MAX_SAMPLE_SEEDS, PARTNER, SpaceApp

GRIDS = ("1x1", "2x2", "3x3", "4x4")
CSS = """
.gm-header {text-align: center; margin-bottom: 0.5rem}
.gm-header h1 {font-size: 2rem; margin-bottom: 0}
#gm-preview img {image-rendering: auto; max-height: 520px; object-fit: contain}
#gm-examples img {object-fit: contain !important; background: #000}
/* Example thumbnails: square pictures with their caption under them, and no empty block below the grid. */
#gm-examples .grid-wrap {min-height: 0 !important; height: auto !important; max-height: none !important}
#gm-examples .thumbnail-item {aspect-ratio: auto !important; height: auto !important; display: flex;
  flex-direction: column}
#gm-examples .thumbnail-item img {aspect-ratio: 1 / 1; width: 100%; height: auto}
#gm-examples .caption-label {position: static !important; transform: none !important; max-width: 100% !important;
  margin: 4px auto 0 !important}
/* A phone: the animation first (it is what the page is for), a smaller header, labels on their own line. */
@media (max-width: 640px) {
  #gm-animate-row {flex-direction: column-reverse}
  #gm-picture-row {flex-direction: column}  /* Your picture keeps its order: the input comes first */
  #gm-animate-row, #gm-picture-row {flex-wrap: nowrap}
  #gm-animate-row > div, #gm-picture-row > div {min-width: 0 !important; width: 100% !important; flex: none !important}
  #gm-preview img, #gm-from-picture img {max-width: 100%}
  .gm-header h1 {font-size: 1.5rem}
  .gm-header p {display: none}
  #gm-preview img {max-height: 300px}
}
"""


def launch_options(requests_per_min: int | None = None) -> dict:
    """How every server of this demo is launched (main, the tests and the benches alike), fresh each time because
    Gradio adds to `app_kwargs`. show_error: a failure reaches the client as its message, never as
    {"error": null}. No component takes an upload: the gate refuses the route, and max_file_size stays as a
    second wall."""
    from starlette.middleware import Middleware

    from serving.space.gate import UploadGate

    if requests_per_min is None:
        from serving import inputs as check

        requests_per_min = check.whole(
            "GANIMATE_REQUESTS_PER_MIN", os.environ.get("GANIMATE_REQUESTS_PER_MIN", "").strip() or 120, 1, 10**9
        )
    return {
        "show_error": True,
        "max_file_size": "5mb",
        "css": CSS,
        "theme": gr.themes.Soft(),
        "app_kwargs": {"middleware": [Middleware(UploadGate, requests_per_min=requests_per_min)]},
    }


class SpaceBlocks(gr.Blocks):
    """gr.Blocks whose raw REST API fills in missing trailing inputs with the form's defaults, as gradio_client
    does: `POST /gradio_api/call/animate {"data": ["mnist-cdcgan"]}` renders the default animation instead of
    failing with Gradio's multi-line "didn't receive enough input values" (issue: too few arguments). Its
    sessions are built lazily (serving/space/sessions.py): every API call is a Gradio session of its own."""

    def __init__(self, *args, **kwargs) -> None:
        from serving.space.sessions import use_lean_sessions

        use_lean_sessions()
        super().__init__(*args, **kwargs)

    def validate_inputs(self, block_fn, inputs: list) -> None:
        missing = block_fn.inputs[len(inputs) :]
        if isinstance(inputs, list) and missing and all(isinstance(c, gr.components.Component) for c in missing):
            inputs.extend(c.value for c in missing)
        super().validate_inputs(block_fn, inputs)

    async def preprocess_data(self, block_fn, inputs, *args, **kwargs):
        """Gradio checks file values against its data model before any handler runs (even with preprocess=False);
        a hostile value there is a visitor's mistake: one line, no traceback in the log."""
        import pydantic
        from gradio.exceptions import InvalidPathError

        try:
            return await super().preprocess_data(block_fn, inputs, *args, **kwargs)
        except InvalidPathError:  # a path planted in a file value: Gradio refuses to move it; say so in a line
            raise gr.Error("a file value must be a file uploaded to this page", print_exception=False) from None
        except pydantic.ValidationError as exc:
            field = exc.title or "a value"
            raise gr.Error(f"{field}: not a value this field accepts", print_exception=False) from None
        except gr.Error as exc:  # a component's own check (a value not among a dropdown's choices)
            exc.print_exception = False
            raise


def described(component, text: str):
    """Give a component's API parameter a description (gradio_client's view_api prints it): accepted forms and
    range, so the API reads like documentation. Returns the component."""
    base = component.api_info

    def api_info() -> dict:
        return {**base(), "description": text, "additional_description": text}

    component.api_info = api_info
    return component


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


def recipe_box(app: SpaceApp):
    """Animate's recipe field, and a drop zone that fills it from a GIF, PNG or WebP ganimate made."""
    recipe_in = described(
        gr.Code("", language="json", label="Recipe to reproduce"),
        "a recipe JSON from an earlier render; when given, it overrides every field",
    )
    dropped = gr.File(
        label="... or drop a GIF, PNG or WebP that ganimate made (it carries its recipe)",
        file_types=[".gif", ".png", ".webp"],
        type="filepath",
        height=130,
        elem_id="gm-drop",
    )
    dropped.upload(app.recipe_from_file, dropped, recipe_in, api_visibility="private", preprocess=False)
    return recipe_in


def music_box() -> tuple:
    """Animate's music: a song to follow, and how (serving/music/walk.py). Returns (song, beats per key, react, band,
    amount), Animate's last inputs."""
    from serving.space.song import REACTIONS

    with gr.Accordion("Music: the walk follows a song", open=False, elem_id="gm-music"):
        song = described(
            gr.Audio(sources=["upload", "microphone"], type="filepath", label="Song (optional)", elem_id="gm-song"),
            "a WAV, MP3, OGG or FLAC of at most 5 MB; its first 30 s are used and the result is an MP4 "
            "with its sound (null: no music)",
        )
        gr.Markdown(
            "The picture moves on the hits, changes on the beat and breathes with the loudness; the result is "
            "an MP4 with the sound, as long as the song (at most 30 s here)."
        )
        with gr.Row():
            beats = described(
                gr.Slider(1, 16, 4, step=1, precision=0, label="Beats per keyframe"),
                "with a song: a new keyframe every N beats, 1..64",
            )
            react = described(
                gr.Dropdown(list(REACTIONS), value="truncation", label="Loudness moves", allow_custom_value=True),
                "with a song: truncation, none, or one of the model's named directions",
            )
        with gr.Row():
            band = described(
                gr.Dropdown(["all", "low", "high"], value="all", label="Loudness of"),
                "all, low (bass, < 200 Hz) or high (> 2 kHz)",
            )
            amount = described(
                gr.Slider(-2, 2, 0.5, step=0.05, label="How far"), "truncation: 0..1; a direction: -2..2"
            )
    return song, beats, react, band, amount


def gallery_tab(app: SpaceApp) -> tuple:
    """The Gallery tab: the latest renders and, for the one selected, its recipe. Returns (pictures, their recipes)."""
    with gr.Tab("Gallery"):
        gr.Markdown(
            "The latest renders from the gallery (`GANIMATE_GALLERY`). Select one to see its recipe; paste "
            "it into Animate to render it again, byte for byte."
            if app.gallery is not None
            else "No gallery is configured: set `GANIMATE_GALLERY` to an SQLite file (see `python -m serving batch`)."
        )
        g_items = gr.Gallery(columns=4, height="auto", label="Latest renders")
        g_shown = gr.State([])  # the recipes of the pictures shown, in order: what a selection indexes
        g_recipe = gr.Code(language="json", label="Recipe")
        g_refresh = gr.Button("Refresh")
        g_refresh.click(app.gallery_items, None, [g_items, g_shown], api_visibility="private")
        g_items.select(app.gallery_recipe, g_shown, g_recipe, api_visibility="private")
    return g_items, g_shown


def share_box() -> gr.Textbox:
    """Where Animate offers the link of the current render."""
    return gr.Textbox(
        "", label="Share link (opens this render)", interactive=False, buttons=["copy"], elem_id="gm-share", max_lines=2
    )


def _picture_inputs() -> tuple:
    """Your picture's left column: upload, paste or webcam; a sketchpad; the seeds that follow it."""
    from serving.space.picture import DEFAULT_FOLLOWING

    with gr.Column(min_width=300):
        with gr.Tab("Upload, paste or webcam"):
            picture = gr.Image(
                sources=["upload", "clipboard", "webcam"],
                type="filepath",
                label="Your picture",
                elem_id="gm-picture",
                height=280,
            )
            p_go = gr.Button("Find it in the model", variant="primary", elem_id="gm-project")
        with gr.Tab("Draw"):
            sketch = gr.Sketchpad(
                type="filepath",
                label="Draw with the mouse or a finger",
                elem_id="gm-sketch",
                height=320,
                canvas_size=(320, 320),
            )
            d_go = gr.Button("Find my drawing in the model", variant="primary")
        following = described(
            gr.Textbox(DEFAULT_FOLLOWING, label="Seeds after your picture"),
            "keyframe seeds the animation visits after your picture, like 5,6,7 (at most 8)",
        )
    return picture, p_go, sketch, d_go, following


def _picture_results() -> tuple:
    """Your picture's right column: the pair (as seen, the model's version), the animation, latent and recipe."""
    with gr.Column():
        pair = gr.Image(
            label="As the model saw it · the model's version",
            type="filepath",
            interactive=False,
            elem_id="gm-pair",
            height=200,
        )
        p_anim = gr.Image(
            label="An animation from your picture", type="filepath", interactive=False, elem_id="gm-from-picture"
        )
        # Textboxes, not gr.Code: a code box here grows to the height of the whole column.
        latent = gr.Textbox(
            "",
            label="Latent found (JSON)",
            lines=3,
            max_lines=6,
            interactive=False,
            buttons=["copy"],
            elem_id="gm-latent",
        )
        p_recipe = gr.Textbox(
            "",
            label="Recipe (paste it on Animate to render it again)",
            lines=6,
            max_lines=12,
            interactive=False,
            buttons=["copy"],
            elem_id="gm-picture-recipe",
        )
    return pair, latent, p_anim, p_recipe


def picture_tab(app: SpaceApp, model) -> None:
    """ "Your picture": upload, paste, take or draw a picture; the model's version of it and an animation from it."""
    encoded = [n for n, g in app.models.items() if g.has_encoder]
    with gr.Tab("Your picture"):
        gr.Markdown(
            "Bring a picture of your own (a digit on paper, a drawing): the model finds the latent that draws "
            "it and an animation starts from it. Models with an encoder: "
            + (", ".join(encoded) if encoded else "none loaded")
            + ". Pictures: PNG, JPEG, WebP, GIF or BMP, "
            "at most 1 MB and 4096x4096; removed once projected."
        )
        with gr.Row(elem_id="gm-picture-row"):
            picture, p_go, sketch, d_go, following = _picture_inputs()
            pair, latent, p_anim, p_recipe = _picture_results()
        outputs = [pair, latent, p_anim, p_recipe]
        p_go.click(
            app.project,
            [model, described(picture, "a picture file (PNG, JPEG, WebP, GIF, BMP; at most 1 MB)"), following],
            outputs,
            api_name="project",
            preprocess=False,
            concurrency_limit=2,
        )
        d_go.click(
            app.project,
            [model, sketch, following],
            outputs,
            api_visibility="private",
            preprocess=False,
            concurrency_limit=2,
        )


def _animate_form(app: SpaceApp) -> tuple[list, gr.Button, gr.Button]:
    """Animate's form: the fields /animate takes after the model (in its order), the Render and Random buttons."""
    with gr.Row():
        seeds = described(
            gr.Textbox(DEFAULT_SEEDS, label="Keyframe seeds", info="like 1,2,3 or 0-7", scale=4),
            "keyframe seeds: 1,2,3 or ranges 0-7; each 0..4294967295",
        )
        dice = gr.Button("Random", scale=0, min_width=90)
    classes = described(
        gr.Textbox("", label="Classes per keyframe", info="numbers or names; one for all; empty: each seed's own"),
        "class per keyframe, by number or name, or one for all; '' = each seed's own",
    )
    path, easing, loop, frames, fps, truncation, size = walk_controls("Size (px)", "output width in pixels")
    with gr.Row():
        grid = described(
            gr.Dropdown(list(GRIDS), value=DEFAULT_GRID, label="Grid", allow_custom_value=True),
            "rows x columns of independent walks, like 2x3; each side 1..8",
        )
        fmt = described(
            gr.Dropdown(list(FORMATS), value=DEFAULT.format, label="Format"),
            "gif, webp, mp4 (H.264), or png (all frames side by side)",
        )
    recipe_in = recipe_box(app)
    music = music_box()
    go = gr.Button("Render", variant="primary", elem_id="gm-render")
    fields = [seeds, classes, path, frames, fps, loop, easing, truncation, grid, size, fmt, recipe_in, *music]
    return fields, go, dice


def animate_tab(app: SpaceApp, model, opening: tuple) -> dict:
    """The Animate tab: the form, the animation (the page opens with one playing), its recipe and share link,
    and the examples. Returns the components the page's model switch and share links update."""
    opening_file, opening_recipe = opening
    with gr.Tab("Animate"):
        with gr.Row(elem_id="gm-animate-row"):
            with gr.Column(scale=2, min_width=300):
                fields, go, dice = _animate_form(app)
            with gr.Column(scale=3):
                shown = gr.Image(
                    opening_file, label="Animation", type="filepath", elem_id="gm-preview", interactive=False
                )
                video = gr.Video(label="Animation", visible=False, interactive=False)
                file_out = gr.File(opening_file, label="Download", interactive=False)
                recipe_out = gr.Code(opening_recipe, language="json", label="Recipe of this render", interactive=False)
                share = share_box()
        animate_inputs = [model, *fields]
        # Three at once: a long render in the heavy lane (one core) leaves two workers for short ones.
        go.click(
            app.animate,
            animate_inputs,
            [file_out, recipe_out],
            api_name="animate",
            preprocess=False,
            concurrency_limit=3,
        ).then(preview, file_out, [shown, video], api_visibility="private", preprocess=False).then(
            app.share_link, recipe_out, share, api_visibility="private"
        )
        dice.click(random_seeds, None, fields[0], api_visibility="private")
        examples = gr.Gallery(
            label="Try one (click to fill the form)",
            columns=3,
            height="auto",
            object_fit="contain",
            allow_preview=False,
            elem_id="gm-examples",
        )
        examples.select(SpaceApp.example_values, None, animate_inputs[1:13], api_visibility="private")
    return dict(
        examples=examples, shown=shown, file_out=file_out, recipe_out=recipe_out, share=share, recipe_in=fields[11]
    )


def sample_tab(app: SpaceApp, model) -> None:
    """The Sample tab: a grid of seeds as PNG and the same images with labels as .npz."""
    with gr.Tab("Sample"):
        with gr.Row():
            s_seeds = described(
                gr.Textbox(DEFAULT_SAMPLE_SEEDS, label="Seeds", info=f"at most {MAX_SAMPLE_SEEDS}", scale=4),
                f"seeds like 0-31,40; at most {MAX_SAMPLE_SEEDS}",
            )
            s_dice = gr.Button("Random", scale=0, min_width=90)
        s_classes = described(
            gr.Textbox("", label="Classes", info="one for all, one per seed, or empty to cycle through all"),
            "class numbers or names: one for all, one per seed, or '' to cycle through all",
        )
        s_trunc = described(
            gr.Slider(*BOUNDS["truncation"], DEFAULT.truncation, step=0.05, label="Truncation ψ"),
            f"psi, {span('truncation')}",
        )
        s_go = gr.Button("Sample", variant="primary")
        s_image = gr.Image(label="Grid", type="filepath", interactive=False)
        with gr.Row():
            s_png = gr.File(label="PNG grid", interactive=False)
            s_npz = gr.File(label="images + labels (.npz)", interactive=False)
        s_stats = gr.Textbox(label="What was generated", interactive=False)
        s_go.click(
            app.sample_grid,
            [model, s_seeds, s_classes, s_trunc],
            [s_png, s_npz, s_stats],
            api_name="sample",
            preprocess=False,
        ).then(SpaceApp.shown_file, s_png, s_image, api_visibility="private", preprocess=False)
        s_dice.click(random_seed_range, None, s_seeds, api_visibility="private")


def explore_tab(app: SpaceApp, model) -> tuple:
    """The Explore tab: one image under three direction sliders and a class mix; returns the seed, class A and
    the sliders (their labels follow the model and the family)."""
    first = app.default_model
    with gr.Tab("Explore"):
        with gr.Row():
            with gr.Column():
                e_seed = described(gr.Number(7, label="Seed", precision=0, minimum=0), "a seed, 0..4294967295")
                e_dirs = [
                    described(
                        gr.Slider(-5, 5, 0, step=0.1, label=label),
                        f"steps along direction {i + 1} (named in the model's config), -5..5",
                    )
                    for i, label in enumerate(app.direction_labels(first))
                ]
                with gr.Row():
                    e_a = described(
                        gr.Textbox("", label="Class A", info="empty: the seed's own"),
                        "a class number or name; '' = the seed's own",
                    )
                    e_b = described(gr.Textbox("", label="Class B"), "a class number or name; '' = class A")
                e_mix = described(gr.Slider(0, 1, 0, step=0.05, label="Mix A → B"), "0: class A .. 1: class B")
                e_trunc = described(
                    gr.Slider(*BOUNDS["truncation"], DEFAULT.truncation, step=0.05, label="Truncation ψ"),
                    f"psi, {span('truncation')}",
                )
                e_size = described(
                    gr.Slider(*BOUNDS["size"], DEFAULT.size, step=16, precision=0, label="Size (px)"),
                    f"image width in pixels, {span('size')}",
                )
            e_image = gr.Image(
                app.explore(), label="Image", type="pil", interactive=False, format="png", elem_id="gm-explore"
            )
        e_inputs = [model, e_seed, *e_dirs, e_a, e_b, e_mix, e_trunc, e_size]
        gr.on(
            [c.change for c in e_inputs],
            app.explore,
            e_inputs,
            e_image,
            api_name="explore",
            preprocess=False,
            trigger_mode="always_last",
            show_progress="hidden",
        )
    return e_seed, e_a, e_dirs


def compare_tab(app: SpaceApp) -> None:
    """The Compare tab: one walk drawn by two models (or one model at two truncations) side by side, in step."""
    first = app.default_model
    with gr.Tab("Compare"):
        gr.Markdown(
            "The same seeds, classes and path drawn by two models side by side, in step: a GAN beside a "
            "VAE shows what each family is good at."
        )
        with gr.Row():
            with gr.Column(scale=2):
                with gr.Row():
                    c_a = described(
                        gr.Dropdown(list(app.models), value=first, label="Left model"),
                        f"the left model, one of: {', '.join(app.models)}",
                    )
                    c_b = described(
                        gr.Dropdown([PARTNER, *app.models], value=PARTNER, label="Right model"),
                        f"the right model, drawing the same classes as the left; '{PARTNER}': the "
                        "first other model that does, else the left one at half its truncation",
                    )
                c_seeds = described(
                    gr.Textbox(DEFAULT_SEEDS, label="Keyframe seeds", info="like 1,2,3 or 0-7"),
                    "keyframe seeds: 1,2,3 or ranges 0-7",
                )
                c_classes = described(
                    gr.Textbox("", label="Classes per keyframe", info="empty: each seed's own"),
                    "class per keyframe, by number or name, or one for all",
                )
                c_path, c_easing, c_loop, c_frames, c_fps, c_trunc, c_size = walk_controls(
                    "Size of each (px)", "each half's width"
                )
                c_fmt = described(
                    gr.Dropdown(list(FORMATS), value=DEFAULT.format, label="Format"), "gif, webp, mp4 or png"
                )
                c_go = gr.Button("Compare", variant="primary", elem_id="gm-compare")
            with gr.Column(scale=3):
                c_shown = gr.Image(
                    label="Side by side", show_label=False, type="filepath", interactive=False, elem_id="gm-compared"
                )  # no label badge over the left model's name
                c_video = gr.Video(label="Side by side", visible=False, interactive=False)
                c_file = gr.File(label="Download", interactive=False)
                c_recipe = gr.Code(language="json", label="Recipe (both models)", interactive=False)
        c_go.click(
            app.compare,
            [c_a, c_b, c_seeds, c_classes, c_path, c_frames, c_fps, c_loop, c_easing, c_trunc, c_size, c_fmt],
            [c_file, c_recipe],
            api_name="compare",
            preprocess=False,
            concurrency_limit=2,
        ).then(preview, c_file, [c_shown, c_video], api_visibility="private", preprocess=False)


def about_tab() -> tuple:
    """The About tab: the model's card, its samples and API snippets (filled when the page loads)."""
    with gr.Tab("About"):
        with gr.Row():
            with gr.Column(scale=3):
                a_card = gr.Markdown()
            with gr.Column(scale=2):
                a_samples = gr.Image(type="filepath", interactive=False, show_label=False)
                gr.Markdown("### Call the API")
                a_api = gr.Markdown()
    return a_card, a_api, a_samples


HEADER = (
    "<div class='gm-header'><h1>ganimate</h1><p>Seeded, looping latent animations from trained GAN "
    "generators, rendered with onnxruntime. Every render is a recipe you can copy and replay.</p></div>"
)


def build_demo(
    models: dict[str, Generator],
    gallery: Gallery | None = None,
    out_dir: Path | None = None,
    app: SpaceApp | None = None,
) -> gr.Blocks:
    """The Space over `models` (name -> Generator, in menu order) and an optional gallery; not launched."""
    app = app or SpaceApp(models, gallery, out_dir)
    first = app.default_model
    opening = app.initial_animation()  # the page opens with an animation playing
    # delete_cache: Gradio's own copies of results older than an hour are removed every 30 minutes.
    with SpaceBlocks(title="ganimate: living pictures from GANs", delete_cache=(1800, 3600)) as demo:
        gr.HTML(HEADER)
        model = described(
            gr.Dropdown(list(app.models), value=first, label="Model"),
            f"the model's name, one of: {', '.join(app.models)}",
        )
        hint = gr.Markdown(app.class_hint(first))
        a = animate_tab(app, model, opening)
        picture_tab(app, model)
        sample_tab(app, model)
        e_seed, e_a, e_dirs = explore_tab(app, model)
        compare_tab(app)
        g_items, g_shown = gallery_tab(app)
        a_card, a_api, a_samples = about_tab()
        # Switching model leaves no stale panel: hint, About, examples and Animate's render all follow it.
        model.change(
            lambda n: (app.class_hint(n), *app.about(n), app.example_thumbnails(n), *app.opening(n)),
            model,
            [hint, a_card, a_api, a_samples, *(a[k] for k in ("examples", "shown", "file_out", "recipe_out", "share"))],
            api_visibility="private",
            preprocess=False,
        )
        # Slider names follow the model (and, for math art, class A's family, which is the seed's own when empty).
        gr.on(
            [model.change, e_seed.change, e_a.change],
            lambda n, s, a: [gr.update(label=label) for label in app.direction_labels(n, s, a)],
            [model, e_seed, e_a],
            e_dirs,
            api_visibility="private",
            preprocess=False,
            trigger_mode="always_last",
        )
        demo.load(
            lambda n: (*app.about(n), *app.gallery_items(), app.example_thumbnails(n)),
            model,
            [a_card, a_api, a_samples, g_items, g_shown, a["examples"]],
            api_visibility="private",
            preprocess=False,
        )
        demo.load(
            app.from_link,
            model,
            [model, a["recipe_in"], a["shown"], a["file_out"], a["recipe_out"], a["share"]],
            api_visibility="private",
        )

    # api_open=False: Gradio's /api/<name> would run a queued event beside the queue, past its concurrency limits
    # (Gradio closes it by itself only on a Hugging Face Space; a self-hosted Space gets the same).
    demo.queue(max_size=32, default_concurrency_limit=2, api_open=False)
    demo.ganimate_app = app  # the handlers behind this demo, for callers that want them directly
    return demo
