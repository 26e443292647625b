"""The card's measured figures, all read from the bundle's metrics.json: the metrics table with the judge and
data it was measured with, the recipe's quality aims met or missed, the same figures as the Hub's evaluation results
(front matter), and the projection's figures on test."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from serving.bundle.config import GeneratorConfig

if TYPE_CHECKING:
    from huggingface_hub import EvalResult

# The projection's aims as the digit models' card states them (math-art models carry theirs in metrics.json).
AIMS_TEXT = {"class": ">= 90%", "random": ">= 80%"}


def _better(name: str, figure: dict) -> str:
    """Which way is better. KID is an unbiased estimate of a squared distance: 0 is a perfect match and a value
    below 0 is within its noise, so "lower is better" would rank a negative one above the real data's floor."""
    if name == "kid":
        return "nearer 0 (an unbiased estimate: below 0 is noise)"
    return str(figure.get("better", ""))


def metrics_table(bundle: Path) -> str:
    """The Metrics section: each figure against the real-data floor, then how and on what it was measured."""
    path = bundle / "metrics.json"
    if not path.exists():
        return "_Not evaluated yet._\n"
    metrics = json.loads(path.read_text())
    lines = ["| metric | model | real test data (floor) | better |", "|---|---|---|---|"]
    for name, value in metrics.get("figures", {}).items():
        floor = value.get("floor")
        lines.append(
            f"| {name} | {value.get('model'):.4g} | {'n/a' if floor is None else f'{floor:.4g}'} | "
            f"{_better(name, value)} |"
        )
    n, judge, data = metrics.get("samples", {}), metrics.get("judge", {}), metrics.get("dataset", {})
    protocol = metrics.get("protocol", {})
    lines.append("")
    lines.append(
        f"Judge: `{judge.get('name')}` (sha256 `{str(judge.get('sha256'))[:12]}...`, shipped in the project's "
        f"`training/judges/`), a small classifier trained once on the training part; accuracy "
        f"{judge.get('validation_accuracy', float('nan')):.4f} on validation, "
        f"{judge.get('test_accuracy', float('nan')):.4f} on test. Data: `{data.get('name')}` (sha256 "
        f"`{str(data.get('sha256'))[:12]}...`: {data.get('train')} train / {data.get('validation')} "
        f"validation / {data.get('test')} test). {n.get('generated')} generated samples from `model.onnx` "
        f"(seeds from {protocol.get('seeds', {}).get('samples', ['?'])[0]}); reference "
        f"{n.get('train_reference')} training images; floor from {n.get('test')} test images."
    )
    if n.get("matched_size"):
        lines[-1] += (
            f" FCD, precision and recall compare {n['matched_size']} images on each side (the model's figure "
            f"is the mean over {n.get('matched_chunks')} disjoint sets of generated images), because both "
            "depend on the sample count."
        )
    chosen = protocol.get("checkpoint", {})
    if chosen:
        lines[-1] += f" Checkpoint: step {chosen.get('step')}, chosen by {chosen.get('chosen_by')}."
    lines[-1] += " `python -m training.evaluate --bundle .` reproduces it."
    aims = _aims_line(bundle, metrics)
    return "\n".join(lines + ([""] + [aims] if aims else [])) + "\n"


def _aims_line(bundle: Path, metrics: dict) -> str:
    """The run's quality targets against the test figures, each met or missed by how much, said plainly."""
    from training.checks import parse_checks

    config = json.loads((bundle / "config.json").read_text())
    targets = config.get("extra", {}).get("training", {}).get("quality")
    if not targets:
        return ""
    said = []
    for name, op, limit in parse_checks(targets):
        value = metrics.get("figures", {}).get(name, {}).get("model")
        if value is None:
            continue
        met = value <= limit if op == "<=" else value >= limit
        said.append(f"`{name}{op}{limit:g}` {'met' if met else 'MISSED'} ({value:.4g})")
    return "Aims of its recipe, on test: " + ", ".join(said) + "." if said else ""


def eval_results(bundle: Path, config: GeneratorConfig, dataset_tag: str | None) -> list[EvalResult]:
    """metrics.json's figures as huggingface_hub EvalResults, when the bundle was evaluated on exactly this model."""
    from huggingface_hub import EvalResult

    path = bundle / "metrics.json"
    if not path.exists():
        return []
    metrics = json.loads(path.read_text())
    if metrics.get("bundle_sha256") != config.sha256:
        return []
    dataset_type = dataset_tag or str(config.extra.get("training", {}).get("dataset", "custom"))
    data = metrics.get("dataset")
    dataset_name = data.get("source", config.dataset) if isinstance(data, dict) else (data or config.dataset)
    task = "image-generation" if config.conditional else "unconditional-image-generation"
    return [
        EvalResult(
            task_type=task,
            dataset_type=dataset_type,
            dataset_name=dataset_name,
            metric_type=name,
            metric_value=fig["model"],
            metric_name=f"{name} ({_better(name, fig)} is better; real-data floor "
            f"{fig['floor'] if fig['floor'] is not None else 'n/a'})",
        )
        for name, fig in metrics.get("figures", {}).items()
        if isinstance(fig.get("model"), (int, float))
    ]


def projection_figures(report: dict, name: str) -> str:
    """The projection's figures on test, from metrics.json: math art (family, closeness) or digits (class, SSIM)."""
    k = f"metrics:{name}:projection"
    if "family_accuracy" in report:
        return (
            f"On {report['pictures']} pictures the numpy renderer drew from the prior's test draw (never in the "
            f"training table): the family comes back for {report['family_accuracy'] * 100:.1f}"
            f"<!-- {k}.family_accuracy % -->% (aim >= 95%: {_met(report, 'family_accuracy')}), and the redrawn "
            f"picture is closer (pixel distance at 64x64) than the best of {report['random_samples']:,} random samples "
            f"of its family for {report['beats_random'] * 100:.1f}<!-- {k}.beats_random % -->% (aim >= 80%: "
            f"{_met(report, 'beats_random')}). A projection takes "
            f"{report['ms_p50']:.0f}<!-- {k}.ms_p50 --> ms (p50 here; the encoder alone "
            f"{report['encoder_ms_p50']:.1f}<!-- {k}.encoder_ms_p50 --> ms). `{report['command']}` measures it. "
            "A curve drawn by hand is first fitted as its family's equation, then as the latent that draws it "
            "(figures below).\n"
        )
    return (
        f"On the {report['pictures']} test pictures (never seen by the generator, the encoder or any choice of "
        f"their recipes): the judge reads the right class on the projection for "
        f"{report['class_accuracy'] * 100:.1f}<!-- {k}.class_accuracy % -->% (aim {AIMS_TEXT['class']}), and the "
        f"projection is closer to the picture (SSIM) than the best of {report['random_seeds']:,} random seeds of "
        f"its class for {report['beats_random'] * 100:.1f}<!-- {k}.beats_random % -->% (aim {AIMS_TEXT['random']}); "
        f"mean SSIM {report['ssim']:.3f}<!-- {k}.ssim --> against {report['random_best_ssim']:.3f}<!-- {k}.random_best_ssim -->. "
        f"A projection takes {report['ms_p50']:.0f}<!-- {k}.ms_p50 --> ms (p50 on the CPU that measured it; the "
        f"encoder alone {report['encoder_ms_p50']:.1f}<!-- {k}.encoder_ms_p50 --> ms). "
        f"`{report['command']}` measures it.\n"
    )


def drawings_figures(report: dict, name: str) -> str:
    """Projection on drawings nobody trained on (metrics.json["drawings"], test split): math art or digits."""
    k = f"metrics:{name}:drawings"
    if "median_distance_px" in report:
        return (
            f"On drawings nobody trained on ({report['drawings']} pictures of the drawings set's test split, "
            "training/drawings.py: lissajous, rose and hypotrochoid curves drawn with a hand's tremor, 1-6 px pens, "
            "dark, coloured or light ink, on papers with grain and uneven light, and rendered julia and clifford "
            f"pictures; every setting chosen on its validation split): the family comes back for "
            f"{report['family_accuracy'] * 100:.1f}<!-- {k}.family_accuracy % -->% (aim >= 90%: "
            f"{_met(report, 'family_accuracy')}); the redrawn curve lies a median "
            f"{report['median_distance_px']:.2f}<!-- {k}.median_distance_px --> px from the true one at 256 px (aim "
            f"<= 4: {'met' if report['median_distance_px'] <= report['aims']['median_distance_px'] else 'MISSED'}), "
            f"closer than 90% of {report['random_samples']} random samples of its family for "
            f"{report['closer_than_random'] * 100:.1f}<!-- {k}.closer_than_random % -->% (aim >= 80%: "
            f"{_met(report, 'closer_than_random')}). {report['fits_share'] * 100:.0f}<!-- {k}.fits_share % -->% "
            f"of the drawn curves are said to fit, and {report['not_drawings_refused'] * 100:.0f}"
            f"<!-- {k}.not_drawings_refused % -->% of pictures that are not curves (photo crops, handwritten "
            f"digits) are said not to. `{report['command']}` measures it.\n"
        )
    return (
        f"On {report['drawings']} handwritten digits nobody trained on (the drawings set's test split, "
        "training/drawings.py: scikit-learn's load_digits, 43 writers, not MNIST, enlarged, light on dark or dark "
        "on light, thick or thin, some touching the frame's edge or photographed; every setting chosen on its "
        f"validation split), the projection reads the right class for {report['class_accuracy'] * 100:.1f}"
        f"<!-- {k}.class_accuracy % -->% (aim >= 90%: {_met(report, 'class_accuracy')}); "
        f"{report['fits_share'] * 100:.0f}<!-- {k}.fits_share % -->% are said to fit, and "
        f"{report['photos_refused'] * 100:.0f}<!-- {k}.photos_refused % -->% of photo crops are said not to. "
        f"`{report['command']}` measures it.\n"
    )


def _met(report: dict, key: str) -> str:
    """Whether the projection's figure `key` reached the aim its report carries."""
    return "met" if report[key] >= report["aims"][key] else "MISSED"
