"""Space cold start: `import gradio` alone beside the whole start to a server that answers, in fresh processes.

The Space cannot start faster than Gradio imports, so the figure that is ours is what comes after it: the whole
start (models loaded and verified, the demo built, the server answering its page and its API on loopback) minus
`import gradio` alone, each the median of fresh processes measured side by side in one run.

    python -m bench.cold_start [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

IMPORT_ONLY = """
import json, time
t0 = time.perf_counter()
import gradio
print(json.dumps({"import_gradio_s": time.perf_counter() - t0}))
"""

# What `python space/app.py` does before it serves (serving.space.main), then HTTP until the page and the API
# answer. (The opening animation is rendered while the demo is built, so the first visitor waits for nothing.)
WHOLE_START = """
import json, time, urllib.request
t0 = time.perf_counter()
from pathlib import Path
from serving.space import model_sources, start
from serving.space.layout import launch_options
demo = start(model_sources("", None, Path("exported")))
demo.launch(server_name="127.0.0.1", prevent_thread_lock=True, quiet=True,
            **launch_options(demo.ganimate_app))
from serving.space.pending import warm
warming = warm(demo.ganimate_app.models)  # as main() does: the other sessions build while the page is served
base = demo.local_url.rstrip("/")
for path in ("/", "/gradio_api/info"):
    for _ in range(600):  # bounded: 60 s at most
        try:
            with urllib.request.urlopen(base + path, timeout=5) as answer:
                if answer.status == 200:
                    break
        except OSError:
            time.sleep(0.1)
ready = time.perf_counter()
models = list(demo.ganimate_app.models)
with urllib.request.urlopen(base + "/", timeout=60) as answer:  # a second page while the rest load
    answer.read()
if warming is not None:
    warming.join()  # never exit while a session is half built
demo.close()
print(json.dumps({"ready_s": ready - t0, "models": models}))
"""


def _fresh(code: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "GRADIO_ANALYTICS_ENABLED": "False"},
    )
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-2000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure(repeats: int = 3) -> dict:
    imports, starts = [], []
    for _ in range(repeats):  # alternated, so a busy moment of the machine falls on both
        imports.append(_fresh(IMPORT_ONLY))
        starts.append(_fresh(WHOLE_START))
    import_s = float(np.median([r["import_gradio_s"] for r in imports]))
    ready_s = float(np.median([r["ready_s"] for r in starts]))
    return {
        "import_gradio_s": import_s,
        "ready_s": ready_s,
        "after_import_s": ready_s - import_s,
        "models": starts[0]["models"],
        "repeats": repeats,
    }


def table(r: dict) -> str:
    return (
        "| `import gradio` alone s | whole start, page and API answering s | start after the import s | "
        "models |\n|---|---|---|---|\n"
        f"| {r['import_gradio_s']:.2f} | {r['ready_s']:.2f} | {r['after_import_s']:.2f} | "
        f"{', '.join(r['models'])} |\n"
        f"\nMedian of {r['repeats']} fresh processes of each, alternated."
    )


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(prog="python -m bench.cold_start", description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=3)
    r = measure(p.parse_args(argv).repeats)
    print(table(r))
    return r


if __name__ == "__main__":
    main()
