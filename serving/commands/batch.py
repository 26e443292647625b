"""`batch`: random recipes rendered into a gallery (SQLite or PostgreSQL), resumable and sharded over machines."""

from __future__ import annotations

import argparse

from serving import inputs as check
from serving.commands.common import load, open_gallery
from serving.errors import InputError


def add_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    b = sub.add_parser(
        "batch", parents=[common], help="render random recipes into a gallery, SQLite or PostgreSQL (resumable)"
    )
    b.add_argument("--count", type=int, required=True, help="recipes in the whole batch (over all shards)")
    b.add_argument(
        "--db",
        default="gallery/gallery.sqlite",
        help="SQLite gallery file, or a postgresql://USER:PASSWORD@HOST/DB URL (shards on many machines)",
    )
    b.add_argument("--out", default="gallery", help="folder for the rendered files")
    b.add_argument("--shard", default="0/1", help="i/n: render every n-th recipe starting at i (0-based)")
    b.add_argument("--batch-seed", type=int, default=0, help="which random recipes to draw")
    b.add_argument("--quiet", action="store_true", help="only the summary line")
    b.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from serving.galleries.gallery import run_batch

    if not 1 <= args.count <= 1_000_000:
        raise InputError(f"--count must be in 1..1000000, got {args.count}")
    check.whole("--batch-seed", args.batch_seed, 0, 2**63 - 1)  # numpy's seed sequences take no negative entropy
    shard, shards = _shard(args.shard)
    gen = load(args)
    with open_gallery(args.db, args.out, must_exist=False) as gallery:
        log = (lambda line: None) if args.quiet else print
        rendered, skipped = run_batch(gen, gallery, args.count, shard, shards, args.batch_seed, log)
        print(f"shard {shard}/{shards}: rendered {rendered}, already stored {skipped}; gallery holds {gallery.count()}")
    return 0


def _shard(text: str) -> tuple[int, int]:
    try:
        i, n = (int(v) for v in text.split("/"))
    except ValueError:
        raise InputError(f"--shard must look like 0/4 (this shard / shards), got {text!r}") from None
    if not (n >= 1 and 0 <= i < n):
        raise InputError(f"--shard i/n needs 0 <= i < n, got {text}")
    return i, n
