"""The Sample, Breed, Explore, Compare, Gallery and About tabs: each builds its part of the page and wires its events."""

from __future__ import annotations

import gradio as gr

from serving.files.formats import FORMATS
from serving.rendering.recipe import BOUNDS, span
from serving.rendering.sample import DEFAULT_SAMPLE_SEEDS
from serving.space.api_docs import api, described
from serving.space.handlers import SpaceApp
from serving.space.handling import DEFAULT, DEFAULT_SEEDS, MAX_SAMPLE_SEEDS, PARTNER
from serving.space.widgets import preview, random_seed_range, walk_controls


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
            s_png = gr.File(label="Grid (PNG)", interactive=False)
            s_npz = gr.File(label="Data (.npz)", interactive=False)
        s_stats = gr.Textbox(label="Summary", interactive=False)
        s_inputs = [model, s_seeds, s_classes, s_trunc]
        s_outputs = [
            described(s_png, "PNG: the grid, 8 a row; it carries its recipe (python -m serving sample --recipe)"),
            described(s_npz, ".npz: images uint8 [n, h, w, c], labels, seeds and class_names"),
            described(s_stats, "one line: the images' shape, mean and spread, and the count per class"),
        ]
        s_go.click(
            app.sample, s_inputs, s_outputs, **api(app, "sample", app.sample, s_inputs, s_outputs), preprocess=False
        ).then(SpaceApp.shown_file, s_png, s_image, api_visibility="private", preprocess=False)
        s_dice.click(random_seed_range, None, s_seeds, api_visibility="private")


def breed_tab(app: SpaceApp, model, recipe_in) -> None:
    """The Breed tab: candidates from seeds, pick two or more, Breed, pick again; a pick's walk opens in Animate
    (its recipe goes into Animate's recipe box)."""
    from serving.rendering.breed import DEFAULT_MUTATION, MAX_CHILDREN, MUTATION_RANGE
    from serving.space.breed_handlers import DEFAULT_BREED_CHILDREN, DEFAULT_CANDIDATES

    with gr.Tab("Breed"):
        with gr.Row():
            b_seeds = described(
                gr.Textbox(DEFAULT_CANDIDATES, label="Start from seeds", scale=4), "seeds like 0-8; at most 64"
            )
            b_start = gr.Button("Show candidates", scale=0, min_width=150)
        b_gallery = gr.Gallery(
            label="Candidates", columns=3, height="auto", interactive=False, elem_id="gm-breed-gallery"
        )
        b_picks = described(
            gr.CheckboxGroup([str(i) for i in range(DEFAULT_BREED_CHILDREN)], label="Parents: pick two or more"),
            "the candidates' numbers to breed, two or more",
        )
        with gr.Row():
            b_children = described(
                gr.Slider(1, MAX_CHILDREN, DEFAULT_BREED_CHILDREN, step=1, label="Children"), f"1..{MAX_CHILDREN}"
            )
            b_seed = described(gr.Number(0, label="Breeding seed", precision=0, minimum=0), "0..4294967295")
            b_mutation = described(
                gr.Slider(*MUTATION_RANGE, DEFAULT_MUTATION, step=0.05, label="Mutation"),
                "standard deviation of the noise on each latent dimension",
            )
        b_go = gr.Button("Breed", variant="primary")
        b_lineage = described(gr.Textbox(label="Lineage", lines=4, interactive=False), "one line per picture")
        with gr.Accordion("Candidates' recipes (children.json)", open=False):
            b_sheet = described(
                gr.Code("", language="json", label="Recipes", interactive=True),
                'a breed sheet: {"kind": "breed", "children": [still recipes]}',
            )
            b_grid = described(gr.File(label="Grid (PNG)", interactive=False), "the grid, carrying every recipe")
        with gr.Row():
            b_pick = described(gr.Textbox("0", label="Candidate to animate", scale=1), "a candidate's number")
            b_open = gr.Button("Open in Animate", scale=0, min_width=160)
        outputs = [b_gallery, b_sheet, b_lineage, b_grid]

        def ticks(items):  # the checkboxes follow the number of candidates, none picked
            return gr.update(choices=[str(i) for i in range(len(items or []))], value=[])

        s_inputs = [model, b_seeds]
        b_start.click(
            app.breed_candidates,
            s_inputs,
            outputs,
            **api(app, "breed_candidates", app.breed_candidates, s_inputs, outputs),
            preprocess=False,
            concurrency_limit=3,
            concurrency_id="work",  # the limit Animate, Your picture and Compare share (serving/space/layout.py)
        ).then(ticks, b_gallery, b_picks, api_visibility="private")
        b_inputs = [model, b_sheet, b_picks, b_children, b_seed, b_mutation]
        b_go.click(
            app.breed,
            b_inputs,
            outputs,
            **api(app, "breed", app.breed, b_inputs, outputs),
            preprocess=False,
            concurrency_limit=3,
            concurrency_id="work",
        ).then(ticks, b_gallery, b_picks, api_visibility="private")

        def picked(evt: gr.SelectData) -> str:  # a click on a candidate names it for Animate
            return str(evt.index)

        b_gallery.select(picked, None, b_pick, api_visibility="private")
        o_inputs = [model, b_sheet, b_pick]
        b_open.click(app.breed_to_animate, o_inputs, recipe_in, api_visibility="private", preprocess=False)


def explore_tab(app: SpaceApp, model) -> tuple:
    """The Explore tab: one image under three direction sliders and a class mix; returns the seed, class A and
    the sliders (their labels follow the model and the family)."""
    with gr.Tab("Explore") as tab:
        with gr.Row(elem_id="gm-explore-row"):
            with gr.Column():
                e_seed = described(gr.Number(7, label="Seed", precision=0, minimum=0), "a seed, 0..4294967295")
                # Named for no one model (the API lists every model's names); the page names them for the model
                # shown when the tab opens and whenever the model changes.
                e_dirs = [
                    described(gr.Slider(-5, 5, 0, step=0.1, label=f"Direction {i + 1}"), _direction_text(app, i))
                    for i in range(3)
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
            e_image = described(
                gr.Image(app.explore(), label="Image", type="filepath", interactive=False, elem_id="gm-explore"),
                "PNG: the picture; it carries what made it (its model and these values)",
            )
        e_inputs = [model, e_seed, *e_dirs, e_a, e_b, e_mix, e_trunc, e_size]
        gr.on(
            [c.change for c in e_inputs],
            app.explore,
            e_inputs,
            e_image,
            **api(app, "explore", app.explore, e_inputs, [e_image]),
            preprocess=False,
            trigger_mode="always_last",
            show_progress="hidden",
        )
        # The sliders' names also follow when the tab is opened: Gradio draws a tab when it is first shown, and a
        # model switch made before that left its names behind.
        tab.select(
            lambda n, s, a: [gr.update(label=label) for label in app.direction_labels(n, s, a)],
            [model, e_seed, e_a],
            e_dirs,
            api_visibility="private",
            preprocess=False,
        )
    return e_seed, e_a, e_dirs


def _direction_text(app: SpaceApp, i: int) -> str:
    """What slider d{i+1} moves on each model served, -5..5 (math art: a parameter of class A's family)."""
    from serving.space.explore import FAMILY_SLIDERS, param_labels

    moves = []
    for name, gen in app.models.items():
        if "params" in gen.config.outputs:
            per_family = ", ".join(f"{f}: {param_labels(f)[i]}" for f in FAMILY_SLIDERS if f in gen.config.class_names)
            moves.append(f"{name}: a parameter of class A's family ({per_family})")
        else:
            moves.append(f"{name}: {app.direction_labels(name)[i].lower()}")
    return f"steps along slider {i + 1}, -5..5; it moves " + "; ".join(moves)


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
        c_inputs = [c_a, c_b, c_seeds, c_classes, c_path, c_frames, c_fps, c_loop, c_easing, c_trunc, c_size, c_fmt]
        c_outputs = [
            described(c_file, "the two models side by side (GIF, WebP, MP4 or PNG strip); the file carries its recipe"),
            described(c_recipe, "the recipe JSON naming both models (python -m serving compare --recipe renders it)"),
        ]
        c_go.click(
            app.compare,
            c_inputs,
            c_outputs,
            **api(app, "compare", app.compare, c_inputs, c_outputs),
            preprocess=False,
            concurrency_limit=3,
            concurrency_id="work",
        ).then(preview, c_file, [c_shown, c_video], api_visibility="private", preprocess=False)


def gallery_tab(app: SpaceApp) -> tuple:
    """The Gallery tab (only where the Space has a gallery): the latest renders and, for the one selected, its
    recipe. Returns (pictures, their recipes)."""
    with gr.Tab("Gallery"):
        gr.Markdown(
            "The latest renders from the gallery (`GANIMATE_GALLERY`). Select one to see its recipe; paste "
            "it into Animate to render it again, byte for byte."
        )
        g_items = gr.Gallery(columns=4, height="auto", label="Latest renders")
        g_shown = gr.State([])  # the recipes of the pictures shown, in order: what a selection indexes
        g_recipe = gr.Code(language="json", label="Recipe")
        g_refresh = gr.Button("Refresh")
        g_refresh.click(app.gallery_items, None, [g_items, g_shown], api_visibility="private")
        g_items.select(app.gallery_recipe, g_shown, g_recipe, api_visibility="private")
    return g_items, g_shown


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
