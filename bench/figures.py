"""Figures quoted in the README, docs and cards come from files: this keeps them equal.

A quoted figure is written with its source right after it, in an HTML comment that renders as nothing:

    FCD 1.98<!-- metrics:mnist-cdcgan:figures.fcd_ratio.model -->x its floor
    97.4<!-- metrics:mnist-cdcgan:figures.class_accuracy.model % -->%
    110<!-- bench:render.R1.ours_p50_ms --> ms

`metrics:BUNDLE:PATH` is a dotted path into `exported/BUNDLE/metrics.json`, `bench:KEY` a key of
`bench/results.json`, `quality:BUNDLE:PATH` a path into `exported/BUNDLE/training/quality.json`. A trailing `%`
means the value times 100. The number is compared rounded to as many decimals as it shows.

    python -m bench.figures            # check every quoted figure; exit 1 naming each that differs
    python -m bench.figures --write    # rewrite every quoted figure from its source
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from serving.atomic import write_atomic

ROOT = Path(__file__).resolve().parent.parent
QUOTE = re.compile(r"(-?\d[\d,]*(?:\.\d+)?)<!-- (metrics|bench|quality):(\S+?)( %)? -->")


def documents(root: Path = ROOT) -> list[Path]:
    """Every page that may quote a figure: the README, the guides, the bundle cards."""
    return [root / "README.md", *sorted((root / "docs").glob("*.md")), *sorted((root / "exported").glob("*/README.md"))]


def source_value(kind: str, ref: str, root: Path = ROOT) -> float:
    """The value a quote names; KeyError with the reference when it is missing."""
    if kind == "bench":
        results = json.loads((root / "bench" / "results.json").read_text())
        return float(results[ref]["value"])
    bundle, _, path = ref.partition(":")
    file = root / "exported" / bundle / ("metrics.json" if kind == "metrics" else "training/quality.json")
    node = json.loads(file.read_text())
    for part in path.split("."):
        node = node[part]
    return float(node)


def _shown(value: float, text: str, percent: bool) -> str:
    """`value` written the way `text` is: the same decimals, thousands separators where it has them."""
    v = value * 100 if percent else value
    decimals = len(text.split(".")[1]) if "." in text else 0
    return f"{v:,.{decimals}f}" if "," in text else f"{v:.{decimals}f}"


def check(root: Path = ROOT, write: bool = False) -> list[str]:
    """Every quote that differs from its source (or whose source is missing), as 'file: shown != source'."""
    problems = []
    for doc in documents(root):
        if not doc.is_file():
            continue
        text = doc.read_text(encoding="utf-8")
        name = str(doc.relative_to(root))

        def fix(m: re.Match, name: str = name) -> str:
            shown, kind, ref, percent = m.group(1), m.group(2), m.group(3), bool(m.group(4))
            try:
                want = _shown(source_value(kind, ref, root), shown, percent)
            except (KeyError, FileNotFoundError, ValueError, TypeError):
                problems.append(f"{name}: {kind}:{ref} has no source value")
                return m.group(0)
            if want != shown:
                problems.append(f"{name}: {shown} != {want} ({kind}:{ref})")
            return m.group(0).replace(shown, want, 1)

        new = QUOTE.sub(fix, text)
        if write and new != text:
            write_atomic(doc, new.encode("utf-8"))
    return problems


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.figures", description=__doc__.splitlines()[0])
    p.add_argument("--write", action="store_true", help="rewrite every quoted figure from its source")
    args = p.parse_args(argv)
    problems = check(write=args.write)
    for line in problems:
        print(("updated " if args.write else "") + line, file=sys.stderr if not args.write else sys.stdout)
    missing = [line for line in problems if line.endswith("has no source value")]
    return 1 if missing or (problems and not args.write) else 0


if __name__ == "__main__":
    sys.exit(main())
