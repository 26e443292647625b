"""The bundle's model card: the public entry points (`write_card_assets` after an export, `refresh_card` after new
records or metrics, `python -m training.card --bundle DIR`), the README.md text put together from its sections with
its front matter, and the run's records copied beside it.

The parts live beside it: card_sections.py (what the model is and how it was made), card_usage.py (how to run it),
card_figures.py (figures from metrics.json), card_pictures.py (pictures drawn by model.onnx).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from serving.atomic import write_atomic
from serving.bundle.config import GeneratorConfig
from serving.publish.cards import card_text
from training.card_figures import eval_results, metrics_table
from training.card_pictures import write_card_pictures
from training.card_sections import (
    augment_section,
    contract_section,
    directions_section,
    morph_line,
    params_section,
    quantized_section,
    training_facts,
    what_it_is,
)
from training.card_usage import music_section, projection_section, static_section, usage_sections

RUN_RECORDS = ("options.json", "history.csv", "loss.png", "dataset.json", "quality.csv", "quality.json")


def _card_metadata(config: GeneratorConfig, bundle: Path) -> dict:
    """The card's front matter: license, library, tags, the pipeline tag where one fits, and the evaluation."""
    family = config.model_family
    tags = ["gan" if family != "vae" else "vae", family, "onnx", "ganimate", "image-generation"]
    if config.conditional:
        tags += ["conditional", "class-conditional"]
    dataset_tag = "mnist" if "mnist" in config.dataset.lower() else None
    # The Hub has no pipeline tag for class-conditional generation; "unconditional" would mislabel these models.
    pipeline = {} if config.conditional else {"pipeline_tag": "unconditional-image-generation"}
    metadata = {
        "license": "apache-2.0",
        "library_name": "onnx",
        **pipeline,
        "tags": list(dict.fromkeys(tags)),
        **({"datasets": [dataset_tag]} if dataset_tag else {}),
    }
    results = eval_results(bundle, config, dataset_tag)
    if results:  # the Hub shows these as the model's evaluation (model-index)
        metadata.update(model_name=config.name, eval_results=results)
    return metadata


def model_card(config: GeneratorConfig, run_dir: Path | None, bundle: Path) -> str:
    """The README.md text: front matter, description, I/O contract, usage, training facts, metrics, pictures."""
    h, w = config.image_size
    kind = "conditional " if config.conditional else ""
    classes = f" Classes: {', '.join(config.class_names)}." if config.conditional else ""
    facts = training_facts(config, run_dir)
    return card_text(
        _card_metadata(config, bundle),
        f"""
# {config.name}

{what_it_is(config, kind)}: give it a
latent `z` (and a class), get a {h}x{w} {"RGB" if config.channels == 3 else "grayscale"} image.{classes}
Seeds are portable: seed `s` always gives the same `z` in any language (algorithm `{config.latent_algorithm}`).

![samples](samples.png) ![interpolation](interpolation.gif){morph_line(bundle, config)}

{contract_section(config)}

{usage_sections(config)}

## Training

{chr(10).join(facts)}

Training records are in `training/` (options, per-step history, loss curves).
{quantized_section(config)}{static_section(config)}{params_section(config)}{directions_section(config)}{projection_section(bundle, config)}{music_section(config)}
## Metrics

{metrics_table(bundle)}{augment_section(bundle)}""",
    )


def write_card_assets(bundle: Path, config: GeneratorConfig, run_dir: Path | None) -> None:
    """samples.png and interpolation.gif from the exported ONNX model, the run's records, then README.md."""
    write_card_pictures(bundle, config)
    if run_dir is not None:
        _copy_run_records(run_dir, bundle / "training")
    (bundle / "README.md").write_text(model_card(config, run_dir, bundle))


def _copy_run_records(run_dir: Path, records: Path) -> None:
    """The run's records that exist, into the bundle's training/ (the card's Training section cites them)."""
    records.mkdir(exist_ok=True)
    for name in RUN_RECORDS:
        if (run_dir / name).exists():
            shutil.copy2(run_dir / name, records / name)


def refresh_card(bundle: Path) -> Path:
    """Rewrite a bundle's README.md from its config.json, training/ records and metrics.json (no TensorFlow)."""
    config = GeneratorConfig.from_json((bundle / "config.json").read_text())
    records = bundle / "training"
    text = model_card(config, records if records.is_dir() else None, bundle)
    return write_atomic(bundle / "README.md", text.encode())


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(prog="python -m training.card", description="Rewrite a bundle's model card.")
    parser.add_argument("--bundle", required=True, help="bundle folder, e.g. exported/mnist-cdcgan")
    args = parser.parse_args()
    if not (Path(args.bundle) / "config.json").is_file():
        parser.exit(2, f"error: {args.bundle} is not a bundle folder (no config.json)\n")
    print(f"wrote {refresh_card(Path(args.bundle))}")
