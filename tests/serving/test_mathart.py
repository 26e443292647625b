"""The math-art parameter renderer, prior, acceptance rule and CSV tables (numpy only, no TensorFlow)."""

import re
import subprocess
import sys

import numpy as np
import pytest

from serving.art import mathart
from serving.art.mathart import FAMILIES, NAMES
from serving.art.mathart_csv import HEADER, read_csv, to_csv
from serving.errors import InputError


def vector(family: str, **values: float) -> np.ndarray:
    """A vector at the ranges' midpoints with a readable palette, then `values` set by name."""
    base = dict(zip(NAMES, mathart.MID.tolist()))
    base.update(hue=0.6, hue_spread=0.2, saturation=0.8, background=0.05, gain=1.5)
    base.update(values)
    return np.array([base[n] for n in NAMES])


GOOD = {
    "lissajous": vector(
        "lissajous",
        lis_f1=2.0,
        lis_f2=3.0,
        lis_f3=3.0,
        lis_f4=2.0,
        lis_p1=0.3,
        lis_p2=1.9,
        lis_p3=2.5,
        lis_p4=4.0,
        lis_damping=0.01,
        lis_ratio=0.7,
        lis_detune=0.01,
    ),
    "rose": vector("rose", rose_k=2.5, rose_offset=0.1, rose_rotation=0.4),
    "hypotrochoid": vector("hypotrochoid", hypo_lobes=7.0, hypo_loops=3.0, hypo_pen=0.9, hypo_rotation=0.0),
    "julia": vector("julia", julia_angle=2.653, julia_radius=1.022, julia_zoom=1.25, julia_rotation=0.0),
    "clifford": vector("clifford", cl_a=1.7, cl_b=1.6, cl_c=-0.6, cl_d=1.2),
}
DEGENERATE = {
    "lissajous": vector(
        "lissajous",
        lis_f1=1.0,
        lis_f2=1.0,
        lis_f3=1.0,
        lis_f4=1.0,
        lis_p1=0.0,
        lis_p2=0.0,
        lis_p3=0.0,
        lis_p4=0.0,
        lis_detune=0.0,
    ),  # x = y: one diagonal line
    "rose": vector("rose", rose_k=1.0, rose_offset=0.0),  # k = 1: a small circle beside the centre
    "hypotrochoid": vector(
        "hypotrochoid", hypo_lobes=4.0, hypo_loops=2.0, hypo_pen=0.3, background=0.15, saturation=0.4, gain=0.6
    ),  # R = 2r: a plain, faint ellipse
    "julia": vector("julia", julia_angle=np.pi, julia_radius=0.95, julia_zoom=1.1),  # deep inside: a plain blob
    "clifford": vector("clifford", cl_a=0.9, cl_b=0.9, cl_c=0.2, cl_d=0.2),  # collapses to a fixed point
}


@pytest.mark.parametrize("family", FAMILIES)
def test_render_is_deterministic_and_in_range(family):
    a = mathart.render(GOOD[family], family, 64)
    assert a.shape == (64, 64, 3) and a.dtype == np.float32 and 0.0 <= a.min() and a.max() <= 1.0
    np.testing.assert_array_equal(a, mathart.render(GOOD[family].copy(), family, 64))
    other = GOOD[family].copy()
    other[NAMES.index("hue")] = 0.1
    assert not np.array_equal(a, mathart.render(other, family, 64))


@pytest.mark.parametrize("family", FAMILIES)
def test_acceptance_rule_keeps_good_and_rejects_degenerate(family):
    assert mathart.accept(GOOD[family], family), mathart.acceptance_figures(GOOD[family], family)
    assert not mathart.accept(DEGENERATE[family], family), mathart.acceptance_figures(DEGENERATE[family], family)


def _change(family: str, slot: int, fraction: float) -> float:
    """Mean pixel change when GOOD[family]'s `slot` moves by `fraction` of its range (inward at the top end)."""
    vec = GOOD[family]
    nudged = vec.copy()
    step = fraction * (mathart.HIGH[slot] - mathart.LOW[slot])
    nudged[slot] += step if vec[slot] + step <= mathart.HIGH[slot] else -step
    return float(np.abs(mathart.render(vec, family, 128) - mathart.render(nudged, family, 128)).mean())


@pytest.mark.parametrize(
    "family, name",
    [
        ("lissajous", "lis_p1"),
        ("rose", "rose_offset"),
        ("hypotrochoid", "hypo_pen"),
        ("julia", "julia_angle"),
        ("clifford", "cl_a"),
    ],
)
def test_small_change_in_parameters_is_a_small_change_in_pixels(family, name):
    """The renderer is continuous: the pixel change shrinks with the parameter change (no jumps in a latent walk)."""
    slot = NAMES.index(name)
    tiny, small, large = _change(family, slot, 1e-5), _change(family, slot, 1e-4), _change(family, slot, 0.2)
    assert 0 < tiny <= 0.3 * small and small <= 0.1 * large, (tiny, small, large)


def test_snap_lingers_on_whole_numbers_and_never_jumps():
    from serving.art.mathart_render import snap

    x = np.linspace(1.0, 4.0, 30001)
    y = snap(x)
    assert np.all(np.diff(y) >= -1e-12) and np.max(np.diff(y)) < 4 * (x[1] - x[0]) + 1e-12  # increasing, slope <= 4
    np.testing.assert_allclose(snap(np.array([1.0, 2.0, 3.0])), [1.0, 2.0, 3.0], atol=1e-12)
    assert np.mean(np.abs(y - np.round(y)) < 0.064) > 0.65  # most of an evenly turned dial sits on whole numbers


def test_out_of_range_and_nan_are_refused_by_name():
    bad = GOOD["rose"].copy()
    bad[NAMES.index("rose_k")] = 9.0
    with pytest.raises(InputError, match=r"rose_k is 9, outside its range 1\.\.7"):
        mathart.render(bad, "rose")
    bad[NAMES.index("rose_k")] = np.nan
    with pytest.raises(InputError, match="rose_k"):
        mathart.render(bad, "rose")
    # a slot the family does not read may hold anything: it cannot reach the picture
    ignored = GOOD["rose"].copy()
    ignored[NAMES.index("cl_a")] = np.nan
    np.testing.assert_array_equal(mathart.render(ignored, "rose"), mathart.render(GOOD["rose"], "rose"))
    with pytest.raises(InputError, match=f"{len(NAMES)} values"):
        mathart.render(GOOD["rose"][:5], "rose")
    with pytest.raises(InputError, match="unknown family"):
        mathart.render(GOOD["rose"], "mandelbrot")


def test_dataset_is_reproducible_balanced_and_accepted():
    params, labels = mathart.sample_accepted(10, seed=4)
    again, _ = mathart.sample_accepted(10, seed=4)
    np.testing.assert_array_equal(params, again)
    assert list(labels) == [i % 5 for i in range(10)]
    assert all(mathart.accept(p, int(k)) for p, k in zip(params, labels))
    assert np.all(params >= mathart.LOW) and np.all(params <= mathart.HIGH)
    images, image_labels = mathart.render_dataset(10, seed=4, size=32)
    assert images.shape == (10, 32, 32, 3) and list(image_labels) == list(labels)
    np.testing.assert_array_equal(images[3], mathart.render(params[3], int(labels[3]), 32))


def test_prior_is_broader_than_what_is_accepted():
    rate = mathart.prior_acceptance_rate(100, seed=0)
    assert 0.5 < rate < 1.0  # the rule keeps most of the prior, and rejects part of it (ellipses, dust, blobs)


def test_mix_fades_through_the_background():
    vec = GOOD["rose"]
    pure = mathart.render_mix(vec[None], np.array([[0, 1.0, 0, 0, 0]]), 32)[0]
    np.testing.assert_allclose(pure, mathart.render(vec, "rose", 32), atol=1e-6)
    half = mathart.render_mix(vec[None], np.array([[0, 0.5, 0.5, 0, 0]]), 32)[0]
    assert np.ptp(half.reshape(-1, 3), axis=0).max() < 1e-6  # an even mix is the plain background
    quarter = mathart.render_mix(vec[None], np.array([[0, 0.25, 0.75, 0, 0]]), 32)[0]
    assert np.ptp(quarter) > 0.05  # three quarters hypotrochoid: drawn again, at half strength


def test_csv_with_a_byte_order_mark_or_a_repeated_column(tmp_path):
    params, labels = mathart.sample_accepted(2, seed=2)
    text = to_csv(params, labels)
    path = _table(tmp_path, "\ufeff" + text)  # as a spreadsheet saves it
    np.testing.assert_array_equal(read_csv(path)[0], params)
    header, *rows = text.splitlines()
    path = _table(tmp_path, "\n".join([header + ",hue", *(r + ",0.5" for r in rows)]) + "\n")
    with pytest.raises(InputError, match="column\\(s\\) hue appear more than once"):
        read_csv(path)
    path = _table(tmp_path, header + "\n" + "rose," + "x" * 200_000 + "\n")
    with pytest.raises(InputError, match="not a readable CSV table"):
        read_csv(path)


def test_csv_round_trip_is_exact(tmp_path):
    params, labels = mathart.sample_accepted(5, seed=1)
    path = tmp_path / "table.csv"
    path.write_text(to_csv(params, labels))
    assert path.read_text().splitlines()[0] == ",".join(HEADER)
    back, back_labels = read_csv(path)
    np.testing.assert_array_equal(back, params)
    np.testing.assert_array_equal(back_labels, labels)


def _table(tmp_path, text: str):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    "edit, message",
    [
        (
            lambda rows: [
                rows[0].replace(",gain", ""),
                *[",".join(r.split(",")[:5] + r.split(",")[6:]) for r in rows[1:]],
            ],
            "line 1: missing column(s) gain",
        ),
        (lambda rows: [rows[0], "mandelbrot" + rows[1][rows[1].index(",") :]], "line 2: unknown family 'mandelbrot'"),
        (
            lambda rows: [rows[0], rows[1], rows[2].replace(rows[2].split(",")[1], "abc", 1)],
            "line 3: column hue holds 'abc'",
        ),
        (
            lambda rows: [rows[0], rows[1].replace(rows[1].split(",")[1], "7.5", 1)],
            "line 2: hue is 7.5, outside its range 0..1",
        ),
    ],
)
def test_bad_tables_name_the_line_and_exit_2(tmp_path, edit, message, capsys):
    params, labels = mathart.sample_accepted(2, seed=2)
    rows = to_csv(params, labels).splitlines()
    path = _table(tmp_path, "\n".join(edit(rows)) + "\n")
    with pytest.raises(InputError, match=re.escape(message)):
        read_csv(path)
    from serving.art.mathart_csv import main

    assert main(["--check", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message.split(":")[0] in err


def test_csv_cli_writes_atomically_and_refuses_bad_options(tmp_path):
    out = tmp_path / "params.csv"
    run = [sys.executable, "-m", "serving.art.mathart_csv"]
    done = subprocess.run([*run, "--count", "5", "--seed", "3", "--out", str(out)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    params, labels = read_csv(out)
    expected, _ = mathart.sample_accepted(5, seed=3)
    np.testing.assert_array_equal(params, expected)
    bad = subprocess.run([*run, "--count", "0", "--out", str(tmp_path / "none.csv")], capture_output=True, text=True)
    assert bad.returncode == 2 and "--count" in bad.stderr and not (tmp_path / "none.csv").exists()
    missing = subprocess.run(
        [*run, "--count", "2", "--out", str(out / "inside-a-file.csv")], capture_output=True, text=True
    )
    assert missing.returncode == 2 and "Traceback" not in missing.stderr
