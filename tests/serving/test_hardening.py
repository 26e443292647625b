"""What a visitor or a careless command could do, refused with one line (issue items 1-9, in order)."""

import json
import os
import sqlite3
import stat
import tracemalloc

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from serving import cli
from serving.atomic import UMASK, write_atomic
from serving.bundle.generator import Generator, sha256_file
from serving.commands import render as render_command
from serving.errors import BudgetError, BundleError, InputError
from serving.galleries.gallery import Gallery
from serving.rendering.budget import SPACE
from serving.rendering.recipe import Recipe
from serving.rendering.render import render, render_frames
from tests.tiny_onnx import make_bundle, tiny_model


def _one_line_exit_2(argv, capsys) -> str:
    code = cli.main(argv)
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.startswith("error: ") and "\n" not in err and "Traceback" not in err, err
    return err


# 1. One budget: generator images, output pixels and file size, before any work; frames streamed in chunks.


def test_budget_counts_generator_images_and_frames_stream(tiny_bundles, monkeypatch):
    from serving.rendering import render as render_mod

    monkeypatch.setattr(render_mod, "CHUNK_BYTES", 4 << 20)  # 4 MB of float images at a time
    gen = Generator.from_pretrained(tiny_bundles["gan"])
    recipe = Recipe(seeds=(1, 2), frames=240, grid=(5, 5), size=16)  # 480 frames x 25 cells = 12,000 images
    with pytest.raises(BudgetError, match="12,000 generator images"):
        render(gen, recipe, SPACE)
    tracemalloc.start()
    frames = render_frames(gen, recipe)  # the command line's budget allows it
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    held_at_once = 12_000 * 28 * 28 * 4  # every float image of the walk: 37.6 MB
    assert frames.shape == (480, 16, 16, 1) and peak < held_at_once / 2  # unchunked, a few times that


# 2. Output files: only regular files are replaced; umask honoured; nothing half-written, even on Ctrl-C.


@pytest.mark.parametrize("kind", ["symlink", "fifo"])
def test_out_never_replaces_a_link_or_a_device(tiny_bundles, tmp_path, capsys, kind):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    target = tmp_path / "out.gif"
    if kind == "symlink":
        target.symlink_to(victim)
    else:
        os.mkfifo(target)
    args = ["render", "--bundle", str(tiny_bundles["gan"]), "--seeds", "1,2", "--frames", "2", "--out", str(target)]
    assert "refusing to replace" in _one_line_exit_2(args, capsys)
    assert victim.read_text() == "precious" and (target.is_symlink() or stat.S_ISFIFO(os.lstat(target).st_mode))
    assert cli.main([*args, "--force"]) == 0  # asked for by name: the link itself is replaced, never its target
    assert victim.read_text() == "precious" and not target.is_symlink() and target.read_bytes()[:3] == b"GIF"


def test_written_files_honour_the_umask_and_no_temp_file_survives_an_interrupt(tmp_path, monkeypatch):
    path = write_atomic(tmp_path / "a.bin", b"x")
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~UMASK

    def interrupted(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_atomic(tmp_path / "b.bin", b"y" * 1000)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.bin"]


def test_ctrl_c_during_a_render_exits_130_with_one_line(tiny_bundles, tmp_path, capsys, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(render_command, "render", interrupted)
    out = tmp_path / "x.gif"
    assert cli.main(["render", "--bundle", str(tiny_bundles["gan"]), "--out", str(out)]) == 130
    assert capsys.readouterr().err.strip() == "interrupted: nothing was written" and not out.exists()


@pytest.mark.parametrize("where", ["folder", "proc"])
def test_unwritable_out_is_one_line(tiny_bundles, tmp_path, capsys, where):
    out = str(tmp_path) if where == "folder" else "/proc/ganimate-test.gif"
    _one_line_exit_2(
        ["render", "--bundle", str(tiny_bundles["gan"]), "--seeds", "1,2", "--frames", "2", "--out", out], capsys
    )


# 3. The Space's working folder is its own: a planted symlink is never followed, and prune only removes its files.


def test_space_output_folder_ignores_a_planted_symlink(tiny_bundles, tmp_path, monkeypatch):
    import tempfile

    from serving.space import SpaceApp

    victim = tmp_path / "victim"
    victim.mkdir()
    old = victim / "old-data.txt"
    old.write_text("keep me")
    os.utime(old, (1, 1))  # older than any prune age
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    (tmp_path / "ganimate-space").symlink_to(victim)
    app = SpaceApp({"tiny-gan": Generator.from_pretrained(tiny_bundles["gan"])})
    path, _ = app.animate(seeds="1,2", frames=2, size=32)
    app._prune(max_age_s=0.0)
    assert old.read_text() == "keep me" and victim.resolve() not in app.out_dir.resolve().parents
    assert app.out_dir.is_dir() and not app.out_dir.is_symlink() and app.out_dir.stat().st_uid == os.getuid()


# 4. Bundle checks: every hiding place of external data and functions, every dimension, sane config values.


def _rebundle(tmp_path, model, config_changes=None):
    folder = make_bundle(tmp_path / "b", "tiny-gan")
    onnx.save(model, str(folder / "model.onnx"))
    cfg = json.loads((folder / "config.json").read_text())
    cfg.update(config_changes or {}, sha256=sha256_file(folder / "model.onnx"))
    (folder / "config.json").write_text(json.dumps(cfg))
    return folder


def _external(tensor):
    tensor.data_location = TensorProto.EXTERNAL
    entry = tensor.external_data.add()
    entry.key, entry.value = "location", "weights.bin"


@pytest.mark.parametrize("case", ["constant", "sparse", "function", "fixed-batch", "latent-1e9", "ort-load"])
def test_bundle_checks_refuse_before_a_session(tmp_path, case):
    model = tiny_model(8, 0, 28, 1)
    changes, message = None, None
    if case == "constant":
        node = helper.make_node("Constant", [], ["c"], value=helper.make_tensor("c", TensorProto.FLOAT, [1], [1.0]))
        _external(node.attribute[0].t)
        model.graph.node.insert(0, node)
        message = "external data"
    elif case == "sparse":
        values = helper.make_tensor("sv", TensorProto.FLOAT, [1], [1.0])
        _external(values)
        indices = helper.make_tensor("si", TensorProto.INT64, [1], [0])
        model.graph.sparse_initializer.append(helper.make_sparse_tensor(values, indices, [4]))
        message = "external data"
    elif case == "function":
        model.functions.append(
            helper.make_function(
                "local",
                "Hidden",
                ["x"],
                ["y"],
                [helper.make_node("Identity", ["x"], ["y"])],
                [helper.make_opsetid("", 17)],
            )
        )
        message = "local functions"
    elif case == "fixed-batch":
        model.graph.input[0].type.tensor_type.shape.dim[0].dim_value = 1
        message = "fixed batch of 1"
    elif case == "latent-1e9":
        changes, message = {"latent_dim": 10**9}, "'latent_dim' must be in 1..4096"
    else:  # passes the static checks, but onnxruntime cannot build it (the weights do not fit the MatMul)
        model.graph.initializer[0].CopyFrom(onnx.numpy_helper.from_array(np.zeros((3, 784), np.float32), "w"))
        message = "onnxruntime cannot load it"
    folder = _rebundle(tmp_path, model, changes)
    with pytest.raises(BundleError, match=message) as caught:
        Generator.from_pretrained(folder)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    "change, message",
    [
        ({"train_steps": "abc"}, "'train_steps'"),
        ({"num_classes": 10**9}, "'num_classes' must be in 0..10000"),
        ({"image_size": [28.5, 28]}, "'image_size'"),
        ({"versions": [1, 2]}, "'versions' must be an object"),
        ({"name": {"deep": True}}, "'name' must be text"),
        ({"inputs": 5}, "'inputs' must be a list of tensor names"),
        ({"outputs": 7}, "'outputs' must be a list of tensor names"),
        ({"channels": 1.5}, "'channels'"),
        ({"channels": True}, "'channels'"),
        ({"latent_dim": 10**400}, "401 digits"),  # refused by the JSON gate, before the schema
    ],
)
def test_config_values_are_checked_and_named(tmp_path, change, message):
    folder = make_bundle(tmp_path / "b", "tiny-gan")
    cfg = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**cfg, **change}))
    with pytest.raises(BundleError, match=message):
        Generator.from_pretrained(folder)


def test_config_that_is_not_utf8_or_nests_deeply_names_the_file(tmp_path):
    folder = make_bundle(tmp_path / "b", "tiny-gan")
    (folder / "config.json").write_bytes(b'{"name": "\xff"}')
    with pytest.raises(BundleError, match="config.json is not UTF-8"):
        Generator.from_pretrained(folder)
    (folder / "config.json").write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(BundleError, match="config.json.*nests deeper"):
        Generator.from_pretrained(folder)


# 5-6. Recipes: one strict schema; the gallery stores what really rendered, under a printable name.


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("frames", "24", "frames must be a whole number"),
        ("grid", [2.5, 2], "grid must be a whole number"),
        ("grid", [2], "grid must be a list of 2"),
        ("truncation", "0.5", "truncation must be a number"),
        ("seeds", 5, "seeds must be a list"),
        ("lissajous", [3], "lissajous must be a list of 2"),
        ("loop", "yes", "loop must be true or false"),
        ("name", ["x"], "name must be text"),
        ("bundle_sha256", 7, "bundle_sha256 must be empty or 64 hex"),
        ("classes", [1, "a"], "classes must be a whole number"),
    ],
)
def test_recipe_schema_refuses_wrong_types_in_one_line(field, value, message):
    with pytest.raises(InputError, match=message):
        Recipe.from_dict({field: value})


def test_recipe_names_are_printable_and_integral_floats_are_whole_numbers():
    r = Recipe.from_dict({"name": "a\ud800b\x00c\n", "frames": 24.0, "grid": [2.0, 3.0]})
    assert r.name == "abc" and r.frames == 24 and r.grid == (2, 3)


def test_gallery_list_survives_a_stored_lone_surrogate(tiny_bundles, tmp_path, capsys):
    gen = Generator.from_pretrained(tiny_bundles["gan"])
    db = tmp_path / "g.sqlite"
    with Gallery(db) as gallery:
        gallery.add(Recipe(seeds=(1, 2), frames=2, size=32, bundle_sha256=gen.config.sha256), b"GIF89a", 1.0)
    with sqlite3.connect(db) as conn:  # a row written by an older version, name and all
        raw = json.loads(conn.execute("SELECT recipe FROM renders").fetchone()[0])
        raw["name"] = "evil \ud800 name"
        conn.execute("UPDATE renders SET recipe = ?", (json.dumps(raw),))
    assert cli.main(["gallery", "list", "--db", str(db)]) == 0
    assert "evil  name" in capsys.readouterr().out


def test_gallery_quota_removes_oldest_unpinned_and_leaves_no_orphans(tmp_path):
    with Gallery(tmp_path / "g.sqlite", tmp_path / "files", max_rows=2, max_bytes=10_000) as gallery:
        first = gallery.add(Recipe(seeds=(1, 2), name="first"), b"a" * 100, 1.0)
        gallery.pin(first.id)
        for i in range(3, 6):
            gallery.add(Recipe(seeds=(1, i)), b"b" * 100, 1.0)
        kept = gallery.latest(10)
        assert [e.recipe.seeds for e in kept] == [(1, 5), (1, 2)] and kept[1].pinned  # pinned survives
        assert sorted(p.name for p in (tmp_path / "files").iterdir()) == sorted(e.path.name for e in kept)
        with pytest.raises(BudgetError, match="quota"):
            gallery.add(Recipe(seeds=(9, 9)), b"c" * 20_000, 1.0)
        assert len(list((tmp_path / "files").iterdir())) == 2


# 8-9. Command-line values that used to give tracebacks or hang.


@pytest.mark.parametrize(
    "argv, message",
    [
        (["gallery", "show", "99999999999999999999999"], "ID must be in 1.."),
        (["gallery", "list", "--limit", "1e20"], "--limit must be a whole number in 1..100000"),
        (["gallery", "show", "1.0"], "ID must be a whole number"),
        (["render", "--bundle", "exported/mnist-cdcgan", "--threads", "100000"], "--threads must be in 1.."),
    ],
)
def test_out_of_range_numbers_are_usage_errors(tmp_path, capsys, argv, message):
    db = tmp_path / "g.sqlite"
    Gallery(db).close()
    with pytest.raises(SystemExit) as exit_:
        cli.main([*argv, *(["--db", str(db)] if argv[0] == "gallery" else [])])
    assert exit_.value.code == 2 and message in capsys.readouterr().err


def test_a_5000_character_bundle_name_is_one_line(capsys):
    assert "not a folder or a Hub repo id" in _one_line_exit_2(
        ["render", "--bundle", "alice/" + "x" * 5000, "--out", "never.gif"], capsys
    )


def test_a_recipe_file_that_is_not_utf8_is_one_line(tmp_path, capsys):
    recipe = tmp_path / "r.json"
    recipe.write_bytes(b'{"name": "\xff"}')
    assert "not UTF-8" in _one_line_exit_2(
        ["render", "--bundle", "exported/mnist-cdcgan", "--recipe", str(recipe), "--out", str(tmp_path / "x.gif")],
        capsys,
    )


def test_samples_of_a_huge_model_are_bounded_by_its_real_image_size(tmp_path, capsys):
    from serving.rendering.budget import SPACE
    from serving.rendering.sample import sample

    gen = Generator.from_pretrained(make_bundle(tmp_path / "wide", "wide", size=512))  # 262,144 pixels an image
    with pytest.raises(BudgetError, match="use fewer seeds"):
        sample(gen, list(range(300)), budget=SPACE)  # 78.6M pixels: over the Space's 72M
    assert sample(gen, list(range(40)), budget=SPACE).images.shape == (40, 512, 512, 1)  # made in chunks
    assert "use fewer seeds" in _one_line_exit_2(
        ["sample", "--bundle", str(tmp_path / "wide"), "--seeds", "0-999", "--out", str(tmp_path / "x.npz")], capsys
    )
