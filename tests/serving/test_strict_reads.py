"""Strict JSON and bounded reads: what the project reads from outside (recipes, config.json, tables, TF_CONFIG)
is refused in one line before it can cost much, and a device, a FIFO or a folder never hangs or exhausts memory."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from serving import cli, inputs
from serving.bundle.generator import Generator
from serving.errors import BundleError, InputError
from serving.rendering.recipe import Recipe
from tests.tiny_onnx import make_bundle

ROOT = Path(__file__).resolve().parents[2]


def _one_line_exit_2(argv, capsys) -> str:
    code = cli.main(argv)
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.startswith("error: ") and "\n" not in err and "Traceback" not in err, err
    return err


@pytest.mark.parametrize(
    "text, message",
    [
        ('{"seeds": [1], "seeds": [2]}', "names 'seeds' twice"),
        ('{"truncation": NaN}', "holds NaN"),
        ('{"truncation": Infinity}', "holds Infinity"),
        ('{"truncation": -Infinity}', "holds -Infinity"),
        ('{"truncation": 1e999}', "too large"),
        ('{"frames": ' + "9" * 5000 + "}", "5000 digits"),
        ('{"frames": -' + "9" * 41 + "}", "42 digits"),
        ("[" * 33 + "]" * 33, "nests deeper than 32"),
        ('{"name": "' + "x" * (inputs.MAX_JSON_CHARS + 1) + '"}', "too long"),
    ],
)
def test_hostile_json_is_one_line(text, message):
    with pytest.raises(InputError, match=message):
        inputs.load_json(text, "recipe")
    with pytest.raises(InputError, match=message):  # the recipe schema reads through the same gate
        Recipe.from_json(text)


def test_strict_json_still_reads_what_the_project_writes():
    recipe = Recipe(seeds=(1, 2**32 - 1), truncation=0.7, name="[{ brackets in a string }]")
    assert Recipe.from_json(recipe.to_json()) == recipe
    assert inputs.load_json("[" * 32 + "]" * 32, "x") is not None  # the limit itself is allowed
    assert inputs.load_json('{"s": "' + "[" * 100 + '"}', "x") == {"s": "[" * 100}  # strings do not nest


def test_config_json_with_a_duplicate_key_or_a_huge_number_is_refused(tmp_path):
    folder = make_bundle(tmp_path / "b", "tiny-gan")
    text = (folder / "config.json").read_text()
    (folder / "config.json").write_text(text.replace("{", '{"latent_dim": 8, ', 1))
    with pytest.raises(BundleError, match="names 'latent_dim' twice"):
        Generator.from_pretrained(folder)
    cfg = json.loads(text)
    (folder / "config.json").write_text(json.dumps(cfg).replace('"latent_dim": 8', '"latent_dim": ' + "8" * 4500))
    with pytest.raises(BundleError, match="4500 digits"):
        Generator.from_pretrained(folder)


@pytest.mark.parametrize("where", ["/dev/zero", "folder", "big"])
def test_recipe_that_is_not_a_small_regular_file_is_one_line(where, tmp_path, capsys):
    path = {"/dev/zero": "/dev/zero", "folder": str(tmp_path)}.get(where)
    if where == "big":
        big = tmp_path / "big.json"
        big.write_bytes(b" " * (inputs.MAX_JSON_CHARS + 10))
        path = str(big)
    err = _one_line_exit_2(
        ["render", "--bundle", "exported/mnist-cdcgan", "--recipe", path, "--out", str(tmp_path / "x.gif")], capsys
    )
    assert "not a regular file" in err or "larger than" in err
    assert not (tmp_path / "x.gif").exists()


def test_recipe_naming_a_fifo_with_no_writer_does_not_hang(tmp_path):
    fifo = tmp_path / "recipe.fifo"
    os.mkfifo(fifo)
    # In a child with a timeout: a hang here would otherwise hang the test run.
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "serving",
            "render",
            "--bundle",
            "exported/mnist-cdcgan",
            "--recipe",
            str(fifo),
            "--out",
            str(tmp_path / "x.gif"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2 and "not a regular file" in done.stderr and "Traceback" not in done.stderr


def test_save_recipe_onto_the_render_is_refused_before_any_work(tmp_path, capsys):
    out = tmp_path / "x.gif"
    err = _one_line_exit_2(
        [
            "render",
            "--bundle",
            "exported/mnist-cdcgan",
            "--seeds",
            "1,2",
            "--out",
            str(out),
            "--save-recipe",
            str(tmp_path / "." / "x.gif"),
        ],
        capsys,
    )
    assert "same file" in err and not out.exists()


def test_negative_batch_seed_is_one_line(tmp_path, capsys):
    err = _one_line_exit_2(
        [
            "batch",
            "--bundle",
            "exported/mnist-cdcgan",
            "--count",
            "1",
            "--batch-seed",
            "-1",
            "--db",
            str(tmp_path / "g.sqlite"),
        ],
        capsys,
    )
    assert "--batch-seed" in err


def test_parameter_tables_are_read_with_a_bound(tmp_path, capsys):
    from serving.art import mathart_csv

    for path in ("/dev/zero", str(tmp_path)):
        assert mathart_csv.main(["--check", path]) == 2
        err = capsys.readouterr().err
        assert "not a regular file" in err and "Traceback" not in err
    blank = tmp_path / "blank.csv"
    blank.write_text(",".join(mathart_csv.HEADER) + "\n" + "\n" * (2 * mathart_csv.MAX_ROWS + 1))
    assert mathart_csv.main(["--check", str(blank)]) == 2
    assert "lines" in capsys.readouterr().err
    big = tmp_path / "big.csv"
    with big.open("wb") as f:
        f.truncate(mathart_csv.MAX_TABLE_BYTES + 1)  # sparse: no disk used
    assert mathart_csv.main(["--check", str(big)]) == 2
    assert "larger than" in capsys.readouterr().err


IDS = [
    "a/b",
    "a/b--c",
    "a/.",
    "a/b-",
    "a/b.git",
    "a/-b",
    "-a/b",
    ".a/b",
    "a/b.",
    "_a/b_",
    "alice/mnist-cdcgan",
    "x" * 96 + "/y",
    "x" * 97 + "/y",
    "a/b/c",
    "a",
    "a/",
    "/b",
    "a/b c",
    "a/..",
    "A.b/C-d.e_f",
]


@pytest.mark.parametrize("text", IDS)
def test_a_repo_id_we_accept_is_one_the_hub_accepts(text):
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    try:
        validate_repo_id(text)
        hub_ok = True
    except HFValidationError:
        hub_ok = False
    ours = inputs.is_repo_id(text)
    assert not ours or hub_ok, f"{text!r}: accepted here, refused by huggingface_hub (a traceback later)"
    assert ours == hub_ok or text.count("/") != 1  # the Hub's one-part ids are not bundle names here


@pytest.mark.parametrize(
    "source",
    [
        "a/b--c",
        "a/.",
        "a/b-",
        "a/b.git",
        "alice/x@../../../../evil-ref",
        "alice/x@refs/../../x",
        "alice/x@.hidden",
        "alice/x@a//b",
        "alice/x@x.lock",
    ],
)
def test_bad_hub_ids_and_revisions_are_one_line_before_any_download(source, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # nothing listens: any download would be an error line
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    err = _one_line_exit_2(["render", "--bundle", source, "--out", str(tmp_path / "x.gif")], capsys)
    assert "not found" in err or "revision" in err
    assert "could not download" not in err and not (tmp_path / "hf").exists()


@pytest.mark.parametrize("revision", ["main", "v1.0", "refs/pr/1", "a" * 40, "feature_x"])
def test_good_revisions_pass(revision):
    assert inputs.repo_id(f"alice/x@{revision}", revision_ok=True) == ("alice/x", revision)
