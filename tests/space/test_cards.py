"""Every snippet in every shipped model card runs as written: extracted from the card, run against the bundle."""

import os
import re
import subprocess
import sys

import pytest

from tests.conftest import REPO

BUNDLES = sorted(p.parent.name for p in (REPO / "exported").glob("*/README.md"))
LOCAL_SPACE = "http://127.0.0.1:7860/"


def python_blocks(card: str) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", card, flags=re.S | re.M)


@pytest.mark.parametrize("bundle", BUNDLES)
def test_card_snippets_run_as_written(bundle, server):
    folder = REPO / "exported" / bundle
    blocks = python_blocks((folder / "README.md").read_text())
    assert len(blocks) >= 2, "a card shows onnxruntime usage and Space API usage"
    for code in blocks:
        assert "USER/SPACE" not in code
        if "gradio_client" in code:
            assert LOCAL_SPACE in code
            code = code.replace(LOCAL_SPACE, server)  # the test's own Space on a free loopback port
        checked = code + "\nprint('snippet ok')\n"
        # PYTHONPATH: what `pip install .` gives a user (a snippet may use ganimate's serving package itself).
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        done = subprocess.run([sys.executable, "-c", checked], cwd=folder, env=env, capture_output=True, text=True,
                              timeout=300)
        assert done.returncode == 0 and done.stdout.strip().endswith("snippet ok"), f"{code}\n{done.stderr[-2000:]}"


@pytest.mark.parametrize("bundle", BUNDLES)
def test_card_metrics_are_a_model_index_of_this_model(bundle):
    import json

    from huggingface_hub import ModelCard

    folder = REPO / "exported" / bundle
    data = ModelCard((folder / "README.md").read_text()).data
    metrics = json.loads((folder / "metrics.json").read_text())
    shown = {r.metric_type: r.metric_value for r in data.eval_results}
    assert shown == {name: fig["model"] for name, fig in metrics["figures"].items()}
    assert data.model_name == bundle
