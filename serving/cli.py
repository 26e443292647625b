"""`python -m serving render|sample`: parse, build a Recipe, call the core. Bad input: one line, exit 2."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

from serving.generator import BundleError, Generator
from serving.latents import MAX_SEEDS, one_hot, parse_int_list, z_batch
from serving.paths import EASINGS, PATH_KINDS
from serving.render import FORMATS, MAX_GRID, RESAMPLES, Recipe, RecipeError, render

EXIT_USAGE = 2

EXAMPLES = """examples:
  python -m serving render --bundle exported/mnist-cdcgan --seeds 1,2,3,4 --classes 3,8,0,5 --path cubic \\
      --frames 24 --fps 24 --loop --size 256 --grid 1x1 --truncation 1.0 --format gif --out out.gif
  python -m serving render --bundle exported/mathart-dcgan --seeds 0-15 --grid 4x4 --path slerp --size 512 --out wall.gif
  python -m serving render --bundle exported/mnist-cdcgan --seeds 7 --classes 3,8 --path lerp --out morph.gif
  python -m serving render --bundle exported/mnist-cdcgan --recipe recipe.json --out again.gif
  python -m serving sample --bundle exported/mnist-cdcgan --seeds 0-63 --classes 7 --out sevens.npz
"""


class UsageError(ValueError):
    pass


def _grid(text: str) -> tuple[int, int]:
    try:
        rows, cols = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise UsageError(f"--grid must look like 2x3, got {text!r}") from None
    if not (1 <= rows <= MAX_GRID and 1 <= cols <= MAX_GRID):
        raise UsageError(f"--grid rows and cols must be in 1..{MAX_GRID}, got {text}")
    return rows, cols


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".tmp-{os.getpid()}-{path.name}")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _load(bundle: str, threads: int | None) -> Generator:
    return Generator.from_pretrained(bundle, threads=threads)


def cmd_render(args: argparse.Namespace) -> int:
    gen = _load(args.bundle, args.threads)
    if args.recipe:
        try:
            recipe = Recipe.from_json(Path(args.recipe).read_text())
        except OSError as exc:
            raise UsageError(f"cannot read --recipe {args.recipe}: {exc.strerror}") from None
        if recipe.bundle_sha256 and recipe.bundle_sha256 != gen.config.sha256:
            print("warning: the recipe was made with another bundle; the output will differ", file=sys.stderr)
    else:
        fmt = args.format or (Path(args.out).suffix.lstrip(".").lower() if args.out else "gif")
        recipe = Recipe(
            seeds=tuple(parse_int_list(args.seeds, "seed")),
            classes=tuple(parse_int_list(args.classes, "class", 10**6)) if args.classes else None,
            path=args.path, frames=args.frames, easing=args.easing, loop=args.loop, truncation=args.truncation,
            grid=_grid(args.grid), size=args.size, fps=args.fps, format=fmt, resample=args.resample,
            bundle_sha256=gen.config.sha256, name=args.name,
        )
    if not np.isfinite(recipe.truncation):
        raise UsageError("--truncation must be a finite number")
    started = time.perf_counter()
    data = render(gen, recipe)
    ms = (time.perf_counter() - started) * 1000
    out = Path(args.out or f"out.{recipe.format}")
    _write_atomic(out, data)
    if args.save_recipe:
        _write_atomic(Path(args.save_recipe), (recipe.to_json() + "\n").encode())
    print(f"wrote {out}: {recipe.frame_total()} frames, {len(data) / 1024:.0f} KiB, {ms:.0f} ms")
    return 0


def cmd_sample(args: argparse.Namespace) -> int:
    gen = _load(args.bundle, args.threads)
    seeds = parse_int_list(args.seeds, "seed", max_count=MAX_SEEDS)
    if not np.isfinite(args.truncation):
        raise UsageError("--truncation must be a finite number")
    y, labels = None, np.full(len(seeds), -1)
    if gen.num_classes:
        classes = parse_int_list(args.classes, "class", gen.num_classes - 1) if args.classes else [i % gen.num_classes for i in range(len(seeds))]
        if len(classes) not in (1, len(seeds)):
            raise UsageError(f"--classes: give one class, or one per seed ({len(seeds)}), not {len(classes)}")
        labels = np.resize(np.asarray(classes), len(seeds))
        y = one_hot(labels, gen.num_classes)
    elif args.classes:
        raise UsageError("this model is not conditional; drop --classes")
    images = gen(z_batch(seeds, gen.latent_dim, args.truncation), y)
    out = Path(args.out)
    if out.suffix == ".npz":
        import io

        buf = io.BytesIO()
        np.savez_compressed(buf, images=images, labels=labels, seeds=np.asarray(seeds, dtype=np.uint32))
        _write_atomic(out, buf.getvalue())
        counts = {gen.config.class_names[c]: int((labels == c).sum()) for c in np.unique(labels) if c >= 0}
        print(f"wrote {out}: images {images.shape} uint8, mean {images.mean() / 255:.3f}, std {images.std() / 255:.3f}"
              + (f", per class {counts}" if counts else ""))
    elif out.suffix == ".png":
        from serving.grid import tile, upscale_nearest

        cols = min(len(seeds), 8)
        rows = -(-len(seeds) // cols)
        grid = upscale_nearest(tile(images, rows, cols, pad=2), 2)
        from PIL import Image

        buf = io_bytes(Image.fromarray(grid[..., 0] if grid.shape[2] == 1 else grid))
        _write_atomic(out, buf)
        print(f"wrote {out}: {len(seeds)} images in a {rows}x{cols} grid")
    else:
        raise UsageError(f"--out must end in .png or .npz, got {out.name}")
    return 0


def io_bytes(image) -> bytes:
    import io

    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m serving", description="Render animations and samples from a ganimate bundle.",
                                epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--bundle", required=True, help="bundle folder, or Hub repo id user/name[@revision]")
    common.add_argument("--threads", type=int, default=None, help="onnxruntime threads (default: up to 4)")
    common.add_argument("--truncation", type=float, default=1.0, help="psi: scale z toward 0 (0..2, default 1)")

    r = sub.add_parser("render", parents=[common], help="render an animation", epilog=EXAMPLES,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    r.add_argument("--seeds", default="1,2,3,4", help="keyframe seeds, like 1,2,3 or 0-7")
    r.add_argument("--classes", default=None, help="class per keyframe, or one class for all (conditional models)")
    r.add_argument("--path", default="cubic", choices=PATH_KINDS)
    r.add_argument("--frames", type=int, default=24, help="frames per transition")
    r.add_argument("--fps", type=int, default=24)
    r.add_argument("--loop", action=argparse.BooleanOptionalAction, default=True, help="wrap back to the first keyframe")
    r.add_argument("--easing", default="linear", choices=EASINGS)
    r.add_argument("--size", type=int, default=256, help="output width in pixels")
    r.add_argument("--grid", default="1x1", help="rows x cols of independent walks")
    r.add_argument("--format", default=None, choices=FORMATS, help="default: from --out's extension, else gif")
    r.add_argument("--resample", default="lanczos", choices=RESAMPLES)
    r.add_argument("--name", default="", help="a label stored in the recipe")
    r.add_argument("--recipe", default=None, help="render this recipe JSON file instead of the options")
    r.add_argument("--save-recipe", default=None, help="also write the recipe JSON here")
    r.add_argument("--out", default=None, help="output file (default out.FORMAT)")
    r.set_defaults(func=cmd_render)

    s = sub.add_parser("sample", parents=[common], help="a PNG grid or an .npz of images and labels")
    s.add_argument("--seeds", default="0-63")
    s.add_argument("--classes", default=None, help="one class for all seeds, or one per seed")
    s.add_argument("--out", required=True, help="grid.png or data.npz")
    s.set_defaults(func=cmd_sample)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (UsageError, BundleError, RecipeError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
