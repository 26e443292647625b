"""The augmentation study (--quick, on the shipped MNIST GAN) and its refusals."""

import json

import pytest

from tests.conftest import REPO
from training.augment_study import main

BUNDLE = str(REPO / "exported" / "mnist-cdcgan")


@pytest.mark.slow
def test_quick_study_writes_a_table_and_a_plot(tmp_path, capsys):
    assert main(["--quick", "--bundles", BUNDLE, "--out", str(tmp_path), "--quiet"]) == 0
    results = json.loads((tmp_path / "results.json").read_text())
    cells = {(r["n"], r["source"], r["m"]) for r in results["rows"]}
    assert cells == {(10, "real only", 0), (50, "real only", 0), (10, "mnist-cdcgan", 100), (50, "mnist-cdcgan", 100)}
    for r in results["rows"]:
        assert len(r["accuracies"]) == 2 and 0.5 < r["accuracy_mean"] <= 1.0  # two seeds; far above chance (0.1)
    assert (tmp_path / "plot.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "| 10 |" in (tmp_path / "table.md").read_text() and "+100/class mnist-cdcgan" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--n", "10000"], "more than the training split holds"),
        (["--m", "0,-5"], "--m values must be >= 0"),
        (["--bundles", "exported/no-such-bundle"], "unknown bundle"),
        (["--n", "ten"], "whole numbers"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys, argv, message):
    args = ["--bundles", BUNDLE, *argv] if "--bundles" not in argv else argv
    assert main([*args, "--out", str(tmp_path), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and message in err and len(err.splitlines()) == 1
