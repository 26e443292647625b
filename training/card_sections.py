"""What the model is and how it was made, one card section each: the description, the I/O contract, the
math-art parameters, the named directions, the int8 copy, the training facts, the morph and the augmentation study."""

from __future__ import annotations

import csv
from pathlib import Path

from serving.bundle.config import GeneratorConfig
from training.card_usage import NEEDS_GANIMATE


def what_it_is(config: GeneratorConfig, kind: str) -> str:
    """The card's first sentence: what kind of model this is."""
    if "params" in config.outputs:
        return (
            f"A {kind}GAN that invents the parameters of mathematical art, with the renderer that draws them inside "
            "the same ONNX graph"
        )
    if config.model_family == "vae":
        return (
            f"The decoder of a {kind}VAE (variational autoencoder) exported to ONNX by ganimate, drawing from "
            "its standard normal prior"
        )
    return f"A {kind}{config.model_family.upper()} generator exported to ONNX by ganimate"


def morph_line(bundle: Path, config: GeneratorConfig) -> str:
    """morph.gif under the other pictures, where the bundle has one."""
    if not (bundle / "morph.gif").is_file():
        return ""
    a, b = (config.class_names[c % config.num_classes] for c in (3, 8))
    return f"\n\nA class morph at one fixed `z` (seed 7), {a} -> {b} -> {a}:\n\n![class morph](morph.gif)"


def contract_section(config: GeneratorConfig) -> str:
    """The graph's inputs and outputs with their shapes, and model.onnx's sha256."""
    h, w = config.image_size
    y_line = (
        f"| `y` | float32 `[batch, {config.num_classes}]` | soft one-hot class vector; mixtures morph between classes |\n"
        if config.conditional
        else ""
    )
    return f"""## I/O contract (opset {config.versions.get("opset", "17")}, dynamic batch)

| name | type | meaning |
|---|---|---|
| `z` | float32 `[batch, {config.latent_dim}]` | latent, standard normal |
{y_line}| `images` | float32 `[batch, {h}, {w}, {config.channels}]` | NHWC, values in [0, 1] |
{_params_row(config)}
`config.json` holds the same contract, and `model.onnx` carries it in its metadata (`ganimate_config`).
sha256 of model.onnx: `{config.sha256}`."""


def _params_row(config: GeneratorConfig) -> str:
    """The contract's `params` output row, for a model whose graph ends in the math-art renderer."""
    if "params" not in config.outputs:
        return ""
    return (
        f"| `params` | float32 `[batch, {len(config.param_names)}]` | the parameter vectors that were drawn, "
        "in the ranges below |\n"
    )


def params_section(config: GeneratorConfig) -> str:
    """For a model whose graph ends in the math-art renderer: what it draws, the parameters, the parity reason."""
    if "params" not in config.outputs:
        return ""
    from serving.art.mathart import PARAMS

    parity = config.extra.get("image_parity", {})
    rows = "\n".join(
        f"| `{p.name}` | {p.family or 'all (palette)'} | {p.low:g} .. {p.high:g} | {p.doc} |" for p in PARAMS
    )
    return f"""
## What it draws

The generator invents the *parameters* of a mathematical picture and the renderer inside `model.onnx` draws them
at {config.image_size[0]}x{config.image_size[1]}: damped harmonographs (`lissajous`), roses, hypotrochoids (spirographs),
Julia sets and Clifford attractors. Lines stay sharp because they are drawn, not learned, and every latent walk is a
smooth morph between real curves. A class mixture fades the dominant family toward its background by
`top1(y) - top2(y)`, so a morph from one family to another dips through the background instead of jumping.
Renderer `{config.extra.get("params", {}).get("renderer", "")}`; `serving/art/mathart.py` in ganimate redraws a `params`
row at any size with the same arithmetic in numpy:

```python
from serving import Generator                       # ganimate's TensorFlow-free serving package
from serving.art import mathart
from serving.latent.latents import one_hot, z_batch

gen = Generator.from_pretrained("USER/NAME")                 # this repository (or a bundle folder)
params = gen.params(z_batch([1], gen.latent_dim), one_hot([3], gen.num_classes))  # seed 1 as a Julia set
big = mathart.render(params[0], family=3, size=1024)         # float32 [1024, 1024, 3] in [0, 1]
```

{NEEDS_GANIMATE}

Export parity: the generator's `params` agree with Keras within {config.parity_max_abs_diff:.1e} (max |diff|, limit
1e-4). The images agree within 1e-3 on {parity.get("share_within_1e-3", 0):.4%} of pixels ({parity.get("worst_image_share", 0):.2%} in the
worst of 64 images; mean |diff| {parity.get("mean_abs_diff", 0):.1e}), not on all of them: the splat's scatter-add sums points in another order than
TensorFlow, and Julia pixels beside the set's boundary and Clifford orbits are chaotic: they stretch the last-bit
differences of float arithmetic between the two runtimes into visible ones (largest pixel difference here
{parity.get("max_abs_diff", 0):.3f}). The numpy renderer agrees with the graph within 2/255 on 99% of pixels.

| parameter | family | range | meaning |
|---|---|---|---|
{rows}
"""


def directions_section(config: GeneratorConfig) -> str:
    """The named directions in `z` that config.json carries, with how well each explains its attribute."""
    named = config.extra.get("directions") or []
    if not named:
        return ""
    rows = "\n".join(f"| `{d['name']}` | {d['r2']:.2f} | {d['per_unit']:.2f} |" for d in named)
    return f"""
## Named directions

Unit vectors in `z` (in `config.json`, `extra.directions`) found by regressing measured attributes on `z` over 4,096
seeds, with the class as a covariate (InterFaceGAN-style; `serving/rendering/directions.py`): `z + t * vector` changes the
attribute by about `per_unit` standard deviations per unit of `t`, and leaves the class alone. The Space's Explore
tab names its sliders after them. r2: how much of the attribute a linear function of `z` explains.

| direction | r2 | per_unit |
|---|---|---|
{rows}
"""


def quantized_section(config: GeneratorConfig) -> str:
    """The int8 copy, where the bundle has one: its size, its distance from float32 and its speed."""
    q = config.extra.get("quantized")
    if not q:
        return ""
    return f"""
## int8 copy

`{q["file"]}` (dynamic int8 quantization, sha256 `{q["sha256"]}`): {q["bytes"] / 1e6:.2f} MB against
{q["fp32_bytes"] / 1e6:.2f} MB; against the float32 model on the 64 parity seeds, max |diff| {q["parity_max_abs_diff"]:.4f}
and mean |diff| {q["parity_mean_abs_diff"]:.5f} (image values in [0, 1]); batch 64 on the exporting machine's CPU:
{q["int8_ms_batch64"]:.1f} ms against {q["fp32_ms_batch64"]:.1f} ms for float32. The Space and `Generator` load `model.onnx`.
"""


def _history_summary(run_dir: Path) -> dict[str, str]:
    """history.csv's last epoch row (its last row where no epoch was logged), less the row kind."""
    path = run_dir / "history.csv"
    if not path.exists():
        return {}
    with open(path, newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["kind"] == "epoch"] or list(csv.DictReader(open(path)))
    if not rows:
        return {}
    last = rows[-1]
    return {k: last[k] for k in last if k not in ("kind",)}


def training_facts(config: GeneratorConfig, run_dir: Path | None) -> list[str]:
    """The card's "Training" list: data, model, steps and rates, the last logged row, the checkpoint choice, parity."""
    h, w = config.image_size
    training = config.extra.get("training", {})
    rates = f"lr {training.get('lr')}" + (f" (D {training['d_lr']})" if training.get("d_lr") else "")
    if training.get("lr_decay"):
        rates += f", falling to 0 over the last {training['lr_decay']:.0%} of the steps"
    summary = _history_summary(run_dir) if run_dir else {}
    facts = [
        f"- Data: {config.dataset}",
        f"- Model: {config.model_family}, latent {config.latent_dim}, {h}x{w}x{config.channels}, "
        f"{'EMA generator' if config.extra.get('ema_generator') else 'generator'} exported",
        f"- Steps: {config.train_steps:,} (batch {training.get('batch_size')}, loss {training.get('loss')}, "
        f"{rates}, augment {training.get('augment')}, spectral norm {training.get('spectral_norm')})",
    ]
    if summary:
        facts.append(
            f"- The run's last logged row (step {summary.get('step')}): "
            + ", ".join(f"{k} {v}" for k, v in summary.items() if k != "step")
        )
    chosen = config.extra.get("checkpoint", {})
    probe = chosen.get("validation_probe")
    if chosen:
        facts.append(
            f"- Checkpoint: step {config.train_steps:,}, chosen by {chosen.get('chosen_by')}"
            + (
                " (validation: " + ", ".join(f"{k} {v:g}" for k, v in probe.items() if k != "step") + ")"
                if probe
                else ""
            )
        )
    facts.append(f"- Export parity (onnxruntime vs Keras, 64 seeds): max |diff| {config.parity_max_abs_diff:.2e}")
    facts.append("- Versions: " + ", ".join(f"{k} {v}" for k, v in sorted(config.versions.items())))
    return facts


def augment_section(bundle: Path) -> str:
    """The augmentation study's table and plot, when `python -m training.augment_study --write-cards` put them here."""
    path = bundle / "augment_study.md"
    if not path.is_file():
        return ""
    return "\n## Does synthetic data help a classifier?\n\n" + path.read_text(encoding="utf-8").strip() + "\n"
