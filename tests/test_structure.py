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


# Functions a person can hold in their head: about 60 lines at most. A longer one is cut into named parts
# (set-up, loop, finish; one function per tab). Files are split by purpose, never by size.
FUNCTION_LINES = 62


def test_no_function_grows_past_its_limit():
    import ast

    long = {}
    for folder in ("serving", "space", "training", "bench", "tests"):
        for path in sorted((REPO / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    key = f"{path.relative_to(REPO)}::{node.name}"
                    lines = node.end_lineno - node.lineno + 1
                    if lines > FUNCTION_LINES:
                        long[key] = lines
    assert not long, f"shorten these functions (about 60 lines at most): {long}"


def _import_graph() -> dict[str, set[str]]:
    """module -> the project modules it imports, at the top or inside a function (both make a circle)."""
    import ast

    paths = {}
    for folder in ("serving", "training", "space", "bench"):
        for path in (REPO / folder).rglob("*.py"):
            name = ".".join(path.relative_to(REPO).with_suffix("").parts)
            paths[name.removesuffix(".__init__")] = path
    graph = {}
    for name, path in paths.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        edges = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(parts + ([node.module] if node.module else []))
                targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in paths else base for alias in node.names]
            else:
                continue
            for target in targets:
                while target and target not in paths:  # a name inside a module: the module
                    target = target.rpartition(".")[0]
                if target and target != name:
                    edges.add(target)
        graph[name] = edges
    return graph


def test_no_import_circles():
    graph = _import_graph()
    circles, state = [], {}  # state: 1 on the current path, 2 done

    def visit(name: str, path: list[str]) -> None:
        state[name] = 1
        for target in sorted(graph[name]):
            if state.get(target) == 1:
                circles.append(" -> ".join(path[path.index(target) :] + [target]))
            elif target not in state:
                visit(target, path + [target])
        state[name] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert not circles, "import circles (move the shared part into a module both import): " + "; ".join(circles)
