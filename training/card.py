"""The bundle's model card (README.md with Hub front matter) and its pictures, rendered from the ONNX model."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np

from serving.atomic import write_atomic
from serving.bundle.config import GeneratorConfig
from serving.bundle.generator import Generator
from serving.files.grid import sample_sheet
from serving.publish.cards import card_text
from serving.rendering.recipe import Recipe
from serving.rendering.render import render

RUN_RECORDS = ("options.json", "history.csv", "loss.png", "dataset.json", "quality.csv", "quality.json")
CARD_RECIPE = dict(seeds=(0, 1, 2, 3), path="cubic", frames=16, size=256, fps=20, loop=True)
PARAMS_CARD_CLASSES = (1, 1, 2, 2)
# A class morph at one fixed z (3 -> 8 -> 3 on MNIST): strokes should bend from one digit into the other.
MORPH_RECIPE = dict(seeds=(7,), path="lerp", easing="ease-in-out", frames=24, size=128, fps=24, loop=True)

INSTALL = "pip install onnxruntime numpy pillow huggingface_hub"  # all the stranger's snippet needs
# Said wherever a card's snippet uses ganimate's own code, which a stranger on the Hub does not have yet.
NEEDS_GANIMATE = (
    "These lines use ganimate's TensorFlow-free `serving` package, which is not on PyPI: take it from "
    "a checkout of the ganimate project (`pip install -r space/requirements.txt` there and run from its "
    "root) or from the files of a Space it published (`serving/` sits beside `app.py`)."
)

_USAGE = '''import json, numpy as np, onnxruntime as ort
from huggingface_hub import snapshot_download
from PIL import Image

def z_from_seed(seed, dim):
    """splitmix64-boxmuller-v1: the portable seed -> latent used by ganimate."""
    M = (1 << 64) - 1
    u = []
    for i in range(1, 2 * ((dim + 1) // 2) + 1):
        x = (seed + i * 0x9E3779B97F4A7C15) & M
        x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & M
        x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & M
        x ^= x >> 31
        u.append(((x >> 11) + 0.5) * 2.0**-53)
    u1, u2 = np.array(u[0::2]), np.array(u[1::2])
    r = np.sqrt(-2 * np.log(u1))
    return np.stack([r * np.cos(2 * np.pi * u2), r * np.sin(2 * np.pi * u2)], 1).ravel()[:dim].astype(np.float32)

folder = snapshot_download("USER/NAME", allow_patterns=["*.onnx", "*.json"])  # this repo, into the Hub cache
config = json.load(open(f"{folder}/config.json"))
session = ort.InferenceSession(f"{folder}/model.onnx", providers=["CPUExecutionProvider"])
z = np.stack([z_from_seed(s, config["latent_dim"]) for s in (1, 2, 3)])
feed = {"z": z}
'''


def _history_summary(run_dir: Path) -> dict:
    path = run_dir / "history.csv"
    if not path.exists():
        return {}
    with open(path, newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["kind"] == "epoch"] or list(csv.DictReader(open(path)))
    if not rows:
        return {}
    last = rows[-1]
    return {k: last[k] for k in last if k not in ("kind",)}


def _better(name: str, figure: dict) -> str:
    """Which way is better. KID is an unbiased estimate of a squared distance: 0 is a perfect match and a value
    below 0 is within its noise, so "lower is better" would rank a negative one above the real data's floor."""
    if name == "kid":
        return "nearer 0 (an unbiased estimate: below 0 is noise)"
    return str(figure.get("better", ""))


def _metrics_table(bundle: Path) -> str:
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


def _morph_line(bundle: Path, config: GeneratorConfig) -> str:
    if not (bundle / "morph.gif").is_file():
        return ""
    a, b = (config.class_names[c % config.num_classes] for c in (3, 8))
    return f"\n\nA class morph at one fixed `z` (seed 7), {a} -> {b} -> {a}:\n\n![class morph](morph.gif)"


def _augment_section(bundle: Path) -> str:
    """The augmentation study's table and plot, when `python -m training.augment_study --write-cards` put them here."""
    path = bundle / "augment_study.md"
    if not path.is_file():
        return ""
    return "\n## Does synthetic data help a classifier?\n\n" + path.read_text(encoding="utf-8").strip() + "\n"


def _quantized_section(config: GeneratorConfig) -> str:
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


def _static_section(config: GeneratorConfig) -> str:
    """model-static.onnx, where the bundle has one (training/static_export.py): what it is for, and OpenCV code."""
    copy = config.extra.get("static_copy")
    if not copy:
        return ""
    fit = copy["agreement"]
    return f"""
## Other runtimes: OpenCV

`model.onnx` draws each picture with its own family only, so shapes inside the graph depend on the classes
asked for; OpenCV's DNN module (4.x) fixes every shape when it loads a graph and cannot run it.
`{copy["file"]}` (sha256 `{copy["sha256"]}`) draws the same pictures with every shape fixed:
batch {copy["batch"]}, every family drawn and the picture's own kept, so five renders per picture instead of one.
Against `model.onnx` in onnxruntime on {fit["rows"]} rows (every family, and morphs part-way between two): params max
|diff| {fit["params_max_abs_diff"]:.1e}, {fit["share_within_1e-3"]:.3%} of pixels within 1e-3, mean |diff|
{fit["mean_abs_diff"]:.1e} (the chaotic Julia and Clifford pixels move most).

```python
# After the first snippet above (it made `folder` and `feed`); pip install opencv-python-headless
import cv2
net = cv2.dnn.readNetFromONNX(f"{{folder}}/{copy["file"]}")
drawn = []
for i in range(len(feed["z"])):                     # one picture at a time: the batch is fixed at {copy["batch"]}
    net.setInput(feed["z"][i : i + 1], "z")
    net.setInput(feed["y"][i : i + 1], "y")
    drawn.append(net.forward("images")[0])
row = (np.concatenate(drawn, axis=1) * 255 + 0.5).astype(np.uint8)
Image.fromarray(row).save("samples-1-2-3-opencv.png")
print("saved samples-1-2-3-opencv.png in", __import__("os").getcwd())
```
"""


def _what_it_is(config: GeneratorConfig, kind: str) -> str:
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


def _params_row(config: GeneratorConfig) -> str:
    if "params" not in config.outputs:
        return ""
    return (
        f"| `params` | float32 `[batch, {len(config.param_names)}]` | the parameter vectors that were drawn, "
        "in the ranges below |\n"
    )


def _params_section(config: GeneratorConfig) -> str:
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


def _directions_section(config: GeneratorConfig) -> str:
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


def _eval_results(bundle: Path, config: GeneratorConfig, dataset_tag: str | None) -> list:
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


def _projection_figures(report: dict, name: str) -> str:
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
            "A curve drawn by hand is off the model's manifold: what comes back is the nearest picture the model "
            "draws, shown above.\n"
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


def _projection_section(bundle: Path, config: GeneratorConfig) -> str:
    """'Your own picture': what encoder.onnx is, its figures on test (from metrics.json) and how to call it."""
    if config.encoder is None:
        return ""
    metrics_path = bundle / "metrics.json"
    report = json.loads(metrics_path.read_text()).get("projection") if metrics_path.is_file() else None
    name = config.name
    outputs = ", ".join(f"`{o}`" for o in config.encoder["outputs"])
    how = (
        "ink on paper inverted, fitted into the frame on a dark ground"
        if config.channels == 3
        else "ink on paper inverted, uneven light taken out, cropped and centred as the data was"
    )
    h, w = config.image_size
    lines = [
        f"""
## Your own picture (encoder.onnx)

`encoder.onnx` (sha256 `{config.encoder["sha256"]}`) was trained against this very generator, which it leaves
unchanged: a picture `image` float32 `[batch, {h}, {w}, {config.channels}]` in [0, 1], light strokes on a dark
ground as the generator draws them, gives {outputs}. `python -m serving project` prepares any picture first
({how}) and refines the encoder's answer on the generator; the recipe field `latents` makes the picture a keyframe.
"""
    ]
    if (bundle / "projection.png").is_file():
        lines.append(
            "![a picture a person would send, as the model saw it, and the model's version of it](projection.png) "
            "![an animation that starts from the drawn picture](projection.gif)\n"
        )
    if report:
        lines.append(_projection_figures(report, name))
    lines.append(
        """```bash
python -m serving project --bundle USER/NAME --image my-picture.png --preview seen.png      # the latent as JSON
python -m serving render --bundle USER/NAME --from-image my-picture.png --seeds 5,6,7 --out mine.gif
```

"""
        + NEEDS_GANIMATE
        + "\n"
    )
    return "\n".join(lines)


AIMS_TEXT = {"class": ">= 90%", "random": ">= 80%"}


def _music_section(config: GeneratorConfig) -> str:
    """'A walk that follows a song': the recipe field `audio`, and what loudness may move on this model."""
    named = [d["name"] for d in (config.extra.get("directions") or [])]
    react = (
        f"`--react {named[0]}` (or {', '.join(named[1:])}) moves along a named direction instead"
        if named
        else "`--react none` keeps it still"
    )
    return f"""
## A walk that follows a song

With ganimate's serving library a walk can follow a WAV, MP3, OGG or FLAC: the picture moves on the hits, reaches
the next keyframe every `--beats-per-key` beats and loudness pulls it toward the average picture (truncation);
{react}. The MP4 carries the song, and the same recipe with the same song gives the same bytes:

```bash
python -m serving render --bundle USER/NAME --audio song.wav --seeds 1,2,3,4 --format mp4 --out video.mp4
```

{NEEDS_GANIMATE}
"""


def _met(report: dict, key: str) -> str:
    return "met" if report[key] >= report["aims"][key] else "MISSED"


def _snippet_classes(num_classes: int) -> list[int]:
    wanted = [3, 8, 0, 5] if num_classes >= 9 else [1, 2, 3, 4]
    return list(dict.fromkeys(c % num_classes for c in wanted))


def _onnx_usage(config: GeneratorConfig, classes: list[int]) -> str:
    """The stranger's snippet: download, three seeds (of `classes`), one saved picture; numpy and onnxruntime only."""
    usage = _USAGE + (
        f'feed["y"] = np.eye({config.num_classes}, dtype=np.float32)[{classes}]\n' if config.conditional else ""
    )
    usage += 'images = session.run(["images"], feed)[0]          # [3, h, w, c] in [0, 1]\n'
    usage += "uint8 = (images * 255 + 0.5).astype(np.uint8)\n"
    usage += "row = np.concatenate(list(uint8), axis=1)           # the three side by side\n"
    usage += 'Image.fromarray(row[..., 0] if row.shape[-1] == 1 else row).save("samples-1-2-3.png")\n'
    usage += 'print("saved samples-1-2-3.png in", __import__("os").getcwd())\n'
    if "params" in config.outputs:
        usage += 'params = session.run(["params"], feed)[0]          # [3, P]: what was drawn, in real units\n'
    return usage


def _training_facts(config: GeneratorConfig, run_dir: Path | None) -> list[str]:
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
    results = _eval_results(bundle, config, dataset_tag)
    if results:  # the Hub shows these as the model's evaluation (model-index)
        metadata.update(model_name=config.name, eval_results=results)
    return metadata


def _contract_section(config: GeneratorConfig) -> str:
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


def _usage_sections(config: GeneratorConfig) -> str:
    """How a stranger runs it: onnxruntime and numpy alone, the Space's API, the web page."""
    # Four different classes for the snippets (3, 8, 0, 5 on MNIST; the first four of a smaller model).
    shown = _snippet_classes(config.num_classes) if config.conditional else []
    usage = _onnx_usage(config, shown[:3])
    card_classes = ",".join(map(str, shown))
    extra = f'classes="{card_classes}", ' if config.conditional else ""
    return f"""## Use it with onnxruntime and numpy only

Nothing of ganimate is needed: install four packages, download this repository's files, draw seeds 1, 2 and 3 and
save them as one picture.

```bash
{INSTALL}
```

```python
{usage}```

## Use it through the Space API

```python
from gradio_client import Client
client = Client("http://127.0.0.1:7860/")  # `make demo`; or the id of a Space serving this model
gif_path, recipe = client.predict(model="{config.name}", seeds="1,2,3,4", {extra}path="cubic", api_name="/animate")
```

## Use it in a web page

ganimate's static page (`web/` in the project) runs this model in the browser with onnxruntime-web:
`web/index.html?bundle=https://huggingface.co/USER/NAME/resolve/main/&seeds=1,2,3,4` plays a looping interpolation,
with `z(seed)` computed in JavaScript exactly as above."""


def model_card(config: GeneratorConfig, run_dir: Path | None, bundle: Path) -> str:
    """The README.md text: front matter, description, I/O contract, usage, training facts, metrics, pictures."""
    h, w = config.image_size
    kind = "conditional " if config.conditional else ""
    classes = f" Classes: {', '.join(config.class_names)}." if config.conditional else ""
    facts = _training_facts(config, run_dir)
    return card_text(
        _card_metadata(config, bundle),
        f"""
# {config.name}

{_what_it_is(config, kind)}: give it a
latent `z` (and a class), get a {h}x{w} {"RGB" if config.channels == 3 else "grayscale"} image.{classes}
Seeds are portable: seed `s` always gives the same `z` in any language (algorithm `{config.latent_algorithm}`).

![samples](samples.png) ![interpolation](interpolation.gif){_morph_line(bundle, config)}

{_contract_section(config)}

{_usage_sections(config)}

## Training

{chr(10).join(facts)}

Training records are in `training/` (options, per-step history, loss curves).
{_quantized_section(config)}{_static_section(config)}{_params_section(config)}{_directions_section(config)}{_projection_section(bundle, config)}{_music_section(config)}
## Metrics

{_metrics_table(bundle)}{_augment_section(bundle)}""",
    )


def write_card_assets(bundle: Path, config: GeneratorConfig, run_dir: Path | None) -> None:
    """samples.png and interpolation.gif from the exported ONNX model, the run's records, then README.md."""
    generator = Generator.from_pretrained(bundle)
    draws = "params" in config.outputs

    def generate(z, y):
        images = generator(z, y)
        if draws:  # 256x256 drawings: the sheet shows them at half size (a 2x2 box filter) to stay light
            n, h, w, c = images.shape
            images = images.reshape(n, h // 2, 2, w // 2, 2, c).mean(axis=(2, 4)).round().astype(np.uint8)
        return images

    sample_sheet(generate, config.latent_dim, list(config.class_names)).save(bundle / "samples.png")
    classes = tuple(c % config.num_classes for c in (3, 8, 0, 5)) if config.conditional else None
    if draws:
        classes = PARAMS_CARD_CLASSES  # a rose that morphs, a fade through the background, a spirograph that morphs
    recipe = Recipe(**CARD_RECIPE, classes=classes, bundle_sha256=config.sha256)
    (bundle / "interpolation.gif").write_bytes(render(generator, recipe))
    if config.conditional and not draws:
        morph = Recipe(
            **MORPH_RECIPE, classes=tuple(c % config.num_classes for c in (3, 8)), bundle_sha256=config.sha256
        )
        (bundle / "morph.gif").write_bytes(render(generator, morph))
    if run_dir is not None:
        (bundle / "training").mkdir(exist_ok=True)
        for name in RUN_RECORDS:
            if (run_dir / name).exists():
                shutil.copy2(run_dir / name, bundle / "training" / name)
    (bundle / "README.md").write_text(model_card(config, run_dir, bundle))


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
