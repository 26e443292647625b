import json
import shutil

import numpy as np
import onnx
import pytest

from serving.bundle.config import GeneratorConfig
from serving.bundle.generator import Generator, sha256_file
from serving.errors import TrainingError
from training import export as export_mod
from training.export import export_run, main, parity_inputs


@pytest.mark.parametrize("name, conditional", [("gan", False), ("cgan", True), ("vae", True)])
def test_bundle_validates_and_matches_contract(trained_bundles, name, conditional):
    bundle = trained_bundles[name]
    for f in ("model.onnx", "config.json", "README.md", "samples.png", "interpolation.gif", "training/history.csv"):
        assert (bundle / f).exists(), f
    config = GeneratorConfig.from_json((bundle / "config.json").read_text())
    assert config.sha256 == sha256_file(bundle / "model.onnx")
    assert config.parity_max_abs_diff <= 1e-4
    assert config.conditional == conditional
    assert config.model_family == ("vae" if name == "vae" else "dcgan")
    model = onnx.load(str(bundle / "model.onnx"))
    assert [i.name for i in model.graph.input] == (["z", "y"] if conditional else ["z"])
    assert [o.name for o in model.graph.output] == ["images"]
    assert min(o.version for o in model.opset_import if o.domain in ("", "ai.onnx")) >= 17
    # config.json and the model's own metadata agree, except what is measured on the finished file: its sha256, the
    # parity, and the named directions fitted on its images (gray models; refittable later without a new export)
    meta = json.loads({p.key: p.value for p in model.metadata_props}["ganimate_config"])
    named = config.extra.get("directions")
    assert (named is not None) == (config.channels == 1) and all(
        len(d["vector"]) == config.latent_dim for d in named or []
    )
    expected = {**config.to_dict(), "extra": {k: v for k, v in config.extra.items() if k != "directions"}}
    assert {**meta, "sha256": config.sha256, "parity_max_abs_diff": config.parity_max_abs_diff} == expected
    card = (bundle / "README.md").read_text()
    assert card.startswith("---\n") and "library_name: onnx" in card and "onnxruntime" in card


@pytest.mark.parametrize("batch", [1, 37])
def test_dynamic_batch_and_range(trained_bundles, batch):
    gen = Generator.from_pretrained(trained_bundles["cgan"])
    z, y = parity_inputs(gen.latent_dim, gen.num_classes, batch)
    images = gen(z, y, output="float")
    assert images.shape == (batch, 28, 28, 1) and images.min() >= 0.0 and images.max() <= 1.0


def test_existing_bundle_needs_force_and_failure_keeps_old(trained_bundles, tmp_path, monkeypatch, capsys):
    src = trained_bundles["gan"]
    run_dir = src.parent / "runs" / "gan"
    target = tmp_path / "bundle"
    shutil.copytree(src, target)
    before = sha256_file(target / "config.json")
    assert main(["--run", str(run_dir), "--out", str(target)]) == 2
    assert "--force" in capsys.readouterr().err

    def broken(*args, **kwargs):
        raise TrainingError("onnxruntime and Keras disagree: max |diff| 0.5 > 0.0001")

    monkeypatch.setattr(export_mod, "validate", broken)
    with pytest.raises(TrainingError):
        export_run(run_dir, target, force=True)
    assert sha256_file(target / "config.json") == before  # old bundle intact
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bundle"]  # no half-written staging folder left
    with pytest.raises(TrainingError):
        export_run(run_dir, tmp_path / "fresh")
    assert not (tmp_path / "fresh").exists()


def test_parity_failure_is_reported(trained_bundles, tmp_path, monkeypatch):
    run_dir = trained_bundles["gan"].parent / "runs" / "gan"
    real_convert = export_mod.convert

    def drifting_convert(generator, *args):
        proto = real_convert(generator, *args)
        # Corrupt one weight so onnxruntime and Keras disagree, the way a bad conversion would.
        init = max(proto.graph.initializer, key=lambda t: len(t.raw_data) or len(t.float_data))
        arr = onnx.numpy_helper.to_array(init).copy()
        arr += 0.5
        init.CopyFrom(onnx.numpy_helper.from_array(arr, init.name))
        return proto

    monkeypatch.setattr(export_mod, "convert", drifting_convert)
    with pytest.raises(TrainingError, match="disagree on images: max \\|diff\\|"):
        export_run(run_dir, tmp_path / "bad")
    assert not (tmp_path / "bad").exists()


def test_an_evaluated_bundle_is_replaced_only_when_named(trained_bundles, tmp_path, capsys):
    src = trained_bundles["gan"]
    run_dir = src.parent / "runs" / "gan"
    target = tmp_path / "shipped"
    shutil.copytree(src, target)
    (target / "metrics.json").write_text("{}")
    assert main(["--run", str(run_dir), "--out", str(target), "--force"]) == 2
    assert "--replace shipped" in capsys.readouterr().err and (target / "metrics.json").exists()
    assert main(["--run", str(run_dir), "--out", str(target), "--force", "--replace", "shipped"]) == 0
    assert not (target / "metrics.json").exists()


def test_run_without_checkpoint_is_refused(tmp_path, capsys):
    (tmp_path / "options.json").write_text("{}")
    (tmp_path / "dataset.json").write_text(json.dumps({"image_shape": [28, 28, 1], "class_names": []}))
    assert main(["--run", str(tmp_path), "--out", str(tmp_path / "b")]) == 2
    assert "no checkpoint" in capsys.readouterr().err


def test_quantized_copy_is_kept_with_its_figures(trained_bundles, tmp_path):
    import onnxruntime as ort

    from serving.bundle.generator import sha256_file
    from training.export import export_run, parity_inputs

    run = trained_bundles["cgan"].parent / "runs" / "cgan"
    out = export_run(run, tmp_path / "q", quantize=True)
    config = json.loads((out / "config.json").read_text())
    q = config["extra"]["quantized"]
    assert sha256_file(out / q["file"]) == q["sha256"] and q["bytes"] == (out / q["file"]).stat().st_size
    # The recorded parity is what the two files give on the export's parity seeds, recomputed here.
    z, y = parity_inputs(config["latent_dim"], config["num_classes"])

    def run_one(name):
        session = ort.InferenceSession(str(out / name), providers=["CPUExecutionProvider"])
        return session.run(["images"], {"z": z, "y": y})[0]

    diff = np.abs(run_one("model.onnx") - run_one(q["file"]))
    assert abs(float(diff.max()) - q["parity_max_abs_diff"]) < 1e-6
    assert abs(float(diff.mean()) - q["parity_mean_abs_diff"]) < 1e-6
    # The card quotes the measured times, as measured.
    card = (out / "README.md").read_text()
    assert f"{q['int8_ms_batch64']:.1f} ms against {q['fp32_ms_batch64']:.1f} ms" in card


def test_quantized_copy_over_tolerance_is_removed(trained_bundles, tmp_path, monkeypatch):
    import shutil

    import training.quantize as quantize
    from training.export import parity_inputs

    bundle = tmp_path / "b"
    shutil.copytree(trained_bundles["cgan"], bundle)
    config = json.loads((bundle / "config.json").read_text())
    z, y = parity_inputs(config["latent_dim"], config["num_classes"])
    monkeypatch.setattr(quantize, "QUANT_TOLERANCE", 0.0)  # any int8 rounding is now too much
    why = quantize.quantize_int8(bundle / "model.onnx", {"z": z, "y": y})
    assert isinstance(why, str) and why.startswith("int8 copy not kept: max |diff|")
    assert not (bundle / quantize.QUANT_FILE).exists()


def test_refresh_card_rewrites_readme_from_bundle_records(trained_bundles, tmp_path):
    import shutil

    from training.card import refresh_card

    bundle = tmp_path / "b"
    shutil.copytree(trained_bundles["gan"], bundle)
    before = (bundle / "README.md").read_text()
    (bundle / "README.md").write_text("stale")
    assert refresh_card(bundle).read_text() == before


def test_export_is_reproducible_byte_for_byte(trained_bundles, tmp_path):
    # tf2onnx numbers the names it makes from a counter that has moved on since the fixture's export; canonical
    # names make a second export of the same checkpoint the same file, so a pinned sha256 can be re-made.
    from training.export import export_run

    first = trained_bundles["cgan"]
    again = export_run(
        first.parent / "runs" / "cgan", tmp_path / "again", name=json.loads((first / "config.json").read_text())["name"]
    )
    assert (again / "model.onnx").read_bytes() == (first / "model.onnx").read_bytes()
    names = [n.name for n in onnx.load(str(again / "model.onnx")).graph.node]
    assert names[0].startswith("000_") and len(set(names)) == len(names)
