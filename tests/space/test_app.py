"""The Space's functions called directly, as the UI and the API call them."""

import json
import subprocess
import sys

import gradio as gr
import numpy as np
import pytest
from PIL import Image

from serving.errors import InputError
from tests.conftest import REPO

MNIST = "mnist-cdcgan"


def _frames(path) -> int:
    with Image.open(path) as im:
        return getattr(im, "n_frames", 1)


def test_default_animation_needs_no_arguments(app):
    path, recipe = app.animate()
    assert path.endswith(".gif") and _frames(path) == 4 * 24  # four seeds, looping, 24 frames each
    assert json.loads(recipe)["bundle_sha256"] == app.models[app.default_model].config.sha256


def test_same_inputs_same_bytes_and_recipe_replays(app, models, tmp_path):
    from serving.space import SpaceApp

    a, recipe = app.animate(MNIST, "5,6", "3,8", "slerp", 6, 12, True, "ease-in-out", 0.8, "2x2", 128, "webp", "")
    fresh = SpaceApp(models, out_dir=tmp_path)  # renders anew: nothing of `app`'s is reused
    b, _ = fresh.animate(MNIST, "5,6", "3,8", "slerp", 6, 12, True, "ease-in-out", 0.8, "2x2", 128, "webp", "")
    data = open(a, "rb").read()
    assert b != a and data == open(b, "rb").read() and data[:4] == b"RIFF"
    # A pasted recipe overrides every other field, including the model (found by the recipe's bundle sha256).
    c, _ = SpaceApp(models, out_dir=tmp_path / "c").animate(
        app.default_model, "1", "", "lerp", 1, 1, False, "linear", 1.0, "1x1", 64, "gif", recipe
    )
    assert open(c, "rb").read() == data


def test_a_recipe_is_rendered_once_even_when_asked_for_at_once(models, tmp_path, monkeypatch):
    """Identical requests share one render (the same recipe gives the same bytes); a pruned file is rendered
    again; a different recipe is its own render."""
    import concurrent.futures
    import os

    from serving.space import SpaceApp, handlers

    calls = []
    real_render = handlers.render
    monkeypatch.setattr(handlers, "render", lambda *a, **k: calls.append(1) or real_render(*a, **k))
    app = SpaceApp(models, out_dir=tmp_path)
    ask = (MNIST, "1,2", "", "lerp", 4, 12, True, "linear", 1.0, "1x1", 64, "gif", "")
    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        paths = {path for path, _ in pool.map(lambda _: app.animate(*ask), range(6))}
    assert len(paths) == 1 and len(calls) == 1
    (path,) = paths
    data = open(path, "rb").read()
    os.unlink(path)  # the hourly prune took it
    assert app.animate(*ask)[0] == path and open(path, "rb").read() == data and len(calls) == 2
    app.animate(MNIST, "1,3", "", "lerp", 4, 12, True, "linear", 1.0, "1x1", 64, "gif", "")
    assert len(calls) == 3


def test_class_names_select_classes(app):
    _, recipe = app.animate(MNIST, "1,2", "3, 8", "lerp", 2, 12, False, "linear", 1.0, "1x1", 64, "gif", "")
    assert json.loads(recipe)["classes"] == [3, 8]


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("truncation", float("nan"), "finite"),
        ("truncation", "Infinity", "finite"),
        ("frames", 10**9, "frames must be in"),
        ("frames", "abc", "frames must be a number"),
        ("size", 100_000, "size must be in"),
        ("seeds", "-5", "cannot read"),
        ("seeds", "4294967296", "out of range"),
        ("grid", "99x99", "grid rows"),
        ("path", "zigzag", "path must be one of"),
        ("loop", "maybe", "loop must be true or false"),
        ("model", "../../etc/passwd", "model must be one of"),
        ("recipe", "{not json", "not valid JSON"),
        ("classes", "banana", "unknown class"),
    ],
)
def test_bad_animate_input_is_one_clear_gradio_error(app, field, value, message):
    args = dict(
        model=MNIST,
        seeds="1,2",
        classes="",
        path="lerp",
        frames=2,
        fps=12,
        loop=True,
        easing="linear",
        truncation=1.0,
        grid="1x1",
        size=64,
        format="gif",
        recipe="",
    )
    args[field] = value
    with pytest.raises(gr.Error, match=message):
        app.animate(**args)


def test_huge_render_is_refused_before_work(app):
    with pytest.raises(gr.Error, match="generator images .* this Space allows 8,192"):
        app.animate(MNIST, "0-63", "", "cubic", 240, 24, True, "linear", 1.0, "8x8", 1024, "gif", "")
    # Few output pixels, but 983,040 generator images: once accepted (45 GiB of float frames), now refused at once.
    with pytest.raises(gr.Error, match="983,040 generator images"):
        app.animate(MNIST, "0-63", "", "cubic", 240, 24, True, "linear", 1.0, "8x8", 16, "gif", "")


def test_sample_gives_grid_and_labelled_npz(app):
    png, npz, stats = app.sample(MNIST, "0-19", "7", 1.0)
    data = np.load(npz)
    assert data["images"].shape == (20, 28, 28, 1) and set(data["labels"].tolist()) == {7}
    assert Image.open(png).size[0] > 28 * 8 and "per class {'7': 20}" in stats
    with pytest.raises(gr.Error, match="at most 256"):
        app.sample(MNIST, "0-999")


def explored(app, *values):
    """Explore's picture: the PNG it wrote (it carries what made it)."""
    return Image.open(app.explore(*values))


def test_explore_png_carries_its_recipe_naming_its_model(app):
    import json

    from serving.files.recipe_file import recipe_in_file

    carried = json.loads(recipe_in_file(app.explore(MNIST, 7, 1.5, 0, 0, "3", "8", 0.25, 0.8, 64)))
    assert carried["kind"] == "explore" and carried["bundle"] == MNIST
    assert carried["bundle_sha256"] == app.models[MNIST].config.sha256
    assert (carried["seed"], carried["d1"], carried["class_b"], carried["mix"], carried["size"]) == (
        7,
        1.5,
        "8",
        0.25,
        64,
    )


def test_sample_png_carries_its_recipe_naming_its_model(app):
    import json

    from serving.files.recipe_file import recipe_in_file

    png, _, _ = app.sample(MNIST, "0-3", "7", 1.0)
    carried = json.loads(recipe_in_file(png))
    assert carried["kind"] == "sample" and carried["bundle"] == MNIST and carried["seeds"] == [0, 1, 2, 3]


def test_explore_moves_along_directions_and_classes(app):
    base = np.asarray(explored(app, MNIST, 7, 0, 0, 0, "3", "3", 0.0, 1.0, 64))
    moved = np.asarray(explored(app, MNIST, 7, 2.5, 0, 0, "3", "3", 0.0, 1.0, 64))
    morphed = np.asarray(explored(app, MNIST, 7, 0, 0, 0, "3", "8", 1.0, 1.0, 64))
    eight = np.asarray(explored(app, MNIST, 7, 0, 0, 0, "8", "8", 0.0, 1.0, 64))
    assert base.shape == (64, 64) and not np.array_equal(base, moved) and np.array_equal(morphed, eight)
    with pytest.raises(gr.Error, match="d2"):
        app.explore(MNIST, 7, 0, float("inf"), 0)


def test_explore_sliders_are_named_directions_that_do_what_they_say(app):
    from serving.rendering.directions import measures

    assert app.direction_labels(MNIST) == ["Stroke thickness", "Slant (leans right)", "Width"]
    assert app.direction_labels("mathart-params", 7, "") == ["hypo lobes", "hypo pen", "hue"]  # 7 % 5: spirograph
    assert app.direction_labels("mathart-params", 7, "julia") == ["julia angle", "julia radius", "julia zoom"]
    thin = np.asarray(explored(app, MNIST, 7, -3, 0, 0, "", "", 0.0, 1.0, 28))[None, ..., None]
    thick = np.asarray(explored(app, MNIST, 7, 3, 0, 0, "", "", 0.0, 1.0, 28))[None, ..., None]
    assert measures(thick)["thickness"][0] > measures(thin)["thickness"][0]


def test_math_art_explore_moves_real_parameters(app):
    rose = np.asarray(explored(app, "mathart-params", 3, 0, 0, 0, "rose", "", 0.0, 1.0, 128), np.float64)
    more_petals = np.asarray(explored(app, "mathart-params", 3, 4, 0, 0, "rose", "", 0.0, 1.0, 128), np.float64)
    recoloured = np.asarray(explored(app, "mathart-params", 3, 0, 0, 3, "rose", "", 0.0, 1.0, 128), np.float64)
    assert (
        rose.shape == (128, 128, 3) and np.abs(rose - more_petals).mean() > 1 and np.abs(rose - recoloured).mean() > 1
    )
    with pytest.raises(gr.Error, match="d1"):
        app.explore("mathart-params", 3, 9, 0, 0, "rose")


def test_about_shows_card_and_api(app):
    card, api, samples = app.about(MNIST)
    assert "---" not in card.splitlines()[0] and "onnxruntime" in card and card.count("## I/O contract") == 1
    assert "/animate" in api and samples.endswith(".png")


def test_the_page_opens_with_an_animation_and_example_thumbnails_fill_the_form(app):
    path, recipe = app.initial_animation()
    assert _frames(path) == 96 and json.loads(recipe)["seeds"] == [1, 2, 3, 4]
    thumbs = app.example_thumbnails(MNIST)
    assert len(thumbs) == 3 and all(_frames(f) > 1 and Image.open(f).size[0] == 128 for f, _ in thumbs)
    values = app.example_values(gr.SelectData(None, {"index": 1, "value": None}))
    assert values[0] == "10,20" and values[2] == "lissajous" and values[-1] == ""


def test_gallery_records_and_lists_renders(models, tmp_path):
    from serving.galleries.gallery import Gallery
    from serving.space import SpaceApp

    app = SpaceApp(models, Gallery(tmp_path / "g.sqlite"), tmp_path / "out")
    path, recipe = app.animate(MNIST, "1,2", "", "lerp", 2, 12, True, "linear", 1.0, "1x1", 64, "gif", "")
    items, recipes = app.gallery_items()
    assert len(items) == 1 and open(items[0][0], "rb").read() == open(path, "rb").read()
    assert app.gallery.latest(1)[0].recipe.to_json() == json.dumps(json.loads(recipe), sort_keys=True) == recipes[0]


def test_gallery_selection_shows_the_recipe_of_the_picture_selected(models, tmp_path):
    """A render whose file is gone is not shown; selecting the first picture shown gives that picture's recipe."""
    from serving.galleries.gallery import Gallery
    from serving.space import SpaceApp

    app = SpaceApp(models, Gallery(tmp_path / "g.sqlite"), tmp_path / "out")
    app.animate(MNIST, "1,2", "", "lerp", 2, 12, True, "linear", 1.0, "1x1", 64, "gif", "")
    app.animate(MNIST, "5,6", "", "lerp", 2, 12, True, "linear", 1.0, "1x1", 64, "gif", "")
    newest, older = app.gallery.latest(2)
    newest.path.unlink()  # the newest render's file is gone: the gallery shows only the older one
    items, shown = app.gallery_items()
    assert len(items) == 1 and items[0][1].startswith(f"#{older.id} ")
    picked = app.gallery_recipe(shown, gr.SelectData(None, {"index": 0, "value": None}))
    assert json.loads(picked)["seeds"] == [1, 2] == list(older.recipe.seeds)  # not the missing newest one


@pytest.mark.slow
def test_space_never_imports_tensorflow():
    code = (
        "import sys, builtins\n"
        "real = builtins.__import__\n"
        "def guard(name, *a, **k):\n"
        "    if name.split('.')[0] in ('tensorflow', 'keras', 'tf2onnx'):\n"
        "        raise ImportError('tensorflow is not allowed in the Space')\n"
        "    return real(name, *a, **k)\n"
        "builtins.__import__ = guard\n"
        "from serving.space import SpaceApp, build_demo, load_models\n"
        "app = SpaceApp(load_models('exported/mnist-cdcgan'))\n"
        "build_demo(app.models, app=app)\n"
        "path, _ = app.animate(seeds='1,2', frames=2, size=64)\n"
        "print('ok', path)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.splitlines()[-1].startswith("ok ")


def test_pasted_recipe_is_stored_with_the_real_bundle_and_regenerates(models, tmp_path, capsys):
    from serving import cli
    from serving.galleries.gallery import Gallery
    from serving.space import SpaceApp

    app = SpaceApp(models, Gallery(tmp_path / "g.sqlite", tmp_path / "files"), tmp_path / "out")
    forged = json.dumps({"seeds": [1, 2], "frames": 2, "size": 32, "path": "lerp", "bundle_sha256": "f" * 64})
    app.animate(MNIST, recipe=forged)
    entry = app.gallery.latest(1)[0]
    assert entry.bundle_sha256 == entry.recipe.bundle_sha256 == models[MNIST].config.sha256
    code = cli.main(
        [
            "gallery",
            "regenerate",
            str(entry.id),
            "--db",
            str(tmp_path / "g.sqlite"),
            "--files",
            str(tmp_path / "files"),
            "--bundle",
            str(REPO / "exported" / MNIST),
        ]
    )
    assert code == 0 and "byte-identical" in capsys.readouterr().out
    with pytest.raises(gr.Error, match="name must be text"):  # refused before anything is stored
        app.animate(MNIST, recipe=json.dumps({"seeds": [3, 4], "name": 7}))
    assert app.gallery.count() == 1 and len(list((tmp_path / "files").iterdir())) == 1


@pytest.mark.parametrize("defer", [False, True])
def test_the_space_starts_with_the_good_bundles_and_names_the_bad_one(tmp_path, capsys, defer):
    import shutil

    from serving.space import load_models

    bad = tmp_path / "bad"
    shutil.copytree(REPO / "exported" / "mnist-cvae", bad)
    (bad / "model.onnx").write_bytes(b"not a model")
    models = load_models([str(REPO / "exported" / "mnist-cdcgan"), str(bad)], defer=defer)
    assert list(models) == ["mnist-cdcgan"]  # refused before the Space starts, deferred or not
    err = capsys.readouterr().err
    assert f"not serving {bad}" in err and "sha256" in err and "Traceback" not in err
    with pytest.raises(InputError, match="no model could be loaded"):
        load_models([str(bad)], defer=defer)


def test_deferred_models_are_listed_at_once_and_draw_the_same_bytes_when_built():
    from pathlib import Path

    from serving import Recipe, render
    from serving.bundle.generator import Generator
    from serving.space import SpaceApp, load_models
    from serving.space.pending import PendingGenerator, warm

    names = ["mathart-params", "mnist-cdcgan", "mnist-cvae"]
    models = load_models([str(REPO / "exported" / n) for n in names], defer=True)
    assert list(models) == ["mnist-cdcgan", "mnist-cvae", "mathart-params"]  # menu order, all listed
    assert isinstance(models["mnist-cdcgan"], Generator)  # the page's first model is ready now
    pending = [models["mnist-cvae"], models["mathart-params"]]
    assert all(isinstance(m, PendingGenerator) and not m.ready for m in pending)
    assert pending[1].has_encoder and pending[1].config.name == "mathart-params"  # what the page needs, unbuilt
    assert not pending[1].ready
    assert pending[1].config.class_names[0] == "lissajous" and not pending[1].ready
    app = SpaceApp(models)
    assert not pending[0].ready and not pending[1].ready  # the app starts without building them
    path, recipe = app.animate("mnist-cvae", seeds="1,2", frames=3, size=64)  # built by its first request
    assert pending[0].ready and Path(path).read_bytes() == render(
        Generator.from_pretrained(REPO / "exported" / "mnist-cvae"), Recipe.from_json(recipe)
    )
    warm(models).join()  # the rest, on a background thread
    assert pending[1].ready


def test_the_opening_animation_made_while_gradio_imports_is_the_one_the_app_would_render(tmp_path):
    from pathlib import Path

    from serving.space import SpaceApp, load_models, opening_render

    models = load_models([str(REPO / "exported" / "mnist-cdcgan"), str(REPO / "exported" / "mnist-cvae")], defer=True)
    made = opening_render(models)
    assert len(made) == 1 and opening_render({"mnist-cvae": models["mnist-cvae"]}) == {}  # an unbuilt model: none
    early = SpaceApp(models, out_dir=tmp_path / "early", made=made)
    data = next(iter(made.values()))
    path, _ = early.initial_animation()
    assert Path(path).read_bytes() == data and early._made == {}  # used once, then gone
    itself = SpaceApp(models, out_dir=tmp_path / "itself")  # no early render: the app makes the same bytes
    assert Path(itself.initial_animation()[0]).read_bytes() == data and _frames(path) == 96


def test_about_leaves_no_line_introducing_a_picture_it_cannot_show(app):
    for name in app.models:
        card = app.model_card(name)
        lines = [line for line in card.splitlines() if line.strip()]
        dangling = [a for a, b in zip(lines, lines[1:] + [""]) if a.rstrip().endswith(":") and b.startswith("#")]
        assert "![" not in card and not dangling, (name, dangling)
        assert "class morph at one fixed" not in card  # the morph.gif's caption went with its picture


def test_no_gallery_tab_without_a_gallery(models, tmp_path):
    from serving.galleries.gallery import Gallery
    from serving.space import SpaceApp, build_demo

    def tabs(demo) -> list[str]:
        return [c["props"].get("label") for c in demo.config["components"] if c.get("type") == "tabitem"]

    bare = build_demo(models, app=SpaceApp(models, out_dir=tmp_path / "a"))
    kept = build_demo(models, app=SpaceApp(models, Gallery(tmp_path / "g.db", tmp_path / "f"), out_dir=tmp_path / "b"))
    assert "Gallery" not in tabs(bare) and "Gallery" in tabs(kept) and "Animate" in tabs(bare)
