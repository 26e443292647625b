"""Repository rules that hold for every change: layering, file size, TensorFlow only where training needs it."""

import subprocess
import sys

import pytest

from tests.conftest import REPO

GUARD = (
    "import builtins, sys\n"
    "real = builtins.__import__\n"
    "def guard(name, *a, **k):\n"
    "    if name.split('.')[0] in ('tensorflow', 'keras', 'tf2onnx'):\n"
    "        raise ImportError(f'{name} imported where it is not needed')\n"
    "    return real(name, *a, **k)\n"
    "builtins.__import__ = guard\n"
)


@pytest.mark.parametrize("args", [["--help"], ["--dry-run", "--out", "runs/x", "--loss", "hinge", "--conditional"]])
def test_trainer_help_and_dry_run_need_no_tensorflow(args):
    code = GUARD + (
        "from training.train import main\n"
        f"try:\n    code = main({args!r})\nexcept SystemExit as exc:\n    code = exc.code\n"
        "print('exit', code)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "exit 0"
    assert ("usage:" in out.stdout) if args == ["--help"] else ('"loss": "hinge"' in out.stdout)


def test_no_source_file_over_400_lines():
    long = {}
    for folder in ("serving", "space", "training", "bench", "tests"):
        for path in (REPO / folder).rglob("*.py"):
            lines = path.read_text(encoding="utf-8").count("\n")
            if lines > 400:
                long[str(path.relative_to(REPO))] = lines
    assert not long, f"split these files (at most 400 lines each): {long}"
