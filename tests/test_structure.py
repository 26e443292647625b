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


# Files are split where their purposes part, never to meet a length (docs/structure.md's review guidance). A file
# in serving/ or training/ that grows past LONG_FILE lines says in its docstring why it stays one file.
LONG_FILE = 450


def test_a_long_file_says_why_it_stays_whole():
    import ast

    unexplained = {}
    for folder in ("serving", "training"):
        for path in sorted((REPO / folder).rglob("*.py")):
            text = path.read_text(encoding="utf-8")
            lines = text.count("\n")
            if lines > LONG_FILE and "one file:" not in (ast.get_docstring(ast.parse(text)) or ""):
                unexplained[str(path.relative_to(REPO))] = lines
    assert not unexplained, f"split by purpose, or say 'one file: <why>' in the docstring: {unexplained}"


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


# What each part of serving/ may import (besides itself and the standard library): the layers of
# docs/structure.md, lowest first. A package that is not listed may import nothing of serving's.
FOUNDATION = {"serving.errors", "serving.atomic", "serving.inputs"}
# the command line (serving/cli.py and its subcommands in serving/commands/): every part except the Space
COMMANDS = FOUNDATION | {
    f"serving.{p}"
    for p in ("latent", "files", "bundle", "music", "picture", "rendering", "art", "galleries", "publish")
}
ALLOWED = {
    "serving.errors": set(),
    "serving.atomic": {"serving.errors"},
    "serving.inputs": {"serving.errors"},
    "serving.latent": FOUNDATION,
    "serving.art": FOUNDATION,
    "serving.files": FOUNDATION | {"serving.latent"},
    "serving.bundle": FOUNDATION | {"serving.latent", "serving.files"},
    "serving.music": FOUNDATION | {"serving.latent", "serving.files"},
    "serving.picture": FOUNDATION | {"serving.latent", "serving.files", "serving.bundle", "serving.art"},
    "serving.rendering": FOUNDATION
    | {"serving.latent", "serving.files", "serving.bundle", "serving.music", "serving.art"},
    "serving.galleries": FOUNDATION | {"serving.latent", "serving.files", "serving.bundle", "serving.rendering"},
    "serving.publish": FOUNDATION | {"serving.latent", "serving.files", "serving.bundle"},
    "serving.commands": COMMANDS,
    "serving.cli": COMMANDS | {"serving.commands"},
    "serving.__main__": {"serving.cli"},
    "serving": FOUNDATION | {"serving.bundle", "serving.picture", "serving.rendering"},
}
ALLOWED["serving.space"] = set(ALLOWED) - {
    "serving",
    "serving.__main__",
    "serving.cli",
    "serving.commands",
    "serving.space",
}


def _part(module: str) -> str:
    """The part of serving/ a module belongs to: its subpackage, or the top-level module itself."""
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "serving" and len(parts) > 1 else module


def test_each_part_of_serving_imports_only_the_parts_below_it():
    graph = _import_graph()
    wrong = []
    for module, targets in sorted(graph.items()):
        if module.split(".")[0] != "serving":
            continue
        part = _part(module)
        assert part in ALLOWED, f"{part} is a part of serving/ with no import rule: add it to ALLOWED and docs"
        for target in sorted(targets):
            if target.split(".")[0] == "serving" and _part(target) != part and _part(target) not in ALLOWED[part]:
                wrong.append(f"{module} -> {target}")
    assert not wrong, "imports against the layers of docs/structure.md: " + "; ".join(wrong)


def test_import_serving_loads_no_heavy_package():
    code = (
        "import sys, serving\n"
        "heavy = sorted({m.split('.')[0] for m in sys.modules} & {'numpy', 'onnxruntime', 'PIL', 'onnx', 'gradio'})\n"
        "print(heavy)\n"
        "assert serving.Recipe.__name__ == 'Recipe'\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "[]", out.stdout


def test_the_license_ships_with_the_package_and_every_bundle():
    text = (REPO / "LICENSE").read_bytes()
    assert b"Apache License" in text and b"Version 2.0" in text
    assert (REPO / "serving" / "publish" / "LICENSE").read_bytes() == text  # what push and export publish
    for bundle in sorted((REPO / "exported").iterdir()):
        if (bundle / "model.onnx").is_file():
            assert (bundle / "LICENSE").read_bytes() == text, bundle.name
