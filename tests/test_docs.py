"""The README and the guides: figures equal their sources, every command they name exists and answers --help."""

import re
import shutil
import subprocess
import sys

import pytest

from bench import figures
from tests.conftest import REPO

PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]


def test_every_quoted_figure_equals_its_source():
    assert figures.check(REPO) == []
    quoted = sum(len(figures.QUOTE.findall(p.read_text(encoding="utf-8"))) for p in PAGES)
    assert quoted >= 20  # the README's table and the guides quote their figures through the marks


def test_a_figure_typed_by_hand_is_caught(tmp_path):
    (tmp_path / "exported" / "m").mkdir(parents=True)
    (tmp_path / "docs").mkdir()
    shutil.copy(REPO / "exported" / "mnist-cdcgan" / "metrics.json", tmp_path / "exported" / "m" / "metrics.json")
    real = figures.source_value("metrics", "m:figures.precision.model", tmp_path)
    (tmp_path / "README.md").write_text(
        f"precision {real + 0.05:.3f}<!-- metrics:m:figures.precision.model -->, "
        f"{real * 100:.1f}<!-- metrics:m:figures.precision.model % -->%, "
        "gone 1.0<!-- metrics:m:figures.nothing.model -->\n"
    )
    problems = figures.check(tmp_path)
    assert len(problems) == 2 and "has no source value" in problems[1] and f"{real:.3f}" in problems[0]
    figures.check(tmp_path, write=True)
    assert figures.check(tmp_path) == [problems[1]]  # fixed from the source; the missing one stays reported


def test_readme_is_a_front_door():
    text = (REPO / "README.md").read_text(encoding="utf-8")
    assert text.startswith("# ganimate\n") and len(text.splitlines()) <= 170
    first_block = re.search(r"```bash\n(.*?)```", text, re.S).group(1)
    assert first_block.startswith("make demo") and "\nmake test" in first_block
    for link in re.findall(r"\]\((docs/[^)#]+)", text):
        assert (REPO / link).is_file(), link


def _modules() -> list[str]:
    found = set()
    for page in PAGES:
        found |= set(re.findall(r"python -m ([a-z_][a-z_.]*)", page.read_text(encoding="utf-8")))
    return sorted(found - {"pip", "venv", "pytest"})


@pytest.mark.slow
@pytest.mark.parametrize("module", _modules())
def test_every_command_the_guides_name_answers_help(module):
    done = subprocess.run(
        [sys.executable, "-m", module, "--help"], cwd=REPO, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0 and "usage" in done.stdout.lower(), done.stderr[-2000:]


def _guide_command(page: str, module: str, marker: str) -> list[str]:
    """The arguments of the `python -m MODULE` command in a guide's bash block that contains `marker`."""
    import shlex

    text = (REPO / "docs" / page).read_text(encoding="utf-8")
    for block in re.findall(r"```bash\n(.*?)```", text, re.S):
        for command in block.replace("\\\n", " ").splitlines():
            if f"-m {module} " in command and marker in command:
                words = shlex.split(command, comments=True)
                return words[words.index(module) + 1 :]
    raise AssertionError(f"no {module} command with {marker} in docs/{page}")


def test_the_guides_digit_recipe_trained_the_shipped_digit_model():
    """docs/training.md's command is the recipe of exported/mnist-cdcgan: same options but the run folder."""
    from training.options import TrainOptions, build_parser, resolve

    guide = resolve(build_parser().parse_args(_guide_command("training.md", "training.train", "mnist-mine")))
    shipped = TrainOptions.from_json((REPO / "exported/mnist-cdcgan/training/options.json").read_text())
    differs = {k: (v, getattr(shipped, k)) for k, v in vars(guide).items() if k != "out" and getattr(shipped, k) != v}
    assert differs == {}
