"""The files of a Hub Space, assembled from the installed package: nothing is read from a sibling folder.

`space/` in a checkout holds the same requirements and card (the tests check they agree) and a shorter launcher
for a checkout, so a Space made from an installed ganimate and one made from a checkout are the same.
"""

from __future__ import annotations

import importlib.metadata
import importlib.resources

from serving.publish.cards import space_card
from serving.publish.license import license_text

# The app file: finds `serving/` beside it (Hub) or one folder up (checkout) and launches the Space.
LAUNCHER = '''"""ganimate Space: seeded, looping latent animations from ONNX generators, in the browser and through an API.

The app itself is `serving.space` (`build_demo`); this file only finds the package and launches it. In a checkout
`serving/` sits beside `space/`; on the Hub, `python -m serving push-space` uploads it beside this file.
"""

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent if (HERE.parent / "serving").is_dir() else HERE
sys.path.insert(0, str(ROOT))

from serving.space import main  # noqa: E402

if __name__ == "__main__":
    main(HERE, ROOT / "exported")
'''

# What the Space installs: the serving library's and Gradio's distributions, pinned to the versions running now.
SPACE_DISTRIBUTIONS = (
    "numpy",
    "onnxruntime",
    "onnx",
    "protobuf",
    "imageio",
    "imageio-ffmpeg",
    "pillow",
    "threadpoolctl",
    "gradio",
    "gradio_client",
    "mcp",  # Gradio's MCP server (its `gradio[mcp]` extra): the endpoints as tools for AI assistants
    "huggingface_hub",
)

SPACE_METADATA = {
    "title": "ganimate",
    "emoji": "🌀",
    "colorFrom": "indigo",
    "colorTo": "pink",
    "sdk": "gradio",
    "python_version": "3.11",
    "app_file": "app.py",
    "pinned": False,
    "license": "apache-2.0",
    "short_description": "Seeded, looping latent animations from ONNX GAN generators",
    "tags": ["gan", "onnx", "latent-interpolation", "generative-art", "ganimate"],
}


def _kind(config) -> str:
    """What a model draws, in a visitor's words."""
    if "params" in config.outputs:
        return "math-art drawings (" + ", ".join(config.class_names) + ")"
    if list(config.class_names) == [str(i) for i in range(10)]:
        return "handwritten digits"
    return "pictures" + (" of " + ", ".join(config.class_names) if config.class_names else "")


def mcp_url(space_id: str) -> str:
    """The MCP server of a Hub Space: its own address (user-name.hf.space, '_' and '.' as '-'), /gradio_api/mcp/."""
    host = space_id.replace("/", "-").replace("_", "-").replace(".", "-").lower()
    return f"https://{host}.hf.space/gradio_api/mcp/"


def space_body(space_id: str = "", configs: tuple = ()) -> str:
    """The Space card's text, made for the models it serves (`configs`: their GeneratorConfigs, when known) and
    naming the Space (`space_id`) wherever a client needs it; no local address, no tab it does not have."""
    space = space_id or "USER/SPACE"
    if configs:
        served = "; ".join(f"`{c.name}`: {_kind(c)}" for c in configs)
        intro = f"It serves {served}."
        morph = (
            " Conditional models morph between classes along the way." if any(c.conditional for c in configs) else ""
        )
        picture = any(c.encoder is not None for c in configs)
    else:
        intro, morph, picture = (
            "`GANIMATE_MODEL` chooses the models it serves: bundle folders or Hub repos `user/name@revision`, comma-separated.",
            "",
            True,
        )
    lines = [
        "",
        "# ganimate",
        "",
        "Turn a trained generator into living pictures. Pick a model, type a few seeds, and render a looping walk",
        "through its latent space: `cubic`, `slerp` and `lerp` paths through keyframes, or the exactly periodic",
        f"`circle`, `lissajous` and `spiral` orbits.{morph} {intro}",
        "",
        "- **Animate**: keyframe seeds, classes, path, frames, fps, easing, truncation, grid, size and format (GIF,",
        "  WebP, MP4, PNG strip). Every file carries its recipe: drop it back, or paste the recipe, to get the same",
        "  file byte for byte.",
        "- **Sample**: a grid for a range of seeds, downloadable as PNG or as an `.npz` of images and labels.",
        "- **Breed**: candidates from seeds; pick two or more and breed children (their latents crossed and",
        "  mutated), pick again among the children, and open a child's walk in Animate.",
        "- **Explore**: one image that moves along three sliders and between two classes as you drag.",
    ]
    if picture:
        lines.append(
            "- **Your picture**: upload, paste, take or draw a picture; the model finds its latent and animates from it."
        )
    lines += [
        "- **Compare**: the same seeds, classes and path drawn by two models side by side (a model with no partner",
        "  drawing the same classes is shown beside itself at a tamer truncation).",
        "- **About**: the model card and the API.",
        "",
        "The models are ONNX bundles run with onnxruntime on the CPU; this Space never imports TensorFlow.",
        "",
        "## API",
        "",
        "Every parameter has a default, and the default model is the first this Space serves, so each line runs as it is:",
        "",
        "```python",
        "from gradio_client import Client",
        "",
        f'client = Client("{space}")',
        'gif, recipe = client.predict(api_name="/animate")',
        'gif, recipe = client.predict(seeds="1,2,3,4", path="cubic", frames=24, fps=24, loop=True, easing="linear",',
        '                             truncation=1.0, grid="1x1", size=256, format="gif", recipe="", api_name="/animate")',
        'png, npz, summary = client.predict(seeds="0-63", api_name="/sample")',
        'image = client.predict(seed=7, d1=1.5, api_name="/explore")',
        'gif, recipe = client.predict(seeds="1,2,3,4", api_name="/compare")',
        "```",
        "",
        "`client.view_api()` describes every parameter and return value"
        + (
            ". `/project` turns your own picture into a latent: it takes the picture and, optionally, the class it"
            " shows (`class_hint`), and returns five values: the picture beside the model's version of it, the"
            " latent as JSON, an animation (GIF) that starts from it, its recipe and a sentence saying whether it fits."
            if picture
            else "."
        ),
        "`/breed_candidates` and `/breed` are the Breed tab.",
        "",
        "## For AI assistants (MCP)",
        "",
        "The seven endpoints, `animate`, `sample`, `explore`, `compare`, `project`, `breed_candidates` and `breed`,"
        " are tools of an MCP server (Gradio's), with their descriptions and limits:",
        f"`{mcp_url(space)}` (streamable HTTP). A tool call counts toward the same per-visitor limits as the page.",
        "",
    ]
    return "\n".join(lines)


def space_requirements() -> str:
    """requirements.txt for the Space: each distribution pinned to the version installed here."""
    lines = ["# The Space and the serving library: no TensorFlow."]
    lines += [f"{name}=={importlib.metadata.version(name)}" for name in SPACE_DISTRIBUTIONS]
    return "\n".join(lines) + "\n"


def space_readme(model_repo: str = "", revision: str = "", space_id: str = "", configs: tuple = ()) -> str:
    """The Space card; with a model repo it lists the repo, pins `repo@revision` as the model served, and has the
    Hub download that revision's files when it builds the Space (`preload_from_hub`), so the first visitor does
    not wait for them. `space_id` and the served models' `configs` make its text theirs (`space_body`)."""
    metadata = {**SPACE_METADATA, "sdk_version": importlib.metadata.version("gradio")}
    if model_repo:
        files = "config.json,model.onnx,README.md,samples.png"  # encoder.onnx, where there is one, at start
        metadata["preload_from_hub"] = [f"{model_repo} {files} {revision}".strip()]
    return space_card(
        [model_repo] if model_repo else [],
        f"{model_repo}@{revision}" if model_repo else "",
        space_body(space_id, configs),
        metadata,
    )


def serving_sources() -> dict[str, bytes]:
    """Every .py file of the serving package (subpackages included), by its path in the Space repo."""
    files: dict[str, bytes] = {}

    def walk(node, prefix: str) -> None:
        for child in sorted(node.iterdir(), key=lambda c: c.name):
            if child.is_dir() and child.name != "__pycache__":
                walk(child, f"{prefix}{child.name}/")
            elif child.name.endswith(".py"):
                files[f"{prefix}{child.name}"] = child.read_bytes()

    walk(importlib.resources.files("serving"), "serving/")
    return files


def space_files(model_repo: str, revision: str, space_id: str = "", configs: tuple = ()) -> dict[str, bytes]:
    """Everything the Space needs to run as it is: app, the serving package, requirements, card, license."""
    return {
        "app.py": LAUNCHER.encode(),
        "LICENSE": license_text(),
        "requirements.txt": space_requirements().encode(),
        "README.md": space_readme(model_repo, revision, space_id, configs).encode(),
        **serving_sources(),
    }
