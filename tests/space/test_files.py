"""The Space's files are assembled from the package; the checkout's space/ folder holds exactly the same."""

from huggingface_hub import SpaceCard

from serving.publish.cards import pinned_model
from serving.publish.space_files import LAUNCHER, space_files, space_readme, space_requirements
from tests.conftest import REPO


def test_checkout_space_folder_matches_the_package():
    assert (
        "from serving.space import main" in LAUNCHER
        and "from serving.space import main" in (REPO / "space" / "app.py").read_text()
    )
    assert _as_installed((REPO / "space" / "README.md").read_text()) == space_readme()
    assert _as_installed((REPO / "space" / "requirements.txt").read_text()) == space_requirements()


def _as_installed(text: str) -> str:
    """A checkout file with its pinned versions read as the ones installed here: the same on the pinned release, and
    on a second Gradio release (make test-gradio-alt) only the version numbers differ, as they should."""
    import importlib.metadata

    pins = [line.split("==") for line in (REPO / "space" / "requirements.txt").read_text().splitlines() if "==" in line]
    for name, version in pins:
        installed = importlib.metadata.version(name)
        text = text.replace(f"{name}=={version}", f"{name}=={installed}")
        if name == "gradio":
            text = text.replace(f"sdk_version: {version}", f"sdk_version: {installed}")
    return text


def test_pushed_card_pins_the_model_and_the_checkout_card_pins_none():
    sha = "a" * 40
    files = space_files("alice/tiny", sha)
    card = SpaceCard(files["README.md"].decode()).data.to_dict()
    assert card["models"] == ["alice/tiny"] and card["app_file"] == "app.py" and card["sdk"] == "gradio"
    assert pinned_model(files["README.md"].decode()) == f"alice/tiny@{sha}"
    assert card["preload_from_hub"] == [f"alice/tiny config.json,model.onnx,README.md,samples.png {sha}"]
    assert pinned_model((REPO / "space" / "README.md").read_text()) == ""
    assert {"serving/space/handlers.py", "serving/space/layout.py", "serving/errors.py"} <= set(files)
    assert not [name for name in files if "__pycache__" in name or name.startswith(("tests/", "training/"))]


def test_the_space_with_no_model_says_so_in_one_line(tmp_path):
    import os
    import subprocess
    import sys

    from serving.publish.space_files import serving_sources

    for name, data in {"app.py": LAUNCHER.encode(), "README.md": space_readme().encode(), **serving_sources()}.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(data)
    env = {k: v for k, v in os.environ.items() if k not in ("GANIMATE_MODEL", "PYTHONPATH")}
    done = subprocess.run(
        [sys.executable, "app.py"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert (
        done.returncode == 2 and done.stderr.strip().startswith("error: no model") and "\n" not in done.stderr.strip()
    )


def test_the_pushed_space_card_is_made_for_its_models():
    from serving.bundle.config import GeneratorConfig

    def card(bundle: str) -> str:
        config = GeneratorConfig.from_json((REPO / "exported" / bundle / "config.json").read_text())
        return space_files(f"alice/{bundle}", "a" * 40, "alice/My_Space", (config,))["README.md"].decode()

    art, digits = card("mathart-params"), card("mnist-cdcgan")
    for text in (art, digits):
        assert 'Client("alice/My_Space")' in text and "https://alice-my-space.hf.space/gradio_api/mcp/" in text
        assert "127.0.0.1" not in text and "localhost" not in text and "Gallery" not in text
        assert "- **Breed**" in text and "`breed_candidates` and `breed`, are tools" in text  # all seven tools
    assert "(`class_hint`), and returns five values" in art  # a model with an encoder: /project
    assert "`mathart-params`: math-art drawings (lissajous, rose" in art and "digit" not in art.lower()
    assert "`mnist-cdcgan`: handwritten digits" in digits
