"""Every snippet in every shipped model card runs as written, the way a stranger meets it on the Hub: each bundle is
pushed to a loopback Hub (tests/hub_server.py) with `python -m serving push`, and the published card's snippets run
against that repo id. The first snippet runs as the card's install line promises: without ganimate (its packages
cannot be imported), from an empty folder, saving a picture that must be the model's own."""

import re
import subprocess
import sys

import numpy as np
import pytest

from tests.conftest import REPO

BUNDLES = sorted(p.parent.name for p in (REPO / "exported").glob("*/README.md"))
SPACE = "alice/ganimate"  # the Space each card is pushed naming (push --space)
# The distribution each module a stranger's snippet imports comes from: the card's install line must name it.
DISTRIBUTIONS = {
    "numpy": "numpy",
    "onnxruntime": "onnxruntime",
    "PIL": "pillow",
    "huggingface_hub": "huggingface_hub",
    "gradio_client": "gradio_client",
    "cv2": "opencv-python-headless",
}
STDLIB = {"json", "os", "sys"}
AFTER_FIRST = "# After the first snippet above"  # a snippet that reuses what the first one made
TOKEN = "hf_loopback_card_token"
# What a stranger's Python does not have: ganimate's own packages and its heavy dependencies.
WITHOUT_GANIMATE = (
    "import sys\n"
    "for name in ('serving', 'training', 'tensorflow', 'keras', 'gradio', 'space'):\n"
    "    sys.modules[name] = None  # import fails as in a venv with only the install line\n"
)


def python_blocks(card: str) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", card, flags=re.S | re.M)


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    """A loopback Hub holding every shipped bundle as alice/NAME, pushed by the project's own CLI."""
    from tests.hub_server import hub_env, serve

    server, state, endpoint = serve({TOKEN: "alice"})
    home = tmp_path_factory.mktemp("hf-home")
    env = hub_env(endpoint, home)
    try:
        for name in BUNDLES:
            done = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "serving",
                    "push",
                    "--bundle",
                    str(REPO / "exported" / name),
                    "--repo",
                    f"alice/{name}",
                    "--space",
                    SPACE,
                ],
                env={**env, "HF_TOKEN": TOKEN},
                cwd=REPO,
                capture_output=True,
                text=True,
                timeout=300,
            )
            assert done.returncode == 0, done.stderr
        yield state, env
    finally:
        server.shutdown()


def _published_card(state, name: str) -> str:
    return state.repos[("model", f"alice/{name}")].commits[-1]["files"]["README.md"].decode()


@pytest.mark.parametrize("bundle", BUNDLES)
def test_card_snippets_run_from_the_hub_as_written(bundle, hub, server, tmp_path):

    from serving import Generator
    from serving.latent.latents import one_hot, z_batch

    state, env = hub
    card = _published_card(state, bundle)
    assert "USER/NAME" not in card and f"alice/{bundle}" in card
    assert "USER/SPACE" not in card and "127.0.0.1:7860" not in card and "<!-- space -->" not in card
    install = re.findall(r"^pip install (.+)$", card, flags=re.M)
    assert len(install) == 1, "one install line covers every snippet"
    blocks = python_blocks(card)
    assert len(blocks) >= 2, "a card shows onnxruntime usage and Space API usage"
    stranger_blocks = [b for b in blocks if "from serving" not in b]
    imported = {m for b in stranger_blocks for m in re.findall(r"^(?:from|import) (\w+)", b, flags=re.M)}
    imported |= {m for b in stranger_blocks for m in re.findall(r"^import [\w.]+(?:, (\w+))+", b, flags=re.M)}
    assert imported - STDLIB <= set(DISTRIBUTIONS), imported
    assert {DISTRIBUTIONS[m] for m in imported - STDLIB} <= set(install[0].split()), (imported, install)

    # 1. The stranger's snippet: no ganimate, an empty folder, only the loopback Hub.
    stranger = tmp_path / "stranger"
    stranger.mkdir()
    name, saved = _as_stranger(blocks[0], stranger, env)
    assert name == "samples-1-2-3.png"
    downloaded = _downloaded(env, bundle)
    assert downloaded == {"model.onnx", "config.json"}, downloaded  # no file the snippet does not use
    gen = Generator.from_pretrained(REPO / "exported" / bundle)
    classes = re.search(r"np\.eye\(\d+, dtype=np\.float32\)\[\[([\d, ]+)\]\]", blocks[0])
    y = one_hot([int(c) for c in classes.group(1).split(",")], gen.num_classes) if classes else None
    expected = np.concatenate(list(gen(z_batch([1, 2, 3], gen.latent_dim), y)), axis=1)
    assert saved.shape == expected.squeeze().shape
    assert np.abs(saved.astype(int) - expected.squeeze().astype(int)).max() <= 1  # the model's own three pictures

    # 2. A snippet that goes on from the first (OpenCV on model-static.onnx): the same stranger, the same pictures.
    static = "static_copy" in gen.config.extra  # a bundle with model-static.onnx shows OpenCV code for it
    assert sum(b.startswith(AFTER_FIRST) for b in blocks) == int(static)
    for code in [b for b in blocks[1:] if b.startswith(AFTER_FIRST)]:
        _, saved = _as_stranger(blocks[0] + code, stranger, env)  # the chaotic math-art pixels may move a little
        assert saved.shape == expected.squeeze().shape
        off = np.abs(saved.astype(int) - expected.squeeze().astype(int))
        assert (off <= 1).mean() >= 0.99 and off.mean() < 0.5, (off.mean(), (off <= 1).mean())
        assert _downloaded(env, bundle) == downloaded | {gen.config.extra["static_copy"]["file"]}

    # 3. The rest: the Space API (the test's own Space on loopback) and ganimate's serving package, from the Hub.
    for code in [b for b in blocks[1:] if not b.startswith(AFTER_FIRST)]:
        if "gradio_client" in code:
            assert f'Client("{SPACE}")' in code  # the pushed Space, by its id
            code = code.replace(f'"{SPACE}"', f'"{server}"')  # here: the test's own Space on loopback
        # PYTHONPATH: what the card's note on getting ganimate gives a user (a checkout's root).
        done = subprocess.run(
            [sys.executable, "-c", code + "\nprint('snippet ok')\n"],
            cwd=tmp_path,
            env={**env, "PYTHONPATH": str(REPO)},
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0 and done.stdout.strip().endswith("snippet ok"), f"{code}\n{done.stderr[-2000:]}"
        if "from serving" in code:
            assert "not on PyPI" in card  # ... and the card says where ganimate's code comes from


def _downloaded(env: dict, bundle: str) -> set[str]:
    """The files of alice/<bundle> in the Hub cache of `env`: what the card's snippets downloaded."""
    from pathlib import Path

    snapshots = Path(env["HF_HOME"]) / "hub" / f"models--alice--{bundle}" / "snapshots"
    return {p.relative_to(s).as_posix() for s in snapshots.iterdir() for p in s.rglob("*") if p.is_file()}


def test_a_card_pushed_without_a_space_has_no_space_section():
    from serving.publish.cards import published_card

    card = (REPO / "exported" / "mnist-cdcgan" / "README.md").read_text()
    alone = published_card(card, "alice/mnist-cdcgan")
    assert "gradio_client import" not in alone and "USER/SPACE" not in alone and "<!-- space -->" not in alone
    assert "## Use it in a web page" in alone and "alice/mnist-cdcgan/resolve/main/" in alone


def _as_stranger(code: str, folder, env: dict) -> tuple[str, np.ndarray]:
    """Run a card snippet as the stranger does: ganimate unimportable, isolated from the checkout, in `folder`,
    reaching only the loopback Hub; returns the picture it says it saved (its name and pixels)."""
    from PIL import Image

    done = subprocess.run(
        [sys.executable, "-I", "-c", WITHOUT_GANIMATE + code],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, f"{code}\n{done.stderr[-2000:]}"
    name = re.search(r"saved (\S+\.png) in", done.stdout).group(1)
    return name, np.asarray(Image.open(folder / name))


@pytest.mark.parametrize("bundle", BUNDLES)
def test_card_metadata_is_a_model_index_of_this_model(bundle):
    import json

    from huggingface_hub import ModelCard

    folder = REPO / "exported" / bundle
    data = ModelCard((folder / "README.md").read_text()).data
    metrics = json.loads((folder / "metrics.json").read_text())
    shown = {r.metric_type: r.metric_value for r in data.eval_results}
    assert shown == {name: fig["model"] for name, fig in metrics["figures"].items()}
    assert data.model_name == bundle
    from serving.bundle.config import GeneratorConfig

    conditional = GeneratorConfig.from_json((folder / "config.json").read_text()).conditional
    # The Hub has no class-conditional pipeline tag; "unconditional" on a conditional model would mislabel it.
    assert data.pipeline_tag == (None if conditional else "unconditional-image-generation")
    assert "lower" not in next(r.metric_name for r in data.eval_results if r.metric_type == "kid")
