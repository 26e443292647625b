"""Values that are not what they look like are refused in one line: numbers in other scripts' digits, gallery rows
that would switch the quota off, and models whose outputs are right only at a few batch sizes and latents."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from serving import inputs as check
from serving.bundle.generator import Generator, sha256_file
from serving.errors import BundleError, InputError
from serving.galleries.gallery import Gallery
from serving.latent.latents import parse_classes, parse_int_list
from serving.rendering.recipe import Recipe
from tests.tiny_onnx import make_bundle

# Arabic-Indic, fullwidth, Python's underscores, superscripts, a sign, a non-breaking space: int() or float() or
# str.isdigit() take each of them; none is how a form writes a number.
NOT_ASCII = ["١,٢", "１２", "1_000", "²", "+5", "1\u00a0"]


# 1. Only ASCII digits are numbers.


@pytest.mark.parametrize("text", NOT_ASCII)
def test_seed_lists_take_ascii_digits_only(text):
    with pytest.raises(InputError, match="cannot read .* as a seed") as caught:
        parse_int_list(text)
    assert len(str(caught.value).splitlines()) == 1


@pytest.mark.parametrize("text", ["١", "１", "1_0", "¹", "0-١"])
def test_classes_take_ascii_digits_only(text):
    with pytest.raises(InputError, match="class"):
        parse_classes(text, [f"c{i}" for i in range(20)])


@pytest.mark.parametrize("text", ["¹x¹", "２x２", "1_0x1", "١x٢", "+1x1"])
def test_a_grid_in_other_digits_is_one_line_not_a_traceback(text):
    with pytest.raises(InputError, match="grid must look like 2x3"):
        check.grid(text, 4)


@pytest.mark.parametrize("text", ["٠٫٥", "１", "1_0", "²", "0x10", "1e1_0", b"10"])
def test_numbers_and_whole_numbers_take_ascii_digits_only(text):
    with pytest.raises(InputError, match="^frames must be a number in 1..100, got"):
        check.number("frames", text, 1, 100)
    with pytest.raises(InputError, match="^frames must be a number in 1..100, got"):
        check.whole("frames", text, 1, 100)


def test_ascii_numbers_still_read_as_before():
    assert parse_int_list("0-2, 7,\n9") == [0, 1, 2, 7, 9]
    assert parse_classes("1, 3-4", [f"c{i}" for i in range(5)]) == [1, 3, 4]
    assert check.grid(" 2 X 3 ", 4) == (2, 3)
    assert [check.number("x", t, -10, 1e6) for t in ("0.8", " -1 ", ".5", "5.", "1e3", "2E+2")] == [
        0.8,
        -1.0,
        0.5,
        5.0,
        1000.0,
        200.0,
    ]
    assert check.whole("x", "24", 1, 100) == 24 and check.whole("x", np.int64(7), 1, 100) == 7
    with pytest.raises(InputError, match="finite"):
        check.number("x", "Infinity", 0, 1)


# 3. A gallery row's bytes cannot switch the quota off.


def _plant(db: Path, size: int, name: str, pinned: bool) -> None:
    """A row written by hand into the index, as anyone with write access to it could."""
    digest = name * 64
    with sqlite3.connect(db) as conn:
        conn.execute(
            "INSERT INTO renders (recipe_hash, recipe, bundle_sha256, path, bytes, render_ms, created_at, pinned) "
            "VALUES (?, ?, '', ?, ?, 1.0, '2026-01-01T00:00:00', ?)",
            (digest, Recipe(seeds=(1, 2)).to_json(), f"{digest[:16]}.gif", size, int(pinned)),
        )


def _add_four(gallery: Gallery) -> int:
    """Four renders of 400 bytes each (over a 1000-byte quota together); the bytes of those the gallery kept."""
    for seed in range(4):
        gallery.add(Recipe(seeds=(seed, seed + 1), frames=2, size=32), b"x" * 400, 1.0)
    return gallery.db.rows("SELECT COALESCE(SUM(bytes), 0) FROM renders WHERE bytes = 400")[0][0]


@pytest.mark.parametrize("size", [-(10**12), -1000])
def test_a_negative_bytes_count_never_switches_the_quota_off(tmp_path, size):
    db = tmp_path / "g.sqlite"
    with Gallery(db, max_bytes=1000) as g:
        _plant(db, size, "a", pinned=True)  # pinned: the quota can never take it away
        assert _add_four(g) == 800  # the planted row counts as 0 bytes, not as room for 10^12 more
        assert len(list(tmp_path.glob("*.gif"))) == 2  # the renders' files went with their rows


def test_huge_bytes_counts_neither_overflow_nor_stop_the_quota(tmp_path):
    db = tmp_path / "g.sqlite"
    with Gallery(db, max_bytes=1000) as g:
        _plant(db, 2**63 - 1, "a", pinned=False)
        _plant(db, 2**63 - 1, "b", pinned=False)  # their SUM overflows SQLite's integers
        assert _add_four(g) == 800 and g.count() == 2  # both planted rows, over the quota each, went first


# 4. The load probe tries several batch sizes and random latents; every run's outputs are checked.


def _replace_model(folder: Path, nodes: list, initializers: list, num_classes: int = 0) -> None:
    """model.onnx of the tiny bundle in `folder` replaced (its sha256 in config.json too): z (and y) -> images."""
    inputs = [helper.make_tensor_value_info("z", TensorProto.FLOAT, ["batch", 8])]
    if num_classes:
        inputs.append(helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", num_classes]))
    graph = helper.make_graph(
        nodes,
        "liar",
        inputs,
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, ["batch", 28, 28, 1])],
        initializer=initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, str(folder / "model.onnx"))
    raw = json.loads((folder / "config.json").read_text())
    raw["sha256"] = sha256_file(folder / "model.onnx")
    (folder / "config.json").write_text(json.dumps(raw))


def _pixels(last: str, source: str = "z") -> tuple[list, list]:
    """source @ w (w random), then `last` of it (Sigmoid keeps the contract's [0, 1]; Identity does not): flat."""
    w = np.random.default_rng(0).normal(0, 0.5, (8, 784)).astype(np.float32)
    nodes = [helper.make_node("MatMul", [source, "w"], ["logits"]), helper.make_node(last, ["logits"], ["flat"])]
    return nodes, [numpy_helper.from_array(w, "w")]


def _shaped(nodes: list, initializers: list, source: str = "flat") -> tuple[list, list]:
    shape = numpy_helper.from_array(np.array([-1, 28, 28, 1], np.int64), "shape")
    return [*nodes, helper.make_node("Reshape", [source, "shape"], ["images"])], [*initializers, shape]


def _one_row_too_many_above_two() -> tuple[list, list]:
    """Row 2 (the third) repeated at the end: nothing for a batch of 1 or 2, batch + 1 rows from 3 on."""
    nodes, init = _pixels("Sigmoid")
    nodes += [
        helper.make_node("Slice", ["flat", "two", "three", "axis0"], ["third"]),
        helper.make_node("Concat", ["flat", "third"], ["more"], axis=0),
    ]
    init += [numpy_helper.from_array(np.array([v], np.int64), n) for n, v in (("two", 2), ("three", 3), ("axis0", 0))]
    return _shaped(nodes, init, "more")


def _nan_off_the_origin() -> tuple[list, list]:
    """sqrt(z): fine where z = 0, NaN for the negative entries of any real latent."""
    nodes, init = _pixels("Sigmoid", "root")
    return _shaped([helper.make_node("Sqrt", ["z"], ["root"]), *nodes], init)


@pytest.mark.parametrize(
    "build, message",
    [
        (_one_row_too_many_above_two, r"output 'images' is float32 \[4, 28, 28, 1\] for a batch of 3"),
        (_nan_off_the_origin, "holds NaN or Inf"),
        (lambda: _shaped(*_pixels("Identity")), r"'images' runs .* values in \[0, 1\]"),
    ],
)
def test_a_model_right_only_at_batch_1_and_2_of_zeros_is_refused_at_load(tmp_path, build, message):
    folder = make_bundle(tmp_path / "b", "liar")
    _replace_model(folder, *build())
    with pytest.raises(BundleError, match=message) as caught:
        Generator.from_pretrained(folder)
    assert len(str(caught.value).splitlines()) == 1 and "model.onnx" in str(caught.value)


def test_a_conditional_model_is_probed_with_one_hot_and_soft_classes(tmp_path):
    """A model that is only right for y well inside (0, 1) (it adds sqrt(y - 0.01): NaN at every 0 of a one-hot
    row) is refused at load; the uniform y the probe used to send hid it."""
    folder = make_bundle(tmp_path / "b", "liar", num_classes=3)
    nodes, init = _pixels("Sigmoid", "shifted")
    nodes = [
        helper.make_node("Sub", ["y", "eps"], ["y_eps"]),
        helper.make_node("Sqrt", ["y_eps"], ["root"]),
        helper.make_node("ReduceSum", ["root", "axis1"], ["bias"], keepdims=1),
        helper.make_node("Add", ["z", "bias"], ["shifted"]),
        *nodes,
    ]
    init += [
        numpy_helper.from_array(np.array(0.01, np.float32), "eps"),
        numpy_helper.from_array(np.array([1], np.int64), "axis1"),
    ]
    _replace_model(folder, *_shaped(nodes, init), num_classes=3)
    with pytest.raises(BundleError, match="holds NaN or Inf"):
        Generator.from_pretrained(folder)


class _OneRowSession:
    """A session that passed the probe and then returns one row whatever it was asked for (numpy would
    broadcast that row over the whole batch) or float64 rows."""

    def __init__(self, session, dtype=np.float32, rows: int | None = 1) -> None:
        self.session, self.dtype, self.rows = session, dtype, rows

    def run(self, names, feed, *args):
        out = self.session.run(names, feed, *args)
        return [value[: self.rows].astype(self.dtype) for value in out]


@pytest.mark.parametrize(
    "rows, dtype, message",
    [(1, np.float32, r"float32 \[1, 28, 28, 1\] for a batch of 5"), (None, np.float64, "is float64")],
)
def test_every_run_is_checked_against_the_contract(tiny_bundles, rows, dtype, message):
    gen = Generator.from_pretrained(tiny_bundles["gan"], threads=1)
    gen.session = _OneRowSession(gen.session, dtype, rows)
    with pytest.raises(BundleError, match=message):
        gen(np.zeros((5, gen.latent_dim), np.float32))
