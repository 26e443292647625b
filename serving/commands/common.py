"""What several subcommands share: the bundle options, argparse types, checked output paths and atomic writes."""

from __future__ import annotations

import argparse
import os
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

from serving import inputs as check
from serving.atomic import check_target, write_atomic
from serving.bundle.generator import Generator
from serving.errors import InputError
from serving.rendering.recipe import Recipe, span

if TYPE_CHECKING:
    from serving.galleries.gallery import Gallery

EXAMPLES = """examples:
  python -m serving render --bundle exported/mnist-cdcgan --seeds 1,2,3,4 --classes 3,8,0,5 --path cubic \\
      --frames 24 --fps 24 --loop --size 256 --grid 1x1 --truncation 1.0 --format gif --out out.gif
  python -m serving render --bundle exported/mathart-params --seeds 0-15 --grid 4x4 --path slerp --size 512 --out wall.gif
  python -m serving render --bundle exported/mnist-cdcgan --seeds 7 --classes 3,8 --path lerp --out morph.gif
  python -m serving render --bundle exported/mnist-cdcgan --recipe recipe.json --out again.gif
  python -m serving compare --recipe compare.gif --out again.gif
  python -m serving render --bundle exported/mathart-params --audio song.wav --seeds 1,2,3,4 --format mp4 --out video.mp4
  python -m serving sample --bundle exported/mnist-cdcgan --seeds 0-63 --classes 7 --out sevens.npz
  python -m serving batch --bundle exported/mathart-params --count 1000 --db gallery/gallery.sqlite --out gallery/ --shard 0/4
  python -m serving push --bundle exported/mnist-cdcgan --repo USER/mnist-cdcgan --dry-run
  python -m serving push-space --space USER/ganimate --model-repo USER/mnist-cdcgan@COMMIT_SHA
  python -m serving gallery list --db gallery/gallery.sqlite
  python -m serving batch --bundle exported/mnist-cdcgan --count 1000 --db postgresql://ganimate@db-host/ganimate --out /shared/gallery --shard 1/4
  python -m serving gallery regenerate 12 --db gallery/gallery.sqlite --bundle exported/mathart-params
"""

WRITTEN: list[Path] = []  # files this command wrote, for the one line an interrupt prints


def load(args: argparse.Namespace) -> Generator:
    return Generator.from_pretrained(
        args.bundle, threads=args.threads, force_download=getattr(args, "force_download", False)
    )


def write(path: Path, data: bytes, force: bool = False) -> Path:
    WRITTEN.append(write_atomic(path, data, force=force))
    return path


def out_path(path: str, force: bool) -> Path:
    """The output path, checked before any work: never a folder, a device or a symlink unless --force."""
    out = Path(path)
    check_target(out, force)
    return out


def same_file(a: str, b: str) -> bool:
    return Path(a).resolve() == Path(b).resolve() or (Path(a).exists() and Path(b).exists() and os.path.samefile(a, b))


def recipe_json(path: str) -> str:
    """The recipe JSON of --recipe: a JSON file, or a GIF, PNG, WebP or MP4 that ganimate wrote (it carries its
    recipe; serving/files/recipe_file.py reads only the part that holds it, and refuses a file over its cap)."""
    from serving.files import recipe_file

    carried = recipe_file.recipe_in_file(path, "--recipe")
    return carried if carried is not None else check.read_text_file(path, "--recipe")


def open_gallery(db_text: str, files: str | None, must_exist: bool) -> Gallery:
    """The gallery at --db (a file or a postgresql:// URL); `must_exist`: a missing SQLite file is refused, not made."""
    from serving.galleries.gallery import Gallery
    from serving.galleries.gallery_db import is_url

    db = db_text if is_url(db_text) else Path(db_text)
    if must_exist and isinstance(db, Path) and not db.is_file():
        raise InputError(f"no gallery at {db}; make one with `python -m serving batch --db {db} ...`")
    try:
        return Gallery(db, files)
    except sqlite3.Error as exc:
        raise InputError(f"cannot open gallery {db}: {exc}") from None  # a path: nothing secret in it


def common_parser(d: Recipe) -> argparse.ArgumentParser:
    """The options every bundle command takes: where the bundle is, threads, downloads, --force, truncation."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--bundle", required=True, help="bundle folder, or Hub repo id user/name[@revision]")
    common.add_argument(
        "--threads",
        type=threads_arg,
        default=None,
        help=f"generator threads (a slice of each big call each), 1..{os.cpu_count() or 1} (default: up to 4)",
    )
    common.add_argument(
        "--force-download",
        action="store_true",
        help="Hub bundles: fetch again even if cached (the fix for a damaged cached file)",
    )
    common.add_argument(
        "--force",
        action="store_true",
        help="replace --out even if it is a symlink or a device (never needed for a plain file)",
    )
    common.add_argument(
        "--truncation",
        type=float,
        default=d.truncation,
        help=f"psi: scale z toward 0 ({span('truncation')}, default {d.truncation:g})",
    )
    return common


# argparse types. Refusals raise ArgumentTypeError so that argparse prints its one-line usage message; the types
# given as lambdas stay lambdas, since argparse names a type's function in its message for anything else it catches.


def repo_id_arg(text: str, revision: bool = False) -> str:
    """A Hub repo id (see serving.inputs.repo_id)."""
    try:
        check.repo_id(text, revision_ok=revision)
    except InputError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def bounded_int(text: str, name: str, lo: int, hi: int) -> int:
    """A whole number in lo..hi, written as digits (1.0 or 1e3 is not an ID)."""
    value = check.ascii_whole(text.strip()) if isinstance(text, str) else None
    if value is None:  # ASCII digits only: str.isdigit() and int() also take other scripts' digits
        raise argparse.ArgumentTypeError(f"{name} must be a whole number in {lo}..{hi}, got {str(text)[:40]!r}")
    if not lo <= value <= hi:
        raise argparse.ArgumentTypeError(f"{name} must be in {lo}..{hi}, got {value}")
    return value


def bounded_float(text: str, name: str, lo: float, hi: float) -> float:
    try:
        return check.number(name, text, lo, hi)
    except InputError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def threads_arg(text: str) -> int:
    """Generator threads (a slice of each big call each): at most the cores here (more only adds contention)."""
    return bounded_int(text, "--threads", 1, os.cpu_count() or 1)
