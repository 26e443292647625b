import json
import os
from pathlib import Path

import numpy as np
import pytest

from serving.errors import GanimateError, InputError
from training import metrics
from training.checks import failed_checks, parse_checks
from training.evaluate import EVAL_SEED_BASE, evaluation_seeds, main, probe_seeds
from training.judge import JUDGES_DIR


def test_metrics_separate_same_from_shifted_distributions():
    rng = np.random.default_rng(0)
    a, b, shifted = rng.normal(size=(800, 8)), rng.normal(size=(800, 8)), rng.normal(0.8, 1, size=(800, 8))
    assert metrics.frechet_distance(a, b) < 0.2 < metrics.frechet_distance(a, shifted)
    assert abs(metrics.frechet_distance(a, shifted) - 8 * 0.8**2) < 1.0  # mean term dominates: 8 * 0.64
    assert (
        metrics.kernel_inception_distance(a, b, subsets=3, subset_size=300)
        < 0.02
        < metrics.kernel_inception_distance(a, shifted, subsets=3, subset_size=300)
    )
    p_same, r_same = metrics.precision_recall(a, b)
    p_far, r_far = metrics.precision_recall(a, rng.normal(5, 1, size=(800, 8)))
    assert p_same > 0.6 and r_same > 0.6 and p_far < 0.05 and r_far < 0.05
    # A collapsed generator: precise (inside the real manifold) but with no recall.
    collapsed = a[:5].repeat(160, axis=0) + rng.normal(0, 0.01, size=(800, 8))
    p_col, r_col = metrics.precision_recall(a, collapsed)
    assert p_col > 0.9 and r_col < 0.1
    assert metrics.class_coverage(np.array([0, 1, 2, 3]), np.array([3, 2, 1, 0]), 4) == 1.0
    assert metrics.class_coverage(np.zeros(4, int), np.array([0, 1, 2, 3]), 4) == 0.25


def test_model_measured_at_the_floors_sample_size():
    # A perfect generator (same distribution as the held-out data) with 10x more samples than the held-out set:
    # measured at the held-out size it matches the floor; measured on all samples its FCD would look far better than the floor.
    rng = np.random.default_rng(1)
    train, held, fake = (rng.normal(size=(n, 6)) for n in (1500, 150, 1500))
    fcd_floor = metrics.frechet_distance(train, held)
    p_floor, r_floor = metrics.precision_recall(train, held)
    fcd_model = metrics.at_size(metrics.frechet_distance, train, fake, 150)
    p_model, r_model = metrics.at_size(metrics.precision_recall, train, fake, 150)
    assert 0.5 < fcd_model / fcd_floor < 2.0 and abs(r_model - r_floor) < 0.1 and abs(p_model - p_floor) < 0.1
    assert metrics.frechet_distance(train, fake) < 0.5 * fcd_floor  # FCD on 10x the samples flatters the model
    with pytest.raises(ValueError):
        metrics.at_size(metrics.frechet_distance, train, fake, 0)


def test_checks_parse_and_fail():
    checks = parse_checks("fcd_ratio<=2, precision>=0.8")
    result = {"figures": {"fcd_ratio": {"model": 3.0}, "precision": {"model": 0.9}}}
    assert failed_checks(result, checks) == ["fcd_ratio 3 is not <= 2"]
    for bad in ("fcd=2", "precision>=lots"):
        with pytest.raises(InputError):
            parse_checks(bad)
    with pytest.raises(InputError, match="figures are"):
        failed_checks(result, parse_checks("nope<=1"))


def _bundle_on(trained_bundles, folder: Path, dataset: str = "mnist-sample") -> Path:
    import shutil

    shutil.copytree(trained_bundles["cgan"], folder)
    cfg = json.loads((folder / "config.json").read_text())
    cfg["extra"]["training"]["dataset"] = dataset  # the tiny model was trained on random 28x28 data
    (folder / "config.json").write_text(json.dumps(cfg))
    return folder


def test_evaluate_writes_metrics_and_card_and_check_exits(trained_bundles, tmp_path, capsys):
    bundle = _bundle_on(trained_bundles, tmp_path / "b")
    # A random 4-class model on 10-class MNIST: far from the floor, so a strict check must fail.
    rc = main(["--bundle", str(bundle), "--samples", "200", "--check", "precision>=0.99"])
    assert rc == 1 and "check failed: precision" in capsys.readouterr().err
    result = json.loads((bundle / "metrics.json").read_text())
    assert {"fcd", "fcd_ratio", "kid", "precision", "recall", "class_accuracy", "class_coverage", "path_length"} <= set(
        result["figures"]
    )
    assert result["figures"]["fcd"]["model"] > result["figures"]["fcd"]["floor"]
    assert result["samples"]["generated"] == 200
    # The protocol, the judge and the data are named: what judged, on which split, with which seeds.
    shipped = json.loads((JUDGES_DIR / "mnist-sample-28.json").read_text())
    assert result["judge"]["sha256"] == shipped["sha256"] and result["judge"]["name"] == "mnist-sample-28"
    assert result["protocol"]["split"] == "test" and result["protocol"]["seeds"]["samples"] == [
        EVAL_SEED_BASE,
        EVAL_SEED_BASE + 199,
        200,
    ]
    assert result["dataset"]["name"] == "mnist-sample" and result["dataset"]["test"] == 500
    assert result["protocol"]["checkpoint"]["chosen_by"] == "the run's last checkpoint"
    card = (bundle / "README.md").read_text()
    assert "| fcd |" in card and shipped["sha256"][:12] in card
    assert main(["--bundle", str(bundle), "--samples", "5"]) == 2


def test_the_same_bundle_gives_the_same_figures_in_fresh_processes(trained_bundles, tmp_path):
    import subprocess
    import sys

    results = []
    for name in ("one", "two"):  # two processes, two empty caches: nothing is trained, nothing is carried over
        bundle = _bundle_on(trained_bundles, tmp_path / name)
        env = {**os.environ, "GANIMATE_CACHE": str(tmp_path / f"cache-{name}")}
        proc = subprocess.run(
            [sys.executable, "-m", "training.evaluate", "--bundle", str(bundle), "--samples", "300"],
            capture_output=True,
            text=True,
            env=env,
            timeout=600,
        )
        assert proc.returncode == 0, proc.stderr
        results.append(json.loads((bundle / "metrics.json").read_text()))
    one, two = results
    assert one["judge"] == two["judge"] and one["dataset"] == two["dataset"]
    for name, fig in one["figures"].items():
        assert abs(fig["model"] - two["figures"][name]["model"]) <= 1e-3 * max(1.0, abs(fig["model"])), name
        assert fig["floor"] == two["figures"][name]["floor"], name


def test_probes_and_evaluation_share_no_seed():
    from training.quality import PROBE_SAMPLES

    judged = set(np.concatenate(list(evaluation_seeds(50_000).values())).tolist())
    probed = set(probe_seeds(PROBE_SAMPLES).tolist())
    assert len(probed) == PROBE_SAMPLES and not judged & probed
    assert min(judged) > 2**31 and max(judged | probed) < 2**32  # valid seeds, far from the ones people type


def test_a_judge_that_is_not_the_shipped_file_is_refused(tmp_path):
    import shutil

    from training.judge import load_judge

    for suffix in (".onnx", ".json"):
        shutil.copy(JUDGES_DIR / f"mnist-sample-28{suffix}", tmp_path / f"j{suffix}")
    assert load_judge("j", tmp_path).sha256 == json.loads((tmp_path / "j.json").read_text())["sha256"]
    blob = bytearray((tmp_path / "j.onnx").read_bytes())
    blob[-1] ^= 1
    (tmp_path / "j.onnx").write_bytes(bytes(blob))
    with pytest.raises(GanimateError, match="sha256"):
        load_judge("j", tmp_path)
    with pytest.raises(InputError, match="trained on other data"):
        load_judge("mnist-sample-28", JUDGES_DIR, dataset_sha256="0" * 64)
    with pytest.raises(InputError, match="no judge named"):
        load_judge("nope", tmp_path)
