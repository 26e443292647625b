"""`breed`: children of two or more pictures (any file ganimate wrote, or its recipe), as a grid and their recipes."""

from __future__ import annotations

import argparse

from serving.commands.common import bounded_float, bounded_int, load, out_path, same_file, write
from serving.errors import InputError
from serving.rendering.breed import DEFAULT_MUTATION, MAX_CHILDREN, MUTATION_RANGE

EXAMPLES = """examples:
  python -m serving breed --bundle exported/mathart-params --parents a.png,b.png --children 9 --seed 1 \\
      --out children.png --save-recipes children.json
  python -m serving breed --bundle exported/mathart-params --parents children.json#2,children.json#5 --out next.png
  python -m serving sample --bundle exported/mathart-params --recipe children.json#2 --size 4096 --out child.png
"""


def add_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    b = sub.add_parser(
        "breed",
        parents=[common],
        help="children of two or more pictures: crossed and mutated latents",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    b.add_argument(
        "--parents",
        required=True,
        help="two or more files ganimate wrote (PNG, GIF, WebP, MP4, SVG) or recipe JSON, comma-separated; "
        "FILE#N picks keyframe, seed or child N (default 0)",
    )
    b.add_argument(
        "--children",
        type=lambda t: bounded_int(t, "--children", 1, MAX_CHILDREN),
        default=9,
        help=f"how many (1..{MAX_CHILDREN}, default 9)",
    )
    b.add_argument("--seed", type=lambda t: bounded_int(t, "--seed", 0, 2**32 - 1), default=0, help="breeding seed")
    b.add_argument(
        "--mutation",
        type=lambda t: bounded_float(t, "--mutation", *MUTATION_RANGE),
        default=DEFAULT_MUTATION,
        help=f"standard deviation of the noise added to each latent dimension (default {DEFAULT_MUTATION})",
    )
    b.add_argument("--out", required=True, help="the children's grid, a PNG carrying every child's recipe")
    b.add_argument("--save-recipes", default=None, help="also write the children's recipes (JSON) here")
    b.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from serving.commands.common import recipe_json
    from serving.rendering.breed import breed, breed_sheet, children_images, grid_png, parent_from_recipe, split_pick

    out = out_path(args.out, args.force)
    if out.suffix != ".png":
        raise InputError(f"--out must end in .png, got {out.name}")
    if args.save_recipes:
        out_path(args.save_recipes, args.force)
        if same_file(args.save_recipes, args.out):
            raise InputError("--save-recipes and --out name the same file")
    specs = [s.strip() for s in args.parents.split(",") if s.strip()]
    if len(specs) < 2:
        raise InputError("--parents: give two or more, comma-separated")
    gen = load(args)
    parents = []
    for spec in specs:
        path, pick = split_pick(spec)
        parents.append(parent_from_recipe(recipe_json(path), gen.config, pick))
    children = breed(parents, gen.config, args.children, args.seed, args.mutation)
    sheet = breed_sheet(children)
    write(out, grid_png(children_images(gen, children), sheet), force=args.force)
    if args.save_recipes:
        write(out_path(args.save_recipes, args.force), (sheet + "\n").encode(), force=args.force)
    classes = [gen.config.class_names[c.class_index] if c.class_index is not None else "-" for c in children]
    print(f"wrote {out}: {len(children)} children ({', '.join(classes)}) of {len(parents)} parents, seed {args.seed}")
    return 0
