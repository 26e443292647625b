"""ganimate Space: seeded, looping latent animations from ONNX generators, in the browser and through an API.

Models come from `GANIMATE_MODEL` (comma-separated bundle folders or Hub repos `user/name@revision`), else
from `ganimate_model:` in this folder's README front matter (what `python -m serving push-space` pins), else
every bundle in `exported/`. They are loaded once, at import. Endpoints `/animate`, `/sample` and
`/explore` validate every value themselves (events run with preprocess=False), because an API client can send
anything a slider would never produce. `GANIMATE_GALLERY` names an SQLite gallery to show and record renders in.
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
if (HERE.parent / "serving").is_dir() and str(HERE.parent) not in sys.path:
    sys.path.insert(0, str(HERE.parent))  # a checkout: space/ beside serving/ (on the Hub they sit side by side)

import gradio as gr  # noqa: E402
import numpy as np  # noqa: E402

from serving import Generator, Recipe, RecipeError, render  # noqa: E402
from serving import inputs as check  # noqa: E402
from serving.gallery import Gallery, recipe_hash  # noqa: E402
from serving.latents import MAX_SEED, parse_classes, parse_int_list, z_from_seed  # noqa: E402
from serving.paths import EASINGS, PATH_KINDS  # noqa: E402
from serving.render import FORMATS, MAX_FPS, MAX_FRAMES_PER_TRANSITION, MAX_GRID, MAX_SIZE  # noqa: E402
from serving.sample import sample, summary, to_npz, to_png  # noqa: E402

PREFERRED = ("mnist-cdcgan", "mathart-params")  # the order the model menu lists them; the first present opens the app
MAX_SAMPLE_SEEDS = 256
EXPLORE_DIRECTIONS = 3
EXPLORE_DIRECTION_SEEDS = (1_000_001, 1_000_002, 1_000_003)  # fixed, so an explore URL means the same everywhere
GRIDS = ("1x1", "2x2", "3x3", "4x4")
OUT_DIR = Path(tempfile.gettempdir()) / "ganimate-space"  # results are written here; Gradio copies them to its cache


def pinned_model() -> str:
    """The model a pushed Space serves: `ganimate_model: user/name@sha` in this folder's README front matter."""
    readme = HERE / "README.md"
    front = re.match(r"\A---\n(.*?)\n---\n", readme.read_text(), flags=re.S) if readme.is_file() else None
    found = re.search(r"^ganimate_model:\s*(\S+)\s*$", front.group(1), flags=re.M) if front else None
    return found.group(1) if found else ""


def load_models() -> dict[str, Generator]:
    """name -> Generator, from GANIMATE_MODEL, else the README's pinned model, else every bundle under exported/."""
    spec = os.environ.get("GANIMATE_MODEL", "").strip() or pinned_model()
    sources = [s.strip() for s in spec.split(",") if s.strip()] if spec else sorted(
        str(p.parent) for p in (HERE.parent / "exported").glob("*/config.json"))
    if not sources:
        raise RuntimeError("no model: set GANIMATE_MODEL to a bundle folder or user/name@revision, or add exported/NAME")
    models = {}
    for source in sources:
        gen = Generator.from_pretrained(source)
        models[gen.config.name] = gen
    order = [n for n in PREFERRED if n in models] + sorted(n for n in models if n not in PREFERRED)
    return {n: models[n] for n in order}


MODELS = load_models()
DEFAULT_MODEL = next(iter(MODELS))


def _gallery() -> Gallery | None:
    db = os.environ.get("GANIMATE_GALLERY", "").strip()
    return Gallery(db) if db else None


GALLERY = _gallery()


def _model(name) -> Generator:
    return MODELS[check.choice("model", name, list(MODELS))]


_last_prune = [0.0]


def _prune(max_age_s: float = 3600.0, every_s: float = 600.0) -> None:
    """Remove results older than an hour, at most every ten minutes: a long-running Space must not fill its disk."""
    now = time.time()
    if now - _last_prune[0] < every_s:
        return
    _last_prune[0] = now
    for path in OUT_DIR.glob("*"):
        try:
            if now - path.stat().st_mtime > max_age_s:
                path.unlink()
        except OSError:
            pass  # another worker removed it first


def _save(data: bytes, stem: str, suffix: str) -> str:
    """Write a result under a content-derived name; Gradio serves it from its cache, never from here directly."""
    from serving.atomic import write_atomic

    _prune()
    return str(write_atomic(OUT_DIR / f"{stem}.{suffix}", data))


def _errors(fn):
    """Turn our input errors into gr.Error: one clear sentence for the user, no traceback, the server goes on."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (check.InputError, RecipeError, ValueError) as exc:
            raise gr.Error(str(exc)) from None

    return wrapper


# ---- Animate -----------------------------------------------------------------------------------------------

def build_recipe(model, seeds, classes, path, frames, fps, loop, easing, truncation, grid, size, fmt, recipe_json):
    """(Generator, Recipe) from raw request values; a pasted recipe wins over the other fields."""
    recipe_json = check.text("recipe", recipe_json).strip()
    if recipe_json:
        recipe = Recipe.from_json(recipe_json)
        by_sha = [g for g in MODELS.values() if g.config.sha256 == recipe.bundle_sha256]
        gen = by_sha[0] if by_sha else _model(model)  # reproduce on the bundle the recipe was made with
        return gen, recipe
    gen = _model(model)
    class_text = check.text("classes", classes, 2000).strip()
    recipe = Recipe(
        seeds=tuple(parse_int_list(check.text("seeds", seeds, 2000), "seed")),
        classes=tuple(parse_classes(class_text, gen.config.class_names)) if class_text else None,
        path=check.choice("path", path, PATH_KINDS),
        frames=check.whole("frames", frames, 1, MAX_FRAMES_PER_TRANSITION),
        fps=check.whole("fps", fps, 1, MAX_FPS),
        loop=check.flag("loop", loop),
        easing=check.choice("easing", easing, EASINGS),
        truncation=check.number("truncation", truncation, 0.0, 2.0),
        grid=check.grid(grid, MAX_GRID),
        size=check.whole("size", size, 16, MAX_SIZE),
        format=check.choice("format", fmt, FORMATS),
        bundle_sha256=gen.config.sha256,
    )
    return gen, recipe


@_errors
def animate(model=DEFAULT_MODEL, seeds="1,2,3,4", classes="", path="cubic", frames=24, fps=24, loop=True,
            easing="linear", truncation=0.9, grid="1x1", size=256, format="gif", recipe="",
            progress=gr.Progress()):  # noqa: B008 (Gradio injects progress through this default)
    """Render a looping latent animation. Returns the file and the recipe JSON that reproduces it."""
    progress(0.05, desc="checking the request")
    gen, recipe = build_recipe(model, seeds, classes, path, frames, fps, loop, easing, truncation, grid, size, format,
                               recipe)
    progress(0.2, desc=f"rendering {recipe.frame_total()} frames")
    started = time.perf_counter()
    data = render(gen, recipe)
    ms = (time.perf_counter() - started) * 1000
    progress(0.95, desc="saving")
    digest = recipe_hash(recipe)
    if GALLERY is not None:
        GALLERY.add(recipe, data, ms)
    return _save(data, f"ganimate-{digest[:16]}", recipe.format), pretty_recipe(recipe)


def pretty_recipe(recipe: Recipe) -> str:
    """One field a line, lists kept on their line: easy to read and to copy back."""
    fields = json.loads(recipe.to_json())
    return "{\n" + ",\n".join(f"  {json.dumps(k)}: {json.dumps(v)}" for k, v in fields.items()) + "\n}"


def preview(file):
    """UI only: show GIF/WebP/PNG in the image box and MP4 in the video box."""
    if not file:
        return gr.update(value=None, visible=True), gr.update(value=None, visible=False)
    if str(file).endswith(".mp4"):
        return gr.update(value=None, visible=False), gr.update(value=file, visible=True)
    return gr.update(value=file, visible=True), gr.update(value=None, visible=False)


def random_seeds(count=4):
    rng = np.random.default_rng()
    return ",".join(str(int(s)) for s in rng.integers(0, 100_000, size=int(count)))


# ---- Sample ------------------------------------------------------------------------------------------------

@_errors
def sample_grid(model=DEFAULT_MODEL, seeds="0-31", classes="", truncation=0.9):
    """A grid of images (PNG) and the same images with labels (.npz), one per seed."""
    gen = _model(model)
    seed_list = parse_int_list(check.text("seeds", seeds, 2000), "seed", max_count=MAX_SAMPLE_SEEDS)
    class_text = check.text("classes", classes, 2000).strip()
    class_list = parse_classes(class_text, gen.config.class_names) if class_text else None
    samples = sample(gen, seed_list, class_list, check.number("truncation", truncation, 0.0, 2.0))
    stem = f"{gen.config.name}-{recipe_hash(Recipe(seeds=tuple(seed_list), classes=tuple(class_list or ()), truncation=float(truncation), name='sample', bundle_sha256=gen.config.sha256))[:12]}"
    return _save(to_png(samples), stem, "png"), _save(to_npz(samples), stem, "npz"), summary(samples)


# ---- Explore -----------------------------------------------------------------------------------------------

def _directions(latent_dim: int) -> np.ndarray:
    """Orthonormal latent directions [k, latent_dim] from fixed seeds."""
    raw = np.stack([z_from_seed(s, latent_dim).astype(np.float64) for s in EXPLORE_DIRECTION_SEEDS])
    q, _ = np.linalg.qr(raw.T)
    return q.T[:EXPLORE_DIRECTIONS]


@_errors
def explore(model=DEFAULT_MODEL, seed=7, d1=0.0, d2=0.0, d3=0.0, class_a="", class_b="", mix=0.0, truncation=0.9,
            size=256):
    """One image: z(seed) moved along three fixed directions, and (conditional models) class A mixed toward B."""
    from PIL import Image

    gen = _model(model)
    seed = check.whole("seed", seed, 0, MAX_SEED)
    steps = [check.number(f"d{i + 1}", v, -5.0, 5.0) for i, v in enumerate((d1, d2, d3))]
    psi = check.number("truncation", truncation, 0.0, 2.0)
    size = check.whole("size", size, 16, MAX_SIZE)
    z = z_from_seed(seed, gen.latent_dim).astype(np.float64) + np.asarray(steps) @ _directions(gen.latent_dim)
    y = None
    if gen.num_classes:
        a_text = check.text("class_a", class_a, 100).strip() or str(seed % gen.num_classes)
        b_text = check.text("class_b", class_b, 100).strip() or a_text
        a = parse_classes(a_text, gen.config.class_names)[0]
        b = parse_classes(b_text, gen.config.class_names)[0]
        t = check.number("mix", mix, 0.0, 1.0)
        y = np.zeros((1, gen.num_classes), dtype=np.float32)
        y[0, a] += 1 - t
        y[0, b] += t
    image = gen((z * psi)[None].astype(np.float32), y)[0]
    pil = Image.fromarray(image[..., 0] if image.shape[2] == 1 else image).resize((size, size), Image.LANCZOS)
    return pil


# ---- Gallery and About -------------------------------------------------------------------------------------

def gallery_items(limit: int = 24) -> list[tuple[str, str]]:
    if GALLERY is None:
        return []
    items = []
    for e in GALLERY.latest(limit):
        if e.path.is_file():  # copy out of the gallery folder: Gradio serves files from its cache only
            items.append((_save(e.path.read_bytes(), f"gallery-{e.recipe_hash[:16]}", e.recipe.format),
                          f"#{e.id} {e.recipe.path} {e.recipe.name}".strip()))
    return items


def gallery_recipe(evt: gr.SelectData):
    if GALLERY is None:
        return ""
    entries = GALLERY.latest(24)
    return entries[evt.index].recipe.to_json() if evt.index < len(entries) else ""


def model_card(name) -> str:
    gen = _model(name)
    card = (gen.bundle_dir / "README.md").read_text() if (gen.bundle_dir / "README.md").is_file() else ""
    card = re.sub(r"\A---\n.*?\n---\n", "", card, flags=re.S)  # the Hub's YAML front matter
    card = re.sub(r"!\[[^\]]*\]\([^)]*\)\n?", "", card)  # relative image links cannot resolve here
    return card


def contract(name) -> str:
    c = _model(name).config
    y = f"\n| `y` | float32 `[batch, {c.num_classes}]` | soft one-hot over {', '.join(c.class_names)} |" if c.num_classes else ""
    return (f"| tensor | type | meaning |\n|---|---|---|\n| `z` | float32 `[batch, {c.latent_dim}]` | latent, "
            f"`z(seed)` by `{c.latent_algorithm}` |{y}\n| `images` | float32 `[batch, {c.image_size[0]}, "
            f"{c.image_size[1]}, {c.channels}]` | NHWC in [0, 1] |\n\nsha256 of model.onnx: `{c.sha256}`")


API_USAGE = """```python
from gradio_client import Client

client = Client("http://127.0.0.1:7860/")           # or the Space id, e.g. "user/ganimate"
gif, recipe = client.predict(api_name="/animate")    # every parameter has a default
gif, recipe = client.predict(model="{model}", seeds="1,2,3,4", classes="", path="cubic", frames=24,
                             fps=24, loop=True, easing="linear", truncation=0.9, grid="1x1", size=256,
                             format="gif", recipe="", api_name="/animate")
png, npz, stats = client.predict(model="{model}", seeds="0-31", api_name="/sample")
image = client.predict(model="{model}", seed=7, d1=1.5, api_name="/explore")
```
The same inputs give byte-identical files. `recipe` is the JSON to paste back (or keep) to reproduce a render."""


def about(name):
    return model_card(name), contract(name), API_USAGE.replace("{model}", name), samples_image(name)


def samples_image(name):
    path = _model(name).bundle_dir / "samples.png"
    return _save(path.read_bytes(), f"{name}-samples", "png") if path.is_file() else None


def class_hint(name) -> str:
    c = _model(name).config
    if not c.num_classes:
        return "This model has no classes: leave classes empty."
    return f"Classes: {', '.join(f'{i}={n}' for i, n in enumerate(c.class_names))}. Empty: each seed's own class."


# ---- Layout ------------------------------------------------------------------------------------------------

CSS = """
.gm-header {text-align: center; margin-bottom: 0.5rem}
.gm-header h1 {font-size: 2rem; margin-bottom: 0}
#gm-preview img {image-rendering: auto; max-height: 520px; object-fit: contain}
"""

# delete_cache: Gradio's own copies of results older than an hour are removed every 30 minutes.
with gr.Blocks(title="ganimate: living pictures from GANs", delete_cache=(1800, 3600)) as demo:
    gr.HTML("<div class='gm-header'><h1>ganimate</h1><p>Seeded, looping latent animations from trained GAN "
            "generators, rendered with onnxruntime. Every render is a recipe you can copy and replay.</p></div>")
    model = gr.Dropdown(list(MODELS), value=DEFAULT_MODEL, label="Model")
    hint = gr.Markdown(class_hint(DEFAULT_MODEL))

    with gr.Tab("Animate"):
        with gr.Row():
            with gr.Column(scale=2):
                with gr.Row():
                    seeds = gr.Textbox("1,2,3,4", label="Keyframe seeds", info="like 1,2,3 or 0-7", scale=4)
                    dice = gr.Button("Random", scale=0, min_width=90)
                classes = gr.Textbox("", label="Classes per keyframe", info="numbers or names; one for all; empty: each seed's own")
                with gr.Row():
                    path = gr.Dropdown(list(PATH_KINDS), value="cubic", label="Path")
                    easing = gr.Dropdown(list(EASINGS), value="linear", label="Easing")
                    loop = gr.Checkbox(True, label="Loop")
                with gr.Row():
                    frames = gr.Slider(1, MAX_FRAMES_PER_TRANSITION, 24, step=1, label="Frames per transition")
                    fps = gr.Slider(1, MAX_FPS, 24, step=1, label="FPS")
                with gr.Row():
                    truncation = gr.Slider(0.0, 2.0, 0.9, step=0.05, label="Truncation ψ")
                    size = gr.Slider(64, MAX_SIZE, 256, step=32, label="Size (px)")
                with gr.Row():
                    grid = gr.Dropdown(list(GRIDS), value="1x1", label="Grid", allow_custom_value=True)
                    fmt = gr.Dropdown(list(FORMATS), value="gif", label="Format")
                recipe_in = gr.Code("", language="json", label="Paste a recipe to reproduce it (overrides the fields)")
                go = gr.Button("Render", variant="primary", elem_id="gm-render")
            with gr.Column(scale=3):
                shown = gr.Image(label="Animation", type="filepath", elem_id="gm-preview", interactive=False)
                video = gr.Video(label="Animation", visible=False, interactive=False)
                file_out = gr.File(label="Download")
                recipe_out = gr.Code(language="json", label="Recipe (copy it to reproduce this render)")
        animate_inputs = [model, seeds, classes, path, frames, fps, loop, easing, truncation, grid, size, fmt, recipe_in]
        go.click(animate, animate_inputs, [file_out, recipe_out], api_name="animate", preprocess=False,
                 concurrency_limit=2).then(preview, file_out, [shown, video], api_visibility="private")
        dice.click(random_seeds, None, seeds, api_visibility="private")
        gr.Examples(
            [[DEFAULT_MODEL, "1,2,3,4", "", "cubic", 24, 24, True, "linear", 0.9, "1x1", 256, "gif", ""],
             [DEFAULT_MODEL, "10,20", "", "lissajous", 48, 24, True, "linear", 0.8, "3x3", 384, "gif", ""],
             [DEFAULT_MODEL, "0-15", "", "slerp", 12, 20, True, "ease-in-out", 0.8, "4x4", 512, "gif", ""]],
            animate_inputs, [file_out, recipe_out], fn=animate, cache_examples=True, cache_mode="lazy",
            label="Try one")

    with gr.Tab("Sample"):
        with gr.Row():
            s_seeds = gr.Textbox("0-31", label="Seeds", info=f"at most {MAX_SAMPLE_SEEDS}", scale=4)
            s_dice = gr.Button("Random", scale=0, min_width=90)
        s_classes = gr.Textbox("", label="Classes", info="one for all, one per seed, or empty to cycle through all")
        s_trunc = gr.Slider(0.0, 2.0, 0.9, step=0.05, label="Truncation ψ")
        s_go = gr.Button("Sample", variant="primary")
        s_image = gr.Image(label="Grid", type="filepath", interactive=False)
        with gr.Row():
            s_png = gr.File(label="PNG grid")
            s_npz = gr.File(label="images + labels (.npz)")
        s_stats = gr.Textbox(label="What was generated", interactive=False)
        s_go.click(sample_grid, [model, s_seeds, s_classes, s_trunc], [s_png, s_npz, s_stats], api_name="sample",
                   preprocess=False).then(lambda p: p, s_png, s_image, api_visibility="private")
        s_dice.click(lambda: (lambda s: f"{s}-{s + 31}")(int(np.random.default_rng().integers(0, 1_000_000))),
                     None, s_seeds, api_visibility="private")

    with gr.Tab("Explore"):
        with gr.Row():
            with gr.Column():
                e_seed = gr.Number(7, label="Seed", precision=0)
                e_dirs = [gr.Slider(-5, 5, 0, step=0.1, label=f"Direction {i + 1}") for i in range(EXPLORE_DIRECTIONS)]
                with gr.Row():
                    e_a = gr.Textbox("", label="Class A", info="empty: the seed's own")
                    e_b = gr.Textbox("", label="Class B")
                e_mix = gr.Slider(0, 1, 0, step=0.05, label="Mix A → B")
                e_trunc = gr.Slider(0.0, 2.0, 0.9, step=0.05, label="Truncation ψ")
                e_size = gr.Slider(64, 512, 256, step=32, label="Size (px)")
            e_image = gr.Image(label="Image", type="pil", interactive=False, format="png")
        e_inputs = [model, e_seed, *e_dirs, e_a, e_b, e_mix, e_trunc, e_size]
        gr.on([c.change for c in e_inputs], explore, e_inputs, e_image, api_name="explore", preprocess=False,
              trigger_mode="always_last", show_progress="hidden")

    with gr.Tab("Gallery"):
        gr.Markdown("The latest renders from the gallery (`GANIMATE_GALLERY`). Select one to see its recipe; paste "
                    "it into Animate to render it again, byte for byte." if GALLERY is not None else
                    "No gallery is configured: set `GANIMATE_GALLERY` to an SQLite file (see `python -m serving batch`).")
        g_items = gr.Gallery(columns=4, height="auto", label="Latest renders")
        g_recipe = gr.Code(language="json", label="Recipe")
        g_refresh = gr.Button("Refresh")
        g_refresh.click(gallery_items, None, g_items, api_visibility="private")
        g_items.select(gallery_recipe, None, g_recipe, api_visibility="private")

    with gr.Tab("About"):
        with gr.Row():
            with gr.Column(scale=3):
                a_card = gr.Markdown()
            with gr.Column(scale=2):
                a_samples = gr.Image(label="samples.png", type="filepath", interactive=False)
                gr.Markdown("### I/O contract")
                a_contract = gr.Markdown()
                gr.Markdown("### Call the API")
                a_api = gr.Markdown()

    model.change(lambda n: (class_hint(n), *about(n)), model, [hint, a_card, a_contract, a_api, a_samples],
                 api_visibility="private")
    demo.load(lambda n: (*about(n), gallery_items()), model, [a_card, a_contract, a_api, a_samples, g_items],
              api_visibility="private")

demo.queue(max_size=32, default_concurrency_limit=2)

if __name__ == "__main__":
    demo.launch(css=CSS, theme=gr.themes.Soft())
