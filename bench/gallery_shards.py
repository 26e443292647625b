"""Render-farm throughput: 1, 2 and 4 `serving batch` shards writing one gallery, SQLite against PostgreSQL.

    python -m bench.gallery_shards [--count 48] [--bundle exported/mnist-cdcgan]

Each shard is its own process (as on a farm); renders/s is the batch's recipes over the wall time of all shards.
PostgreSQL is a throwaway server started on 127.0.0.1 (Debian's binaries, as the tests use); without one that row
is skipped. On a 2-core machine more shards than cores only share the same two cores: the figure shows what the
database costs, not how a farm of machines scales.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_shards(bundle: str, db: str, files: Path, count: int, shards: int) -> float:
    """Renders per second of `shards` processes splitting `count` recipes into gallery `db`."""
    started = time.perf_counter()
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "serving",
                "batch",
                "--bundle",
                bundle,
                "--count",
                str(count),
                "--db",
                db,
                "--out",
                str(files),
                "--shard",
                f"{i}/{shards}",
                "--quiet",
            ],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(shards)
    ]
    for p in procs:
        _, err = p.communicate(timeout=1800)
        if p.returncode != 0:
            raise RuntimeError(err[-1000:])
    return count / (time.perf_counter() - started)


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(prog="python -m bench.gallery_shards", description=__doc__.splitlines()[0])
    p.add_argument("--count", type=int, default=48, help="recipes per batch")
    p.add_argument("--bundle", default=str(ROOT / "exported" / "mnist-cdcgan"))
    args = p.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from tests.postgres_server import PostgresServer

    root = Path(tempfile.mkdtemp(prefix="ganimate-bench-"))
    root.chmod(0o755)  # the server runs as the postgres user, which must reach its folder inside
    server = PostgresServer(root / "pg")
    reason = server.why_not()
    url = None if reason else server.start()
    results: dict[tuple[str, int], float] = {}
    try:
        for shards in (1, 2, 4):
            for backend in ("SQLite", "PostgreSQL"):
                if backend == "PostgreSQL" and url is None:
                    continue
                tag = f"{backend.lower()}-{shards}"
                if backend == "SQLite":
                    db = str(root / f"{tag}.sqlite")
                else:  # a fresh table for each row
                    import psycopg

                    with psycopg.connect(url, autocommit=True) as conn:
                        conn.execute("DROP TABLE IF EXISTS renders")
                    db = url
                results[(backend, shards)] = run_shards(args.bundle, db, root / tag, args.count, shards)
    finally:
        if url is not None:
            server.stop()
        shutil.rmtree(root, ignore_errors=True)
    print(f"{args.count} random recipes ({Path(args.bundle).name}, 192 px GIFs) per batch, shards as processes")
    print("| shards | SQLite renders/s | PostgreSQL renders/s | PostgreSQL / SQLite |\n|---|---|---|---|")
    for shards in (1, 2, 4):
        lite, pg = results.get(("SQLite", shards)), results.get(("PostgreSQL", shards))
        ratio = f"{pg / lite:.2f}" if lite and pg else "n/a"
        print(f"| {shards} | {lite:.2f} | {pg:.2f} | {ratio} |" if pg else f"| {shards} | {lite:.2f} | skipped | n/a |")
    if reason:
        print(f"PostgreSQL skipped: {reason}")
    return {f"{b}-{s}": v for (b, s), v in results.items()}


if __name__ == "__main__":
    main()
