"""Choosing on validation: probed checkpoints are kept, the best probe is chosen by a fixed rule, and the export
records the choice."""

import json

import numpy as np
import pytest

from serving.errors import InputError
from training import checkpoint
from training.quality import best_probe

ROWS = """step,train_min,fcd_ratio,precision,recall,class_accuracy
1000,1.0,3.0,0.90,0.80,0.99
2000,2.0,2.1,0.85,0.80,0.95
3000,3.0,2.4,0.82,0.81,0.975
4000,4.0,2.2,0.83,0.82,0.980
"""


def test_the_best_probe_meets_every_target_but_fcd_and_has_the_lowest_fcd(tmp_path):
    (tmp_path / "quality.csv").write_text(ROWS)
    # 2000 has the lowest FCD but misses class accuracy; 4000 is the best that meets the rest.
    assert best_probe(tmp_path, "fcd_ratio<=2,precision>=0.8,recall>=0.6,class_accuracy>=0.97")["step"] == 4000
    assert best_probe(tmp_path, "fcd_ratio<=2,class_accuracy>=0.999")["step"] == 2000  # none meets: lowest FCD
    with pytest.raises(KeyError, match="eval-every"):
        best_probe(tmp_path / "nothing")


def test_checkpoints_at_probe_steps_are_kept(tmp_path):
    for step in range(1, 11):
        checkpoint.save(tmp_path, step, {"w": np.full(2, step, np.float32)}, keep_every=4)
    assert [s for s, _ in checkpoint.list_checkpoints(tmp_path)] == [4, 8, 9, 10]


def test_export_takes_a_probed_step_and_records_how_it_was_chosen(trained_bundles, tmp_path):
    from training.export import checkpoint_choice, export_run

    run = trained_bundles["cgan"].parent / "runs" / "cgan"
    with pytest.raises(InputError, match="no checkpoint of step 7"):
        export_run(run, tmp_path / "b", step=7)
    (run / "quality.csv").write_text("step,train_min,fcd_ratio\n1,0.01,9.5\n")
    try:
        chosen = checkpoint_choice(run, 1)
    finally:
        (run / "quality.csv").unlink()
    assert "validation probes: step 1" in chosen["chosen_by"] and chosen["validation_probe"]["fcd_ratio"] == 9.5
    cfg = json.loads((trained_bundles["cgan"] / "config.json").read_text())
    assert cfg["extra"]["checkpoint"]["chosen_by"] == "the run's last checkpoint"
    assert cfg["extra"]["data"]["name"] == "tiny" and cfg["versions"]["ganimate"] != "0.1.0"
