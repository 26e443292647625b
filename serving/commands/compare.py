"""`compare`: a Compare recipe (JSON, or a file the Space's Compare tab or this command wrote) rendered again: two
models, one walk, side by side (serving/rendering/compare.py)."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from serving.bundle.generator import Generator
from serving.commands.common import load, out_path, recipe_json, threads_arg, write
from serving.errors import InputError
from serving.rendering.recipe import Recipe

BUNDLES = "exported"  # where a model the recipe names is looked for, as exported/<name>


def add_parser(sub: argparse._SubParsersAction) -> None:
    c = sub.add_parser(
        "compare",
        help="render a Compare recipe again: two models side by side",
        description="Render a Compare recipe (it names two models) again, byte-identical on the same two bundles.",
        epilog="example:\n  python -m serving compare --recipe compare.gif --out again.gif",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    c.add_argument("--recipe", required=True, help="a JSON recipe, or a GIF, PNG, WebP or MP4 a comparison wrote")
    c.add_argument("--bundle-a", default=None, help=f"the left model (default: {BUNDLES}/<its name in the recipe>)")
    c.add_argument("--bundle-b", default=None, help=f"the right model (default: {BUNDLES}/<its name in the recipe>)")
    c.add_argument("--any-bundle", action="store_true", help="render on bundles other than the ones the recipe names")
    c.add_argument("--out", default=None, help="output file (default compare.FORMAT)")
    c.add_argument("--threads", type=threads_arg, default=None, help="generator threads")
    c.add_argument("--force", action="store_true", help="replace --out even if it is a symlink or a device")
    c.set_defaults(func=run, force_download=False)


def run(args: argparse.Namespace) -> int:
    from serving.rendering.compare import render_compare

    if args.out:
        out_path(args.out, args.force)
    recipe = Recipe.from_json(recipe_json(args.recipe))
    if recipe.models is None:
        raise InputError(
            "this recipe names no two models: it is an animation's (python -m serving render --recipe FILE)"
        )
    a, b = (_model(args, given, name) for given, (name, _) in zip((args.bundle_a, args.bundle_b), recipe.models))
    started = time.perf_counter()
    data = render_compare(a, b, recipe, any_bundle=args.any_bundle)
    ms = (time.perf_counter() - started) * 1000
    out = Path(args.out or f"compare.{recipe.format}")
    write(out, data, force=args.force)
    print(f"wrote {out}: {a.config.name} beside {b.config.name}, {len(data) / 1024:.0f} KiB, {ms:.0f} ms")
    return 0


def _model(args: argparse.Namespace, given: str | None, name: str) -> Generator:
    """The bundle given, else exported/<name>."""
    where = given or str(Path(BUNDLES) / name)
    if given is None and not Path(where).is_dir():
        raise InputError(f"no bundle {where} for the recipe's model {name}: give it with --bundle-a/--bundle-b")
    return load(argparse.Namespace(bundle=where, threads=args.threads, force_download=False))
