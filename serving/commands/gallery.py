"""`gallery`: list, show, regenerate, pin, unpin, check or repair the renders a gallery holds."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

from serving.atomic import write_atomic
from serving.commands.common import bounded_int, load, open_gallery, out_path, threads_arg, write
from serving.errors import InputError
from serving.rendering.render import render

if TYPE_CHECKING:
    from serving.galleries.gallery import Entry, Gallery


def add_parser(sub: argparse._SubParsersAction) -> None:
    g = sub.add_parser("gallery", help="list, show, regenerate, pin, unpin, check or repair gallery renders")
    g.add_argument(
        "action",
        choices=("list", "show", "regenerate", "pin", "unpin", "check", "repair"),
        help="pin: keep a render out of a quota's reach; unpin: give it back; check: list rows that "
        "cannot be used (exit 1 if any); repair: remove them",
    )
    g.add_argument(
        "id",
        nargs="?",
        type=lambda t: bounded_int(t, "ID", 1, 2**63 - 1),
        default=None,
        help="render id (show, regenerate)",
    )
    g.add_argument("--db", default="gallery/gallery.sqlite", help="SQLite gallery file or postgresql:// URL")
    g.add_argument(
        "--files",
        default=None,
        help="the gallery's files folder (default: beside an SQLite file; "
        "gallery/ for PostgreSQL), as `batch --out` wrote them",
    )
    g.add_argument(
        "--limit",
        type=lambda t: bounded_int(t, "--limit", 1, 100_000),
        default=20,
        help="list: how many of the latest (1..100000)",
    )
    g.add_argument("--bundle", default=None, help="regenerate: the bundle folder or Hub repo")
    g.add_argument("--threads", type=threads_arg, default=None)
    g.add_argument("--force", action="store_true", help="replace --out even if it is a symlink or a device")
    g.add_argument("--force-download", action="store_true", help="Hub bundles: fetch again even if cached")
    g.add_argument("--out", default=None, help="regenerate: also write the new file here")
    g.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    with open_gallery(args.db, args.files, must_exist=True) as gallery:
        if args.action == "list":
            return _list(gallery, args.limit)
        if args.action in ("check", "repair"):
            return _check_or_repair(gallery, args.action)
        if args.id is None:
            raise InputError(f"gallery {args.action} needs an ID (see `gallery list`)")
        if args.action in ("pin", "unpin"):  # a row's id is all it takes: its file need not be here
            if not gallery.pin(args.id, args.action == "pin"):
                raise InputError(f"gallery has no render {args.id}")
            print(f"render {args.id} {'pinned' if args.action == 'pin' else 'unpinned'}")
            return 0
        entry = gallery.get(args.id, need_file=args.action != "regenerate")  # regenerate restores a lost file
        if entry is None:
            raise InputError(f"gallery has no render {args.id}")
        if args.action == "show":
            return _show(entry)
        return _regenerate(args, entry)


def _list(gallery: Gallery, limit: int) -> int:
    for e in gallery.latest(limit):
        print(
            f"{e.id:>6}  {e.created_at}  {e.recipe.path:<9} {e.bytes / 1024:>6.0f} KiB {e.render_ms:>7.0f} ms  "
            f"{e.path}  {e.recipe.name}"
        )
    return 0


def _check_or_repair(gallery: Gallery, action: str) -> int:
    """check: the unusable rows, exit 1 if any; repair: remove them, exit 0."""
    bad = gallery.bad_rows() if action == "check" else gallery.repair()
    for _, reason in bad:
        print(reason)
    verb = "found" if action == "check" else "removed"
    print(f"{verb} {len(bad)} bad row(s) of {gallery.count() + (len(bad) if verb == 'removed' else 0)}")
    return 1 if bad and action == "check" else 0


def _show(entry: Entry) -> int:
    fields = ("id", "path", "bytes", "render_ms", "created_at", "bundle_sha256")
    shown = {k: str(v) if k == "path" else v for k, v in ((k, getattr(entry, k)) for k in fields)}
    print(json.dumps({**shown, "recipe": json.loads(entry.recipe.to_json())}, indent=2))
    return 0


def _regenerate(args: argparse.Namespace, entry: Entry) -> int:
    """`gallery regenerate ID`: exit 0 when the render is byte-identical (or its lost file is restored), 1 if not."""
    # Render the stored recipe again and compare with the stored file, byte for byte.
    if not args.bundle:
        raise InputError("gallery regenerate needs --bundle (the bundle the render was made with)")
    out = out_path(args.out, args.force) if args.out else None
    gen = load(args)
    if gen.config.sha256 != entry.bundle_sha256:
        raise InputError(
            f"render {entry.id} was made with bundle {entry.bundle_sha256[:12]}..., not {gen.config.sha256[:12]}..."
        )
    data = render(gen, entry.recipe)
    stored = entry.path.read_bytes() if entry.path.is_file() else None  # removed since it was read
    if out is not None:
        write(out, data, force=args.force)
    if stored is None:  # the gallery's own file, lost: the recipe makes it again
        write_atomic(entry.path, data)
        print(f"render {entry.id}: {len(data)} bytes, its stored file was missing and is restored")
        return 0
    same = stored == data
    print(
        f"render {entry.id}: {len(data)} bytes, "
        + ("byte-identical to the stored file" if same else "DIFFERS from the stored file")
    )
    return 0 if same else 1
