"""Space cold start: a fresh Python process from import to models loaded and the demo built to the first rendered file.

    python -m bench.cold_start [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
PROBE = """
import json, sys, time
t0 = time.perf_counter()
from pathlib import Path
from serving.space import model_sources, start
demo = start(model_sources("", None, Path("exported")))  # what `python space/app.py` runs before it serves
t1 = time.perf_counter()
app = demo.ganimate_app
app.animate()
t2 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "first_render_s": t2 - t1, "total_s": t2 - t0, "models": list(app.models)}))
"""


def measure(repeats: int = 3) -> dict:
    runs = []
    for _ in range(repeats):
        out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, timeout=600)
        if out.returncode != 0:
            raise RuntimeError(out.stderr[-2000:])
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return {k: float(np.median([r[k] for r in runs])) for k in ("import_s", "first_render_s", "total_s")} | {
        "models": runs[0]["models"], "repeats": repeats}


def table(r: dict) -> str:
    return ("| import (models loaded) s | first default render s | cold start total s | models |\n|---|---|---|---|\n"
            f"| {r['import_s']:.2f} | {r['first_render_s']:.2f} | {r['total_s']:.2f} | {', '.join(r['models'])} |\n"
            f"\nMedian of {r['repeats']} fresh processes.")


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(prog="python -m bench.cold_start", description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=3)
    r = measure(p.parse_args(argv).repeats)
    print(table(r))
    return r


if __name__ == "__main__":
    main()
