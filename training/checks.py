"""Quality targets written on the command line ('fcd_ratio<=2,precision>=0.8') and checked against figures:
used by evaluate --check, train --quality and the cards' met/MISSED lines."""

from __future__ import annotations

from serving.errors import InputError


def parse_checks(text: str) -> list[tuple[str, str, float]]:
    """'fcd_ratio<=2,precision>=0.8' -> [('fcd_ratio', '<=', 2.0), ('precision', '>=', 0.8)]."""
    out = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        for op in ("<=", ">="):
            if op in part:
                name, value = part.split(op, 1)
                try:
                    out.append((name.strip(), op, float(value)))
                except ValueError:
                    raise InputError(f"--check {part!r}: {value!r} is not a number") from None
                break
        else:
            raise InputError(f"--check {part!r}: write NAME<=VALUE or NAME>=VALUE")
    return out


def failed_checks(result: dict, checks: list[tuple[str, str, float]]) -> list[str]:
    """One line per check that `result` (a metrics.json) misses; InputError for a figure it does not have."""
    failures = []
    for name, op, limit in checks:
        if name not in result["figures"]:
            raise InputError(f"--check names {name!r}; figures are {', '.join(result['figures'])}")
        value = result["figures"][name]["model"]
        if not (value <= limit if op == "<=" else value >= limit):
            failures.append(f"{name} {value:.4g} is not {op} {limit:g}")
    return failures
