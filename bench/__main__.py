"""`python -m bench`: every benchmark in one run, each printing figures and ratios measured side by side.

    python -m bench            # prints the tables that bench/RESULTS.md records
"""

import os
import platform
import time

from bench import cold_start, generator_speed, render, train_speed


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()} {platform.release()}"


print(f"# ganimate benchmarks, {time.strftime('%Y-%m-%d')}\n\nMachine: {machine()}\n")
print("## Generator throughput: onnxruntime against Keras\n")
generator_speed.main([])
print("\n## Render latency (R1, R2) against the naive per-frame reference\n")
render.main([])
print("\n## Training throughput against the tutorial-style loop\n")
train_speed.main([])
print("\n## Space cold start\n")
cold_start.main([])
