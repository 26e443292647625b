"""`project`: the latent (and class) of a person's own picture, as JSON, with an optional side-by-side preview."""

from __future__ import annotations

import argparse
import json
import sys
import time

from serving.commands.common import load, out_path, write
from serving.errors import InputError
from serving.latent.latents import parse_classes


def add_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    pj = sub.add_parser("project", parents=[common], help="find the latent (and class) of a picture of your own")
    pj.add_argument("--image", required=True, help="PNG, JPEG, WebP, GIF or BMP; a photo or a drawing")
    pj.add_argument("--class", dest="class_", default=None, help="the class to look in (default: the encoder's guess)")
    pj.add_argument("--out", default=None, help="write the JSON (latent, class, bundle_sha256) here, else print it")
    pj.add_argument(
        "--preview",
        default=None,
        help="a PNG: the prepared picture beside the model's version of it (and, for a drawn curve, the curve laid "
        "over the drawing)",
    )
    pj.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from serving.picture.project import open_picture, project

    out = out_path(args.out, args.force) if args.out else None
    preview = out_path(args.preview, args.force) if args.preview else None
    gen = load(args)
    if not gen.has_encoder:
        raise InputError(f"{gen.config.name} has no encoder.onnx (python -m training.encoder --bundle DIR adds one)")
    cls = None
    if args.class_ is not None:
        if not gen.config.conditional:
            raise InputError("--class: this model is not conditional")
        found = parse_classes(args.class_, gen.config.class_names)
        if len(found) != 1:
            raise InputError(f"--class takes one class, got {args.class_!r}")
        cls = found[0]
    started = time.perf_counter()
    found = project(gen, open_picture(args.image), cls)
    ms = (time.perf_counter() - started) * 1000
    text = json.dumps(found.to_dict(gen.config.sha256), indent=2) + "\n"
    if out is not None:
        write(out, text.encode(), force=args.force)
    else:
        print(text, end="")
    if preview is not None:
        from serving.rendering.sample import to_png_row

        shown = [found.prepared, found.image] + ([found.overlay] if found.overlay is not None else [])
        write(preview, to_png_row(shown), force=args.force)
    label = "" if found.class_index is None else f", class {gen.config.class_names[found.class_index]}"
    print(
        f"projected {args.image}{label}: distance {found.distance:.4f} (encoder alone {found.encoder_distance:.4f}), "
        f"{ms:.0f} ms. {found.verdict}",
        file=sys.stderr,
    )
    return 0
