"""`sample`: still images of chosen seeds, as a PNG grid or an .npz of images and labels; or one picture (a still:
a math-art print up to 8192 px with --size, a curve as .svg, a bred child) from its seed or its recipe."""

from __future__ import annotations

import argparse
import dataclasses

import numpy as np

from serving.art.mathart_print import MAX_PRINT_SIZE
from serving.commands.common import bounded_int, load, out_path, write
from serving.errors import InputError
from serving.latent.latents import MAX_SEEDS, parse_classes, parse_int_list
from serving.rendering.sample import DEFAULT_SAMPLE_SEEDS


def add_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    s = sub.add_parser("sample", parents=[common], help="a PNG grid or an .npz of images and labels")
    s.add_argument("--seeds", default=DEFAULT_SAMPLE_SEEDS, help=f"like 0-31,40 (default {DEFAULT_SAMPLE_SEEDS})")
    s.add_argument("--classes", default=None, help="one class for all seeds, or one per seed")
    s.add_argument("--out", required=True, help="grid.png or data.npz; one picture: print.png or curve.svg")
    s.add_argument(
        "--recipe",
        default=None,
        help="draw a sheet again from its PNG (or its JSON): its seeds, classes and truncation; or a still from "
        "its PNG, SVG or JSON (a breed sheet's child: children.json#3)",
    )
    s.add_argument(
        "--size",
        type=lambda t: bounded_int(t, "--size", 8, MAX_PRINT_SIZE),
        default=None,
        help=f"one seed as one picture this many px wide (math-art models, up to {MAX_PRINT_SIZE}: a print)",
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
    if args.recipe or args.size or out.suffix == ".svg":  # one picture, from its recipe or one seed
        still = _still(args, gen, seeds, classes)
        if still is not None:
            return _write_still(gen, still, out, args.force)
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


def _still(args: argparse.Namespace, gen, seeds: list[int], classes: list[int] | None):
    """The still to draw: the one --recipe holds (None when it is a Sample sheet's), or one seed at --size."""
    from serving.rendering.still import Still

    if args.recipe:
        from serving import inputs as check
        from serving.commands.common import recipe_json
        from serving.rendering.breed import split_pick

        path, pick = split_pick(args.recipe)
        raw = check.load_json(recipe_json(path), "recipe")
        if isinstance(raw, dict) and raw.get("kind") == "breed":  # a breed sheet: one of its children
            children = raw.get("children") if isinstance(raw.get("children"), list) else []
            if not 0 <= pick < len(children):
                raise InputError(f"{path} holds {len(children)} children: pick one as {path}#0..{len(children) - 1}")
            raw = children[pick]
        if isinstance(raw, dict) and raw.get("kind") == "sample" and args.size:
            raise InputError(
                "--size is for one picture (a still's recipe, or one seed); a Sample sheet draws each seed at its "
                "model's size: leave --size out"
            )
        if not isinstance(raw, dict) or raw.get("kind") != "still":
            return None
        still = Still.from_dict(raw)
        return dataclasses.replace(still, size=args.size) if args.size else still
    if len(seeds) != 1 or (classes and len(classes) != 1):
        raise InputError("a print or an SVG is one picture: give one seed (and at most one class)")
    cls = classes[0] if classes else (seeds[0] % gen.num_classes if gen.num_classes else None)
    return Still(
        bundle=gen.config.name,
        bundle_sha256=gen.config.sha256,
        seed=seeds[0],
        class_index=cls,
        truncation=float(args.truncation),
        size=args.size or gen.config.image_size[1],
    )


def _write_still(gen, still, out, force: bool) -> int:
    """Write the still in --out's format (.png or .svg) with its recipe inside."""
    import time

    from serving.rendering.still import still_bytes

    if out.suffix not in (".png", ".svg"):
        raise InputError(f"one picture is written as .png or .svg, got {out.name}")
    still = dataclasses.replace(still, format=out.suffix[1:])
    started = time.perf_counter()
    data = still_bytes(gen, still)
    write(out, data, force=force)
    print(
        f"wrote {out}: {still.size} px {still.format}, {len(data) / 1024:.0f} KiB, {time.perf_counter() - started:.1f} s"
    )
    return 0
