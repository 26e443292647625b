"""`python -m serving render|compare|project|sample|breed|batch|gallery|push|push-space`: build the parser, dispatch to the
subcommand's module in serving/commands/. Bad input: one line, exit 2."""

from __future__ import annotations

import argparse
import sys

from serving.commands import batch, breed, common, compare, gallery, project, push, push_space, render, sample
from serving.errors import GanimateError
from serving.rendering.recipe import Recipe

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report it


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m serving",
        description="Render animations and samples from a ganimate bundle.",
        epilog=common.EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = p.add_subparsers(dest="command", required=True)
    d = Recipe()  # the one source of defaults
    bundle_options = common.common_parser(d)
    # the order here is the order --help lists them in
    render.add_parser(sub, bundle_options, d)
    compare.add_parser(sub)
    project.add_parser(sub, bundle_options)
    sample.add_parser(sub, bundle_options)
    breed.add_parser(sub, bundle_options)
    batch.add_parser(sub, bundle_options)
    push.add_parser(sub)
    push_space.add_parser(sub)
    gallery.add_parser(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    common.WRITTEN.clear()
    try:
        return args.func(args)
    except GanimateError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:  # Ctrl-C: nothing half-written is left (write_atomic cleans up); say so in one line
        written = common.WRITTEN
        done = f"only {', '.join(map(str, written))} was written" if written else "nothing was written"
        print(f"interrupted: {done}", file=sys.stderr)
        return EXIT_INTERRUPTED
