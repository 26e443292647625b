"""The drawings set (training/drawings.py) and its evaluation (training/evaluate_drawings.py): made by code, the same
on every machine, validation and test apart, and measured through the real projection."""

import json

import numpy as np

from serving.art.mathart import FAMILIES
from training import drawings, evaluate_drawings


def test_the_set_is_reproducible_and_its_splits_do_not_share_a_curve():
    first = drawings.curves("validation", 2)
    again = drawings.curves("validation", 2)
    assert [np.asarray(d.image).tobytes() for d in first] == [np.asarray(d.image).tobytes() for d in again]
    test = drawings.curves("test", 2)
    val_params = {d.params.tobytes() for d in first}
    assert not val_params & {d.params.tobytes() for d in test}
    assert sorted({FAMILIES[d.family] for d in first}) == sorted(FAMILIES)  # every family, curves drawn by hand
    assert all(d.style != "rendered" for d in first if FAMILIES[d.family] in drawings.CURVE_FAMILIES)


def test_digits_come_from_handwriting_and_the_halves_are_apart():
    val = drawings.digits("validation", 20)
    test = drawings.digits("test", 20)
    assert {d.family for d in val} <= set(range(10)) and len(val) == 20
    assert not {np.asarray(d.image).tobytes() for d in val} & {np.asarray(d.image).tobytes() for d in test}


def test_the_evaluation_reports_its_split_and_writes_only_the_test(tmp_path, capsys):
    report = evaluate_drawings.evaluate_drawings(
        evaluate_drawings.Path("exported/mnist-cdcgan"), "validation", count=2, verbose=False
    )
    assert report["split"] == "validation" and report["drawings"] == 10 and 0 <= report["class_accuracy"] <= 1
    assert report["photos"] == 6 and report["settings_chosen_on"] == "validation"
    assert evaluate_drawings.main(["--bundle", "exported/mnist-cdcgan", "--count", "1", "--write"]) == 2
    assert "test split only" in capsys.readouterr().err
    json.dumps(report)  # what metrics.json holds
