"""`python -m bench`: every benchmark in one run, each printing figures and ratios measured side by side.

python -m bench            # the tables bench/RESULTS.md records (about 10 minutes on 2 cores)
python -m bench --quick    # a one-minute subset: R1 and M1 renders, one generator, a short training loop
"""

import argparse
import time

from bench.results import machine


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(
        prog="python -m bench",
        description=__doc__.splitlines()[0],
        epilog="Each benchmark also runs alone: python -m bench.render --help, "
        "bench.generator_speed, bench.train_speed, bench.space_load, bench.hosted_load, bench.cold_start, "
        "bench.gallery_shards.",
    )
    p.add_argument("--quick", action="store_true", help="a one-minute subset (R1, M1, one generator, 20 steps)")
    args = p.parse_args(argv)
    # after --help: they import numpy and more
    from bench import generator_speed, render, train_speed
    from bench.results import RESULTS, TABLE, record, write_table

    print(
        f"# ganimate benchmarks, {time.strftime('%Y-%m-%d')}{' (quick)' if args.quick else ''}\n\n"
        f"Machine: {machine()}\n"
    )
    figures: dict[str, tuple[float, str]] = {}
    print("## Generator throughput: onnxruntime against Keras\n")
    generator_speed.main(["--bundle", "exported/mnist-cdcgan"] if args.quick else [])
    print("\n## Render latency (R1, R2) against the naive per-frame reference\n")
    if args.quick:
        for request in ("R1", "M1"):
            render.main(["--only", request, "--repeats", "3"])
    else:
        for row in render.main([]):
            for key in ("ours_p50_ms", "ours_p95_ms", "naive_p50_ms", "speedup_p50", "floor_ms", "x_floor_p50"):
                figures[f"render.{row['request']}.{key}"] = (row[key], "ms" if key.endswith("_ms") else "x")
    print("\n## Training throughput against the tutorial-style loop\n")
    speeds = train_speed.main(["--steps", "20", "--quick", "--rounds", "1"] if args.quick else [])
    if not args.quick:
        figures["train.feature_for_feature.x"] = (speeds.pop(train_speed.FEATURE_FOR_FEATURE), "x")
        figures["train.feature_for_feature_classic.x"] = (speeds.pop(train_speed.FEATURE_FOR_FEATURE_CLASSIC), "x")
        for label, ips in speeds.items():
            key = "".join(c if c.isalnum() else "_" for c in label.lower()).strip("_")
            figures[f"train.{key}.images_per_s"] = (ips, "images/s")
            figures[f"train.{key}.x_tutorial"] = (ips / speeds[train_speed.TUTORIAL], "x")
        figures.update(_service_figures())
        # Only the full run writes the results file that README, docs and cards quote.
        record(figures, "python -m bench", machine())
        write_table()
        print(f"\nwrote {RESULTS} and {TABLE}")


def _service_figures() -> dict[str, tuple[float, str]]:
    """The full run's figures where people wait: the Space under load and at start, music, projection, formats."""
    from bench import cold_start, format_error, gallery_shards, hosted_load, music, projection, space_load
    from bench.proxy import nginx

    figures = {}
    print("\n## The Space under load\n")
    figures.update(_space_figures(space_load.main([])))
    print("\n## The Space as it is hosted: behind nginx, a visitor per address\n")
    if nginx() is not None:
        figures.update(hosted_load.main([]))
    else:
        print("skipped: nginx is not installed (make nginx)")
    print("\n## Space cold start\n")
    start = cold_start.main([])
    figures.update({f"cold_start.{k}": (start[k], "s") for k in ("import_gradio_s", "ready_s", "after_import_s")})
    print("\n## Music-driven walks: a 30 s MP4 with its song, beside the same frames without\n")
    figures.update({k: (v, "x" if k.endswith("ratio") else "s") for k, v in music.main([]).items()})
    print("\n## Your own picture: projection against the encoder alone\n")
    figures.update({f"projection.{b}.{k}": (v, "ms") for b, r in projection.main([]).items() for k, v in r.items()})
    print("\n## Prints and vectors: a 4096 px math-art print, its agreement with 256 px, an SVG\n")
    from bench import prints

    figures.update({k: (v, "levels" if k.endswith("levels") else "s") for k, v in prints.main([]).items()})
    print("\n## Error of each format against the lossless PNG strip\n")
    errors = format_error.main([])
    figures.update(
        {f"format_error.{b}.{f}.{k}": (v, "levels") for b in errors for f in errors[b] for k, v in errors[b][f].items()}
    )
    print("\n## Gallery shards: SQLite and PostgreSQL\n")
    gallery_shards.main([])
    return figures


def _space_figures(rows) -> dict[str, tuple[float, str]]:
    """bench.space_load's rows as results keys: p95 per row, alone/loaded/ratio beside a greedy client, and each
    kind of call in the mixed load."""
    figures = {}
    for (kind, label), r in rows:
        key = "".join(c if c.isalnum() else "_" for c in f"{kind} {label}".lower())
        for name, value in r.items():
            if name.endswith("p95_s") or name == "ratio":
                figures[f"space_load.{key}.{name}"] = (value, "x" if name == "ratio" else "s")
    return figures


if __name__ == "__main__":
    main()
