"""How a stranger runs the model, as the card tells it: the onnxruntime-and-numpy snippet, the Space API, the
web page, the fixed-shape copy for OpenCV, a picture of one's own through encoder.onnx, and a walk that follows a song.
Test `tests/space/test_cards.py` runs these snippets as written."""

from __future__ import annotations

import json
from pathlib import Path

from serving.bundle.config import GeneratorConfig
from serving.publish.cards import SPACE_END, SPACE_PLACEHOLDER, SPACE_START
from training.card_figures import drawings_figures, projection_figures

# Every package the card's snippets import (OpenCV only where the card shows model-static.onnx), in one line.
INSTALL = "pip install onnxruntime numpy pillow huggingface_hub gradio_client"
OPENCV = "opencv-python-headless"

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

folder = snapshot_download("USER/NAME", allow_patterns=["model.onnx", "config.json"])  # only what is used here
config = json.load(open(f"{folder}/config.json"))
session = ort.InferenceSession(f"{folder}/model.onnx", providers=["CPUExecutionProvider"])
z = np.stack([z_from_seed(s, config["latent_dim"]) for s in (1, 2, 3)])
feed = {"z": z}
'''


def _snippet_classes(num_classes: int) -> list[int]:
    """Up to four different classes for the snippets to ask for."""
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


def install_line(config: GeneratorConfig) -> str:
    """The one install line that covers every snippet of this card."""
    return INSTALL + (f" {OPENCV}" if config.extra.get("static_copy") else "")


def usage_sections(config: GeneratorConfig) -> str:
    """How a stranger runs it: onnxruntime and numpy alone, the Space's API, the web page."""
    # Four different classes for the snippets (3, 8, 0, 5 on MNIST; the first four of a smaller model).
    shown = _snippet_classes(config.num_classes) if config.conditional else []
    usage = _onnx_usage(config, shown[:3])
    card_classes = ",".join(map(str, shown))
    extra = f'classes="{card_classes}", ' if config.conditional else ""
    return f"""## Use it with onnxruntime and numpy only

Nothing of ganimate is needed: install these packages (every snippet on this card needs no others), download
`model.onnx` and `config.json`, draw seeds 1, 2 and 3 and save them as one picture.

```bash
{install_line(config)}
```

```python
{usage}```

{SPACE_START}
## Use it through the Space API

The Space [{SPACE_PLACEHOLDER}](https://huggingface.co/spaces/{SPACE_PLACEHOLDER}) serves this model:

```python
from gradio_client import Client
client = Client("{SPACE_PLACEHOLDER}")
gif_path, recipe = client.predict(model="{config.name}", seeds="1,2,3,4", {extra}path="cubic", api_name="/animate")
```
{SPACE_END}

## Use it in a web page

ganimate's static page (`web/` in the project) runs this model in the browser with onnxruntime-web, with `z(seed)`
computed in JavaScript exactly as above. It is served from a checkout of the project:

```bash
make web && python web/serve.py 8000
# open http://127.0.0.1:8000/web/?bundle=https://huggingface.co/USER/NAME/resolve/main/&seeds=1,2,3,4
```"""


def static_section(config: GeneratorConfig) -> str:
    """model-static.onnx, where the bundle has one (training/static_export.py): what it is for, and OpenCV code."""
    copy = config.extra.get("static_copy")
    if not copy:
        return ""
    fit = copy["agreement"]
    return f"""
## Other runtimes: OpenCV

`model.onnx` draws each picture with its own family only, so shapes inside the graph depend on the classes
asked for; OpenCV's DNN module (4.x) refuses it as it loads it (first at a multi-axis Unsqueeze), and it fixes every
shape when it loads a graph, which those shapes cannot have.
`{copy["file"]}` (sha256 `{copy["sha256"]}`) draws the same pictures with every shape fixed:
batch {copy["batch"]}, every family drawn and the picture's own kept, so five renders per picture instead of one.
Against `model.onnx` in onnxruntime on {fit["rows"]} rows (every family, and morphs part-way between two): params max
|diff| {fit["params_max_abs_diff"]:.1e}, {fit["share_within_1e-3"]:.3%} of pixels within 1e-3, mean |diff|
{fit["mean_abs_diff"]:.1e} (the chaotic Julia and Clifford pixels move most).

```python
# After the first snippet above (it made `feed`)
import cv2
from huggingface_hub import hf_hub_download
net = cv2.dnn.readNetFromONNX(hf_hub_download("USER/NAME", "{copy["file"]}"))
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


def projection_section(bundle: Path, config: GeneratorConfig) -> str:
    """'Your own picture': what encoder.onnx is, its figures on test (from metrics.json) and how to call it."""
    if config.encoder is None:
        return ""
    metrics_path = bundle / "metrics.json"
    metrics = json.loads(metrics_path.read_text()) if metrics_path.is_file() else {}
    report = metrics.get("projection")
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
        lines.append(projection_figures(report, name))
    if metrics.get("drawings"):
        lines.append(drawings_figures(metrics["drawings"], name))
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


def music_section(config: GeneratorConfig) -> str:
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
