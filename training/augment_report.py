"""The augmentation study's outputs: a markdown table, a plot, and the section each MNIST bundle's card shows."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

from serving.atomic import write_atomic


def table(results: dict) -> str:
    """Rows: real digits per class (n); columns: real only, then each bundle at each m; cells: mean ± spread."""
    rows = results["rows"]
    columns = [("real only", 0)] + sorted({(r["source"], r["m"]) for r in rows if r["source"] != "real only"})
    head = ["n real / class"] + [c if m == 0 else f"+{m}/class {c}" for c, m in columns]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for n in sorted({r["n"] for r in rows}):
        cells = [str(n)]
        base = next(r for r in rows if r["n"] == n and r["source"] == "real only")["accuracy_mean"]
        for source, m in columns:
            r = next((r for r in rows if r["n"] == n and r["source"] == source and r["m"] == m), None)
            if r is None:
                cells.append("")
                continue
            delta = "" if source == "real only" else f" ({(r['accuracy_mean'] - base) * 100:+.1f})"
            cells.append(f"{r['accuracy_mean']:.3f} ± {r['accuracy_std']:.3f}{delta}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def caption(results: dict) -> str:
    return (
        f"Held-out accuracy on {results['heldout_digits']} real digits of a small CNN (fixed recipe: "
        f"{results['steps']} Adam steps of {results['batch']}) trained on n real digits per class, plus m "
        f"synthetic digits per class from each bundle; mean ± standard deviation over {results['seeds']} seeds, "
        "and in brackets the change in points against real digits alone. `python -m training.augment_study` "
        f"reproduces it ({results['seconds']:.0f} s on the machine that wrote it). Read it with care: the "
        "generators were trained on the whole training split, so at small n their digits carry what the other "
        "real digits taught them; this measures a generator as a stand-in for more data, not free data."
    )


def plot(results: dict) -> bytes:
    """PNG: accuracy against n (log scale), one line per data source and m, with the spread as error bars."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = results["rows"]
    fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=110)
    for source, m in sorted({(r["source"], r["m"]) for r in rows}, key=lambda k: (k[0] != "real only", k)):
        pts = sorted(
            (r["n"], r["accuracy_mean"], r["accuracy_std"]) for r in rows if r["source"] == source and r["m"] == m
        )
        label = "real only" if source == "real only" else f"+{m}/class from {source}"
        ax.errorbar(
            [p[0] for p in pts],
            [p[1] for p in pts],
            yerr=[p[2] for p in pts],
            marker="o",
            capsize=3,
            label=label,
            linewidth=2.5 if source == "real only" else 1.2,
            color="black" if source == "real only" else None,
        )
    ax.set_xscale("log")
    ax.minorticks_off()
    ax.set_xticks(sorted({r["n"] for r in rows}), [str(n) for n in sorted({r["n"] for r in rows})])
    ax.set_xlabel("real digits per class (n)")
    ax.set_ylabel("held-out accuracy")
    ax.set_title("Does adding synthetic digits help?")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


def write_outputs(results: dict, out: Path, bundles: tuple[Path, ...], cards: bool) -> list[Path]:
    """results.json, table.md and plot.png in `out`; with `cards`, the table and plot in each bundle's card."""
    import json

    out.mkdir(parents=True, exist_ok=True)
    text = table(results) + "\n" + caption(results) + "\n"
    written = [
        write_atomic(out / "results.json", (json.dumps(results, indent=2) + "\n").encode()),
        write_atomic(out / "table.md", text.encode()),
        write_atomic(out / "plot.png", plot(results)),
    ]
    if cards:
        from training.card import refresh_card

        for bundle in bundles:
            shutil.copyfile(out / "plot.png", bundle / "augment_study.png")
            write_atomic(bundle / "augment_study.md", (text + "\n![augmentation study](augment_study.png)\n").encode())
            written.append(refresh_card(bundle))
    return written
