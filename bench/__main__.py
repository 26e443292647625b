"""`python -m bench`: every benchmark in one run, each printing figures and ratios measured side by side.

    python -m bench            # the tables bench/RESULTS.md records (about 10 minutes on 2 cores)
    python -m bench --quick    # a one-minute subset: R1 and M1 renders, one generator, a short training loop
"""

import argparse
import os
import platform
import time


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()} {platform.release()}"


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0],
                                epilog="Each benchmark also runs alone: python -m bench.render --help, "
                                       "bench.generator_speed, bench.train_speed, bench.space_load, bench.cold_start, "
                                       "bench.gallery_shards.")
    p.add_argument("--quick", action="store_true", help="a one-minute subset (R1, M1, one generator, 20 steps)")
    args = p.parse_args(argv)
    # after --help: they import numpy and more
    from bench import cold_start, gallery_shards, generator_speed, render, space_load, train_speed

    print(f"# ganimate benchmarks, {time.strftime('%Y-%m-%d')}{' (quick)' if args.quick else ''}\n\n"
          f"Machine: {machine()}\n")
    print("## Generator throughput: onnxruntime against Keras\n")
    generator_speed.main(["--bundle", "exported/mnist-cdcgan"] if args.quick else [])
    print("\n## Render latency (R1, R2) against the naive per-frame reference\n")
    if args.quick:
        for request in ("R1", "M1"):
            render.main(["--only", request, "--repeats", "3"])
    else:
        render.main([])
    print("\n## Training throughput against the tutorial-style loop\n")
    train_speed.main(["--steps", "20", "--quick"] if args.quick else [])
    if not args.quick:
        print("\n## The Space under load\n")
        space_load.main([])
        print("\n## Space cold start\n")
        cold_start.main([])
        print("\n## Gallery shards: SQLite and PostgreSQL\n")
        gallery_shards.main([])


main()
