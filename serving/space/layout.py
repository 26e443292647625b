"""`build_demo`: the Space's Gradio Blocks over a `SpaceApp`, with its public API (`/animate`, `/sample`, `/explore`,
`/compare`).

Only those four events are API endpoints; every UI-only event is `api_visibility="private"`.
"""

from __future__ import annotations

import os
from pathlib import Path

import gradio as gr

from serving.bundle.generator import Generator
from serving.errors import GanimateError
from serving.files.formats import FORMATS
from serving.galleries.gallery import Gallery
from serving.space.api_docs import api, described
from serving.space.handlers import SpaceApp
from serving.space.handling import DEFAULT, DEFAULT_GRID, DEFAULT_SEEDS
from serving.space.tabs import about_tab, breed_tab, compare_tab, explore_tab, gallery_tab, sample_tab
from serving.space.widgets import GRIDS, preview, random_seeds, share_box, walk_controls

CSS = """
.gm-header {text-align: center; margin-bottom: 0.5rem}
.gm-header h1 {font-size: 2rem; margin-bottom: 0}
#gm-preview img {image-rendering: auto; max-height: 520px; object-fit: contain}
#gm-video video {max-height: 520px; object-fit: contain}  /* a 256 px music video is shown like an animation */
#gm-examples img {object-fit: contain !important; background: #000}
/* Example thumbnails: square pictures with their caption under them, and no empty block below the grid. */
#gm-examples .grid-wrap {min-height: 0 !important; height: auto !important; max-height: none !important}
#gm-examples .thumbnail-item {aspect-ratio: auto !important; height: auto !important; display: flex;
  flex-direction: column}
#gm-examples .thumbnail-item img {aspect-ratio: 1 / 1; width: 100%; height: auto}
#gm-examples .caption-label {position: static !important; transform: none !important; max-width: 100% !important;
  margin: 4px auto 0 !important; white-space: normal !important; overflow: visible !important}
/* A phone: the animation first (it is what the page is for), a smaller header, labels on their own line. */
@media (max-width: 640px) {
  #gm-animate-row {flex-direction: column-reverse}
  #gm-picture-row {flex-direction: column}  /* Your picture keeps its order: the input comes first */
  #gm-animate-row, #gm-picture-row {flex-wrap: nowrap}
  #gm-animate-row > div, #gm-picture-row > div {min-width: 0 !important; width: 100% !important; flex: none !important}
  #gm-preview img, #gm-from-picture img {max-width: 100%}
  .gm-header h1 {font-size: 1.5rem}
  .gm-header p {display: none}
  #gm-preview img, #gm-video video {max-height: 300px}
  #gm-explore-row {flex-direction: column-reverse; flex-wrap: nowrap}  /* the picture right above its sliders */
  #gm-explore-row > div {min-width: 0 !important; width: 100% !important; flex: none !important}
  #gm-explore img {max-height: 240px}
}
"""


def launch_options(app: SpaceApp | None = None, requests_per_min: int | None = None) -> dict:
    """How every server of this demo is launched (main, the tests and the benches alike), fresh each time because
    Gradio adds to `app_kwargs`. show_error: a failure reaches the client as its message, never as
    {"error": null}. Uploads pass the gate (serving/space/gate.py) first; max_file_size is a second wall, which
    the page itself checks before sending. `app`: the demo's handlers, whose endpoints' defaults the gate fills in."""
    from starlette.middleware import Middleware

    from serving.space.gate import UploadGate

    if requests_per_min is None:
        from serving import inputs as check

        requests_per_min = check.whole(
            "GANIMATE_REQUESTS_PER_MIN", os.environ.get("GANIMATE_REQUESTS_PER_MIN", "").strip() or 120, 1, 10**9
        )
    return {
        "show_error": True,
        # The seven public endpoints (animate, sample, explore, compare, project, breed_candidates, breed) as tools
        # for AI assistants too (Gradio's MCP server, /gradio_api/mcp/): a tool call joins the queue like a page's
        # click, so the gate and the per-visitor turns count it the same.
        "mcp_server": True,
        "max_file_size": "10mb",
        "css": CSS,
        "theme": gr.themes.Soft(),
        "app_kwargs": {
            "middleware": [
                Middleware(
                    UploadGate,
                    requests_per_min=requests_per_min,
                    api_defaults=app.api_defaults if app else None,
                    hops=app.proxy_hops if app else None,
                    janitor=app.janitor if app else None,
                )
            ]
        },
    }


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
            gr.Audio(
                sources=["upload", "microphone"],
                type="filepath",
                label="Song (optional): WAV, MP3, OGG or FLAC, at most 10 MB; its first 30 s are used",
                elem_id="gm-song",
            ),
            "a WAV, MP3, OGG or FLAC of at most 10 MB; its first 30 s are used and the result is an MP4 "
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
                brush=gr.Brush(default_size=6, colors=["#000000", "#1f3a93", "#c0392b"], default_color="#000000"),
            )
            d_go = gr.Button("Find my drawing in the model", variant="primary")
        with gr.Row():
            following = described(
                gr.Textbox(DEFAULT_FOLLOWING, label="Seeds after your picture", min_width=140),
                "keyframe seeds the animation visits after your picture, like 5,6,7 (at most 8)",
            )
            hint = described(
                gr.Textbox(
                    "",
                    label="It shows (optional)",
                    placeholder="e.g. 7 or rose",
                    min_width=140,
                    elem_id="gm-class-hint",
                ),
                "the class the picture shows, a name or an index (e.g. 7, rose); empty: the model decides",
            )
    return picture, p_go, sketch, d_go, following, hint


def _picture_results() -> tuple:
    """Your picture's right column: the pair (as seen, the model's version), the animation, latent and recipe."""
    with gr.Column():
        verdict = gr.Markdown("", elem_id="gm-verdict", label="How well it fits")
        pair = gr.Image(label="Seen · drawn", type="filepath", interactive=False, elem_id="gm-pair", height=200)
        p_anim = gr.Image(label="From your picture", type="filepath", interactive=False, elem_id="gm-from-picture")
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
            label="Recipe",
            info="paste it on Animate to render it again",
            lines=6,
            max_lines=12,
            interactive=False,
            buttons=["copy"],
            elem_id="gm-picture-recipe",
        )
    return pair, latent, p_anim, p_recipe, verdict


def picture_tab(app: SpaceApp, model) -> None:
    """ "Your picture": upload, paste, take or draw a picture; the model's version of it and an animation from it."""
    encoded = [n for n, g in app.models.items() if g.has_encoder]
    with gr.Tab("Your picture"):
        gr.Markdown(
            "Bring a picture of your own (a digit on paper, a drawing of a rose or a spirograph): the model finds "
            "the latent that draws it, says how well it fits, and an animation starts from it. A drawn curve comes "
            "back as the equation behind it. Models with an encoder: "
            + (", ".join(encoded) if encoded else "none loaded")
            + ". Pictures: PNG, JPEG, WebP, GIF or BMP, "
            "at most 1 MB and 4096x4096; removed once projected."
        )
        with gr.Row(elem_id="gm-picture-row"):
            picture, p_go, sketch, d_go, following, hint = _picture_inputs()
            pair, latent, p_anim, p_recipe, verdict = _picture_results()
        outputs = [
            described(
                pair,
                "PNG: your picture as the model saw it, the model's version and, for a curve, the curve laid over "
                "your drawing; carries the recipe",
            ),
            described(
                latent,
                "JSON: the class found, whether it fits (and in a sentence), for a curve how close its line lies "
                "(fit_px, px at 256) and its equation, the distance, the bundle's sha256 and the latent",
            ),
            described(p_anim, "GIF: an animation that starts from your picture"),
            described(p_recipe, "the animation's recipe JSON (paste it on /animate to render it again)"),
            described(verdict, "one sentence: what was found and how well it fits"),
        ]
        p_inputs = [
            model,
            described(picture, "a picture file (PNG, JPEG, WebP, GIF, BMP; at most 1 MB)"),
            following,
            hint,
        ]
        p_go.click(
            app.project,
            p_inputs,
            outputs,
            **api(app, "project", app.project, p_inputs, outputs),
            preprocess=False,
            concurrency_limit=3,
            concurrency_id="work",
        )
        d_go.click(
            app.project,
            [model, sketch, following, hint],
            outputs,
            api_visibility="private",
            preprocess=False,
            concurrency_limit=3,
            concurrency_id="work",
        )


# After a render: the animation into view (on a phone the form is long and the animation above it); a no-op where
# it is already on screen.
SHOW_RESULT = "() => { document.querySelector('#gm-preview, #gm-video')?.scrollIntoView({block: 'nearest'}); }"


def note_unchanged(file, last):
    """UI only: a render whose file is the one already shown says so (same recipe, same bytes); returns the file
    now shown."""
    try:
        path, before = SpaceApp.shown_file(file), SpaceApp.shown_file(last)
    except (GanimateError, gr.Error):  # not a file of ours (shown_file says so as gr.Error): nothing to compare
        return last
    if path and path == before:
        gr.Info("Nothing changed since the last render: this is the same animation. Change a field to see another.")
    return path or last


def _animate_form(app: SpaceApp) -> tuple[list, gr.Button, gr.Button]:
    """Animate's form: the fields /animate takes after the model (in its order), the Render and Random buttons."""
    with gr.Row():
        seeds = described(
            gr.Textbox(DEFAULT_SEEDS, label="Keyframe seeds", info="like 1,2,3 or 0-7", scale=4, elem_id="gm-seeds"),
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
            gr.Dropdown(list(GRIDS), value=DEFAULT_GRID, label="Grid"),
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
                video = gr.Video(label="Animation", visible=False, interactive=False, elem_id="gm-video")
                file_out = gr.File(opening_file, label="Download", interactive=False)
                last = gr.State(opening_file)  # the file shown before this render: a render of it again says so
                recipe_out = gr.Code(opening_recipe, language="json", label="Recipe", interactive=False)
                share = share_box()
        animate_inputs = [model, *fields]
        # Work events (Animate, Your picture, Compare, Breed) share one limit of three at once (concurrency_id
        # "work"): on two cores more would only slow each; the heavy lane holds at most two of them (one running, one
        # waiting).
        animate_outputs = [
            described(file_out, "the animation (GIF, WebP, MP4 or PNG strip); the file carries its recipe"),
            described(recipe_out, "the recipe JSON that renders this file again, byte for byte (it names the model)"),
        ]
        go.click(
            app.animate,
            animate_inputs,
            animate_outputs,
            **api(app, "animate", app.animate, animate_inputs, animate_outputs),
            preprocess=False,
            concurrency_limit=3,
            concurrency_id="work",
        ).then(preview, file_out, [shown, video], api_visibility="private", preprocess=False).then(
            app.share_link, recipe_out, share, api_visibility="private"
        ).then(note_unchanged, [file_out, last], last, api_visibility="private", preprocess=False).then(
            None, js=SHOW_RESULT
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
    with gr.Blocks(title="ganimate: living pictures from GANs", delete_cache=(1800, 3600)) as demo:
        gr.HTML(HEADER)
        model = described(
            gr.Dropdown(list(app.models), value=first, label="Model", elem_id="gm-model"),
            f"the model's name, one of: {', '.join(app.models)}",
        )
        hint = gr.Markdown(app.class_hint(first))
        with gr.Tabs(overflow_behavior="wrap"):  # on a phone every tab stays in sight, on a second row
            a = animate_tab(app, model, opening)
            picture_tab(app, model)
            sample_tab(app, model)
            breed_tab(app, model, a["recipe_in"])
            e_seed, e_a, e_dirs = explore_tab(app, model)
            compare_tab(app)
            if app.gallery is not None:  # no Gallery tab without a gallery
                g_items, g_shown = gallery_tab(app)
                demo.load(app.gallery_items, None, [g_items, g_shown], api_visibility="private")
            a_card, a_api, a_samples = about_tab()
        # Switching model leaves no stale panel: hint, About, examples and Animate's render all follow it.
        model.change(
            app.switch_model,
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
            lambda n: (*app.about(n), app.example_thumbnails(n)),
            model,
            [a_card, a_api, a_samples, a["examples"]],
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
