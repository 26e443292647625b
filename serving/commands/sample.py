"""`sample`: still images of chosen seeds, as a PNG grid or an .npz of images and labels."""

from __future__ import annotations

import argparse

import numpy as np

from serving.commands.common import load, out_path, write
from serving.errors import InputError
from serving.latent.latents import MAX_SEEDS, parse_classes, parse_int_list
from serving.rendering.sample import DEFAULT_SAMPLE_SEEDS


def add_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    s = sub.add_parser("sample", parents=[common], help="a PNG grid or an .npz of images and labels")
    s.add_argument("--seeds", default=DEFAULT_SAMPLE_SEEDS, help=f"like 0-31,40 (default {DEFAULT_SAMPLE_SEEDS})")
    s.add_argument("--classes", default=None, help="one class for all seeds, or one per seed")
    s.add_argument("--out", required=True, help="grid.png or data.npz")
    s.add_argument(
        "--recipe",
        default=None,
        help="draw a sheet again from its PNG (or its JSON): its seeds, classes and truncation",
    )
    s.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from serving.rendering.sample import sample, sample_recipe, summary, to_npz, to_png

    out = out_path(args.out, args.force)
    gen = load(args)
    seeds = parse_int_list(args.seeds, "seed", max_count=MAX_SEEDS)
    if not np.isfinite(args.truncation):
        raise InputError("--truncation must be a finite number")
    classes = parse_classes(args.classes, gen.config.class_names) if args.classes else None
    if args.recipe:  # the sheet's own values win over the flags
        from serving.commands.common import recipe_json
        from serving.rendering.sample import read_sample_recipe

        seeds, classes, args.truncation = read_sample_recipe(recipe_json(args.recipe), gen.config)
    if out.suffix not in (".npz", ".png"):
        raise InputError(f"--out must end in .png or .npz, got {out.name}")
    samples = sample(gen, seeds, classes, args.truncation)
    made = sample_recipe(gen.config, seeds, classes, args.truncation)  # a PNG carries it
    write(out, to_npz(samples) if out.suffix == ".npz" else to_png(samples, made), force=args.force)
    print(f"wrote {out}: {summary(samples)}")
    return 0
