"""`python -m serving render|sample|batch|gallery|push|push-space`: parse, build a Recipe, call the core. Bad input: one line, exit 2."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sqlite3
import sys
import time
from pathlib import Path

import numpy as np

from serving import inputs as check
from serving.atomic import check_target, write_atomic
from serving.bundle.generator import Generator
from serving.errors import GanimateError, InputError
from serving.files.formats import FORMATS
from serving.latent.latents import MAX_SEEDS, parse_classes, parse_int_list
from serving.latent.paths import EASINGS, PATH_KINDS
from serving.rendering.recipe import MAX_GRID, Recipe, clean_name, span
from serving.rendering.render import render
from serving.rendering.resize import RESAMPLES
from serving.rendering.sample import DEFAULT_SAMPLE_SEEDS

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report it

EXAMPLES = """examples:
  python -m serving render --bundle exported/mnist-cdcgan --seeds 1,2,3,4 --classes 3,8,0,5 --path cubic \\
      --frames 24 --fps 24 --loop --size 256 --grid 1x1 --truncation 1.0 --format gif --out out.gif
  python -m serving render --bundle exported/mathart-params --seeds 0-15 --grid 4x4 --path slerp --size 512 --out wall.gif
  python -m serving render --bundle exported/mnist-cdcgan --seeds 7 --classes 3,8 --path lerp --out morph.gif
  python -m serving render --bundle exported/mnist-cdcgan --recipe recipe.json --out again.gif
  python -m serving render --bundle exported/mathart-params --audio song.wav --seeds 1,2,3,4 --format mp4 --out video.mp4
  python -m serving sample --bundle exported/mnist-cdcgan --seeds 0-63 --classes 7 --out sevens.npz
  python -m serving batch --bundle exported/mathart-params --count 1000 --db gallery/gallery.sqlite --out gallery/ --shard 0/4
  python -m serving push --bundle exported/mnist-cdcgan --repo USER/mnist-cdcgan --dry-run
  python -m serving push-space --space USER/ganimate --model-repo USER/mnist-cdcgan@COMMIT_SHA
  python -m serving gallery list --db gallery/gallery.sqlite
  python -m serving batch --bundle exported/mnist-cdcgan --count 1000 --db postgresql://ganimate@db-host/ganimate --out /shared/gallery --shard 1/4
  python -m serving gallery regenerate 12 --db gallery/gallery.sqlite --bundle exported/mathart-params
"""


def _load(args: argparse.Namespace) -> Generator:
    return Generator.from_pretrained(
        args.bundle, threads=args.threads, force_download=getattr(args, "force_download", False)
    )


_WRITTEN: list[Path] = []  # files this command wrote, for the one line an interrupt prints


def _write(path: Path, data: bytes, force: bool = False) -> Path:
    _WRITTEN.append(write_atomic(path, data, force=force))
    return path


def _out(path: str, force: bool) -> Path:
    """The output path, checked before any work: never a folder, a device or a symlink unless --force."""
    out = Path(path)
    check_target(out, force)
    return out


def _same_file(a: str, b: str) -> bool:
    return Path(a).resolve() == Path(b).resolve() or (Path(a).exists() and Path(b).exists() and os.path.samefile(a, b))


def cmd_render(args: argparse.Namespace) -> int:
    if args.out:
        _out(args.out, args.force)  # refused before any work
    if args.save_recipe:
        _out(args.save_recipe, args.force)
        if _same_file(args.save_recipe, args.out or f"out.{args.format or Recipe().format}"):
            raise InputError("--save-recipe and --out name the same file; the recipe would replace the render")
    gen = _load(args)
    track = _track(args.audio) if args.audio else None
    if args.recipe:
        recipe = Recipe.from_json(_recipe_json(args.recipe))
        if recipe.bundle_sha256 and recipe.bundle_sha256 != gen.config.sha256:
            print("warning: the recipe was made with another bundle; the output will differ", file=sys.stderr)
        if track is not None and recipe.audio is None:
            raise InputError("this recipe follows no song; leave out --audio (or render without --recipe)")
    else:
        fmt = args.format or (
            Path(args.out).suffix.lstrip(".").lower() if args.out else ("mp4" if track is not None else Recipe().format)
        )
        seeds = parse_int_list(args.seeds, "seed")
        classes = parse_classes(args.classes, gen.config.class_names) if args.classes else None
        latents = None
        if args.from_image:  # the picture is the first keyframe, the seeds follow it
            seeds, classes, latents = _with_picture(gen, args.from_image, seeds, classes)
        recipe = Recipe(
            seeds=tuple(seeds),
            classes=tuple(classes) if classes else None,
            path=args.path,
            frames=args.frames,
            easing=args.easing,
            loop=args.loop,
            truncation=args.truncation,
            grid=check.grid(args.grid, MAX_GRID),
            size=args.size,
            fps=args.fps,
            format=fmt,
            resample=args.resample,
            bundle_sha256=gen.config.sha256,
            name=clean_name(args.name),
            latents=latents,
            audio=_music(args, track) if track is not None else None,
        )
    if not np.isfinite(recipe.truncation):
        raise InputError("--truncation must be a finite number")
    started = time.perf_counter()
    data = render(gen, recipe, audio=track, progress=_progress_bar(recipe.frame_total()))
    ms = (time.perf_counter() - started) * 1000
    out = Path(args.out or f"out.{recipe.format}")
    _write(out, data, force=args.force)
    if args.save_recipe:
        _write(Path(args.save_recipe), (recipe.to_json() + "\n").encode(), force=args.force)
    print(f"wrote {out}: {recipe.frame_total()} frames, {len(data) / 1024:.0f} KiB, {ms:.0f} ms")
    return 0


def _track(path: str):
    """The song of --audio: its first ten minutes (the command line's cap), with a note when it is longer."""
    from serving.music.audio import read_track
    from serving.rendering.budget import CLI

    track = read_track(path, max_seconds=CLI.audio_seconds + 1.0)
    if track.seconds > CLI.audio_seconds:
        print(
            f"note: the song is longer than {CLI.audio_seconds / 60:.0f} minutes; its first "
            f"{CLI.audio_seconds / 60:.0f} are used",
            file=sys.stderr,
        )
        track = dataclasses.replace(track, samples=track.samples[: int(CLI.audio_seconds * track.rate)])
    return track


def _music(args: argparse.Namespace, track):
    from serving.music.walk import parse_music

    seconds = track.seconds if args.audio_seconds is None else min(args.audio_seconds, track.seconds)
    fields = {
        "sha256": track.sha256,
        "seconds": seconds,
        "beats_per_key": args.beats_per_key,
        "react": args.react,
        "band": args.react_band,
        "amount": args.react_amount,
    }
    return parse_music("audio", fields)  # the same checks as a recipe's audio field


def _progress_bar(total: int):
    """A one-line bar on stderr for renders long enough to wait for (a music video), else nothing."""
    if total < 240:
        return None
    started = time.perf_counter()

    def show(done: int, total: int) -> None:
        filled = int(30 * done / total)
        end = "\n" if done >= total else ""
        print(
            f"\rrendering [{'#' * filled}{'.' * (30 - filled)}] {done}/{total} frames "
            f"{time.perf_counter() - started:.0f} s",
            end=end,
            file=sys.stderr,
            flush=True,
        )

    return show


def _recipe_json(path: str) -> str:
    """The recipe JSON of --recipe: a JSON file, or a GIF, PNG, WebP or MP4 that ganimate wrote (it carries its
    recipe). GIF and PNG keep it near their start, so only their first MB is read."""
    from serving.files import recipe_file

    head = check.read_binary_file(path, "--recipe", 16, partial=True)
    kind = recipe_file.kind_of(head)
    if kind is None:
        return check.read_text_file(path, "--recipe")
    if kind in ("gif", "png"):
        return recipe_file.recipe_text(check.read_binary_file(path, "--recipe", 2**20, partial=True))
    if kind == "webp":
        return recipe_file.recipe_text(check.read_binary_file(path, "--recipe", 256 * 2**20))
    return recipe_file.recipe_text(head, path)


def _with_picture(gen: Generator, image: str, seeds: list[int], classes: list[int] | None):
    """(seeds, classes, latents) with the projected picture as keyframe 0 (its seed slot is 0, unused)."""
    from serving.picture.project import open_picture, project
    from serving.rendering.render import default_classes

    found = project(gen, open_picture(image))
    latents = (tuple(float(v) for v in found.latent), *([None] * len(seeds)))
    if gen.config.conditional:
        rest = (
            classes
            if classes and len(classes) == len(seeds)
            else (classes * len(seeds) if classes else default_classes(seeds, gen.config.num_classes))
        )
        classes = [found.class_index, *rest]
    return [0, *seeds], classes, latents


def cmd_project(args: argparse.Namespace) -> int:
    from serving.picture.project import open_picture, project

    out = _out(args.out, args.force) if args.out else None
    preview = _out(args.preview, args.force) if args.preview else None
    gen = _load(args)
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
        _write(out, text.encode(), force=args.force)
    else:
        print(text, end="")
    if preview is not None:
        from serving.rendering.sample import to_png_row

        _write(preview, to_png_row([found.prepared, found.image]), force=args.force)
    label = "" if found.class_index is None else f", class {gen.config.class_names[found.class_index]}"
    print(
        f"projected {args.image}{label}: distance {found.distance:.4f} (encoder alone {found.encoder_distance:.4f}), "
        f"{ms:.0f} ms",
        file=sys.stderr,
    )
    return 0


def cmd_sample(args: argparse.Namespace) -> int:
    from serving.rendering.sample import sample, summary, to_npz, to_png

    out = _out(args.out, args.force)
    gen = _load(args)
    seeds = parse_int_list(args.seeds, "seed", max_count=MAX_SEEDS)
    if not np.isfinite(args.truncation):
        raise InputError("--truncation must be a finite number")
    classes = parse_classes(args.classes, gen.config.class_names) if args.classes else None
    if out.suffix not in (".npz", ".png"):
        raise InputError(f"--out must end in .png or .npz, got {out.name}")
    samples = sample(gen, seeds, classes, args.truncation)
    _write(out, to_npz(samples) if out.suffix == ".npz" else to_png(samples), force=args.force)
    print(f"wrote {out}: {summary(samples)}")
    return 0


def _shard(text: str) -> tuple[int, int]:
    try:
        i, n = (int(v) for v in text.split("/"))
    except ValueError:
        raise InputError(f"--shard must look like 0/4 (this shard / shards), got {text!r}") from None
    if not (n >= 1 and 0 <= i < n):
        raise InputError(f"--shard i/n needs 0 <= i < n, got {text}")
    return i, n


def _gallery(args: argparse.Namespace):
    from serving.galleries.gallery import Gallery
    from serving.galleries.gallery_db import is_url

    db = args.db if is_url(args.db) else Path(args.db)
    if args.command == "gallery" and isinstance(db, Path) and not db.is_file():
        raise InputError(f"no gallery at {db}; make one with `python -m serving batch --db {db} ...`")
    try:
        return Gallery(db, args.out if args.command == "batch" else args.files)
    except sqlite3.Error as exc:
        raise InputError(f"cannot open gallery {db}: {exc}") from None  # a path: nothing secret in it


def cmd_batch(args: argparse.Namespace) -> int:
    from serving.galleries.gallery import run_batch

    if not 1 <= args.count <= 1_000_000:
        raise InputError(f"--count must be in 1..1000000, got {args.count}")
    check.whole("--batch-seed", args.batch_seed, 0, 2**63 - 1)  # numpy's seed sequences take no negative entropy
    shard, shards = _shard(args.shard)
    gen = _load(args)
    with _gallery(args) as gallery:
        log = (lambda line: None) if args.quiet else print
        rendered, skipped = run_batch(gen, gallery, args.count, shard, shards, args.batch_seed, log)
        print(f"shard {shard}/{shards}: rendered {rendered}, already stored {skipped}; gallery holds {gallery.count()}")
    return 0


def cmd_push(args: argparse.Namespace) -> int:
    from serving.publish import hub

    bundle = Path(args.bundle)
    if not (bundle / "config.json").is_file():
        raise InputError(f"--bundle {bundle} is not a bundle folder (no config.json)")
    files = hub.bundle_files(bundle)
    if args.dry_run:
        print(
            f"would upload {len(files)} files ({sum(n for _, n in files) / 1e6:.2f} MB) to model repo {args.repo} "
            f"({'private' if args.private else 'public'}) as one commit; nothing was contacted:"
        )
        for name, size in files:
            print(f"  {name:<32} {size:>12,} bytes")
        return 0
    result = hub.push_bundle(bundle, args.repo, args.private, args.message)
    print(f"pushed {bundle} to {result.repo_id}: commit {result.commit_sha}\n{result.url}")
    print(f'pin it: Generator.from_pretrained("{result.repo_id}", revision="{result.commit_sha}")')
    return 0


def cmd_push_space(args: argparse.Namespace) -> int:
    from serving.publish import hub

    if args.dry_run:
        repo, _, rev = args.model_repo.partition("@")
        files = hub.space_files(repo, rev or "<main at push time>")
        print(
            f"would upload {len(files)} files to Gradio Space {args.space} as one commit, serving "
            f"{repo}@{rev or 'main'}; nothing was contacted:"
        )
        for name, data in files.items():
            print(f"  {name:<32} {len(data):>12,} bytes")
        return 0
    result = hub.push_space(args.space, args.model_repo, args.private, args.message)
    print(f"pushed the Space to {result.repo_id}: commit {result.commit_sha}\n{result.url}")
    return 0


def _regenerate(args: argparse.Namespace, entry) -> int:
    """`gallery regenerate ID`: exit 0 when the render is byte-identical (or its lost file is restored), 1 if not."""
    # Render the stored recipe again and compare with the stored file, byte for byte.
    if not args.bundle:
        raise InputError("gallery regenerate needs --bundle (the bundle the render was made with)")
    out = _out(args.out, args.force) if args.out else None
    gen = _load(args)
    if gen.config.sha256 != entry.bundle_sha256:
        raise InputError(
            f"render {entry.id} was made with bundle {entry.bundle_sha256[:12]}..., not {gen.config.sha256[:12]}..."
        )
    data = render(gen, entry.recipe)
    stored = entry.path.read_bytes() if entry.path.is_file() else None  # removed since it was read
    if out is not None:
        _write(out, data, force=args.force)
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


def cmd_gallery(args: argparse.Namespace) -> int:
    with _gallery(args) as gallery:
        if args.action == "list":
            for e in gallery.latest(args.limit):
                print(
                    f"{e.id:>6}  {e.created_at}  {e.recipe.path:<9} {e.bytes / 1024:>6.0f} KiB {e.render_ms:>7.0f} ms  "
                    f"{e.path}  {e.recipe.name}"
                )
            return 0
        if args.action in ("check", "repair"):
            bad = gallery.bad_rows() if args.action == "check" else gallery.repair()
            for _, reason in bad:
                print(reason)
            verb = "found" if args.action == "check" else "removed"
            print(f"{verb} {len(bad)} bad row(s) of {gallery.count() + (len(bad) if verb == 'removed' else 0)}")
            return 1 if bad and args.action == "check" else 0
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
            fields = ("id", "path", "bytes", "render_ms", "created_at", "bundle_sha256")
            shown = {k: str(v) if k == "path" else v for k, v in ((k, getattr(entry, k)) for k in fields)}
            print(json.dumps({**shown, "recipe": json.loads(entry.recipe.to_json())}, indent=2))
            return 0
        return _regenerate(args, entry)


def _repo_id(text: str, revision: bool = False) -> str:
    """argparse type: a Hub repo id (see serving.inputs.repo_id), refused with argparse's usage message."""
    try:
        check.repo_id(text, revision_ok=revision)
    except InputError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def _common_parser(d: Recipe) -> argparse.ArgumentParser:
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


def _add_render_parser(sub, common: argparse.ArgumentParser, d: Recipe) -> None:
    r = sub.add_parser(
        "render",
        parents=[common],
        help="render an animation",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    r.add_argument("--seeds", default=",".join(map(str, d.seeds)), help="keyframe seeds, like 1,2,3 or 0-7")
    r.add_argument("--classes", default=None, help="class per keyframe, or one class for all (conditional models)")
    r.add_argument("--path", default=d.path, choices=PATH_KINDS)
    r.add_argument("--frames", type=int, default=d.frames, help="frames per transition")
    r.add_argument("--fps", type=int, default=d.fps)
    r.add_argument(
        "--loop", action=argparse.BooleanOptionalAction, default=d.loop, help="wrap back to the first keyframe"
    )
    r.add_argument("--easing", default=d.easing, choices=EASINGS)
    r.add_argument("--size", type=int, default=d.size, help="output width in pixels")
    r.add_argument("--grid", default="x".join(map(str, d.grid)), help="rows x cols of independent walks")
    r.add_argument("--format", default=None, choices=FORMATS, help="default: from --out's extension, else gif")
    r.add_argument("--resample", default=d.resample, choices=RESAMPLES)
    r.add_argument("--name", default="", help="a label stored in the recipe")
    r.add_argument(
        "--recipe",
        default=None,
        help="render this recipe instead of the options: a JSON file, or a GIF, PNG, WebP or MP4 ganimate wrote",
    )
    r.add_argument("--save-recipe", default=None, help="also write the recipe JSON here")
    r.add_argument("--out", default=None, help="output file (default out.FORMAT)")
    _add_audio_args(r)
    r.add_argument(
        "--from-image",
        default=None,
        metavar="FILE",
        help="a picture of your own as the first keyframe (bundles with an encoder), then --seeds",
    )
    r.set_defaults(func=cmd_render)


def _add_sample_parser(sub, common: argparse.ArgumentParser) -> None:
    s = sub.add_parser("sample", parents=[common], help="a PNG grid or an .npz of images and labels")
    s.add_argument("--seeds", default=DEFAULT_SAMPLE_SEEDS, help=f"like 0-31,40 (default {DEFAULT_SAMPLE_SEEDS})")
    s.add_argument("--classes", default=None, help="one class for all seeds, or one per seed")
    s.add_argument("--out", required=True, help="grid.png or data.npz")
    s.set_defaults(func=cmd_sample)


def _add_batch_parser(sub, common: argparse.ArgumentParser) -> None:
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
    b.set_defaults(func=cmd_batch)


def _add_hub_parsers(sub) -> None:
    """push (a bundle to a model repo) and push-space (the Space, pinned to a model revision)."""
    repo_id = _repo_id
    h = sub.add_parser("push", help="upload a bundle to a Hub model repo as one commit")
    h.add_argument("--bundle", required=True, help="bundle folder, e.g. exported/mnist-cdcgan")
    h.add_argument("--repo", required=True, type=repo_id, help="USER/NAME")
    h.add_argument("--private", action="store_true", help="create the repo private")
    h.add_argument("--message", default=None, help="commit message")
    h.add_argument("--dry-run", action="store_true", help="list what would be uploaded, contact nothing")
    h.set_defaults(func=cmd_push)

    hs = sub.add_parser("push-space", help="upload the Gradio Space, pinned to a model revision, as one commit")
    hs.add_argument("--space", required=True, type=repo_id, help="USER/SPACE")
    hs.add_argument(
        "--model-repo", required=True, type=lambda t: repo_id(t, revision=True), help="USER/NAME[@REVISION]"
    )
    hs.add_argument("--private", action="store_true", help="create the Space private")
    hs.add_argument("--message", default=None, help="commit message")
    hs.add_argument("--dry-run", action="store_true", help="list what would be uploaded, contact nothing")
    hs.set_defaults(func=cmd_push_space)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m serving",
        description="Render animations and samples from a ganimate bundle.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = p.add_subparsers(dest="command", required=True)
    d = Recipe()  # the one source of defaults
    common = _common_parser(d)
    _add_render_parser(sub, common, d)
    _add_project_parser(sub, common)
    _add_sample_parser(sub, common)
    _add_batch_parser(sub, common)
    _add_hub_parsers(sub)
    _add_gallery_parser(sub)
    return p


def _add_audio_args(r: argparse.ArgumentParser) -> None:
    """render's music flags (serving/music/walk.py)."""
    r.add_argument(
        "--audio",
        default=None,
        metavar="SONG",
        help="a WAV, MP3, OGG or FLAC: the walk follows it (moves on onsets, a new keyframe every "
        "--beats-per-key beats) and lasts as long as it (at most 10 minutes); an MP4 carries its sound",
    )
    r.add_argument(
        "--audio-seconds",
        type=lambda t: bounded_float(t, "--audio-seconds", 0.1, 600.0),
        default=None,
        help="use only the song's first N seconds",
    )
    r.add_argument(
        "--beats-per-key",
        type=lambda t: bounded_int(t, "--beats-per-key", 1, 64),
        default=4,
        help="with --audio: beats between keyframes (default 4)",
    )
    r.add_argument(
        "--react",
        default="truncation",
        help="with --audio: what loudness moves: truncation (default), none, or a named direction of the "
        "bundle (the digit models: thickness, slant, width)",
    )
    r.add_argument(
        "--react-band",
        default="all",
        choices=("all", "low", "high"),
        help="with --audio: the loudness --react follows: all, low (bass, < 200 Hz) or high (> 2 kHz)",
    )
    r.add_argument(
        "--react-amount",
        type=float,
        default=0.5,
        help="with --audio: how far loudness moves it (truncation 0..1, a direction -2..2; default 0.5)",
    )


def _add_project_parser(sub, common: argparse.ArgumentParser) -> None:
    pj = sub.add_parser("project", parents=[common], help="find the latent (and class) of a picture of your own")
    pj.add_argument("--image", required=True, help="PNG, JPEG, WebP, GIF or BMP; a photo or a drawing")
    pj.add_argument("--class", dest="class_", default=None, help="the class to look in (default: the encoder's guess)")
    pj.add_argument("--out", default=None, help="write the JSON (latent, class, bundle_sha256) here, else print it")
    pj.add_argument("--preview", default=None, help="a PNG: the prepared picture beside the model's version of it")
    pj.set_defaults(func=cmd_project)


def _add_gallery_parser(sub) -> None:
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
    g.set_defaults(func=cmd_gallery)


def bounded_int(text: str, name: str, lo: int, hi: int) -> int:
    """argparse type: a whole number in lo..hi, written as digits (1.0 or 1e3 is not an ID), refused with
    argparse's one-line usage message."""
    if not (isinstance(text, str) and text.strip().isdigit() and len(text.strip()) <= 30):
        raise argparse.ArgumentTypeError(f"{name} must be a whole number in {lo}..{hi}, got {str(text)[:40]!r}")
    value = int(text)
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


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _WRITTEN.clear()
    try:
        return args.func(args)
    except GanimateError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:  # Ctrl-C: nothing half-written is left (write_atomic cleans up); say so in one line
        done = f"only {', '.join(map(str, _WRITTEN))} was written" if _WRITTEN else "nothing was written"
        print(f"interrupted: {done}", file=sys.stderr)
        return EXIT_INTERRUPTED
