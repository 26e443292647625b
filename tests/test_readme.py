"""The README's quick path, run as written: its ```bash quick blocks, extracted (not copied) and run in order."""

import os
import re
import shutil
import subprocess

import pytest
from PIL import Image

from tests.conftest import REPO


def quick_blocks(text: str) -> list[str]:
    return re.findall(r"^```bash quick\n(.*?)^```", text, flags=re.S | re.M)


@pytest.mark.slow
def test_readme_quick_blocks_run_as_written(tmp_path):
    blocks = quick_blocks((REPO / "README.md").read_text())
    assert blocks, "the README has no ```bash quick block"
    work = tmp_path / "clone"  # a copy of the tracked files, so the commands write nothing into the checkout
    files = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True).stdout.split()
    for name in files:
        (work / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, work / name)
    for venv in (".venv", ".venv-space"):
        if (REPO / venv).is_dir():
            (work / venv).symlink_to(REPO / venv)
    env = {**os.environ, "GANIMATE_CACHE": str(tmp_path / "cache")}
    for block in blocks:
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", block], cwd=work, env=env, capture_output=True, text=True, timeout=900
        )
        assert done.returncode == 0, f"README block failed:\n{block}\n{done.stderr[-3000:]}"
    for gif in ("first.gif", "quick.gif"):
        with Image.open(work / gif) as im:
            assert im.format == "GIF" and im.n_frames == 96
    assert (work / "exported" / "quick" / "metrics.json").exists() is False
    assert (work / "runs" / "quick" / "history.csv").exists()
