"""`render`: an animation from the flags or a recipe (a JSON file, or a file ganimate wrote), optionally to a song."""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from serving import inputs as check
from serving.bundle.generator import Generator
from serving.commands.common import EXAMPLES, bounded_float, bounded_int, load, out_path, recipe_json, same_file, write
from serving.errors import InputError
from serving.files.formats import FORMATS
from serving.latent.latents import parse_classes, parse_int_list
from serving.latent.paths import EASINGS, PATH_KINDS
from serving.rendering.recipe import MAX_GRID, Recipe, clean_name
from serving.rendering.render import check_bundle, render, rendered_as
from serving.rendering.resize import RESAMPLES

if TYPE_CHECKING:
    from serving.music.audio import Track
    from serving.music.walk import Music


def add_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser, d: Recipe) -> None:
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
    r.add_argument(
        "--any-bundle",
        action="store_true",
        help="render a --recipe made with another bundle on this one (the output then differs; it names this bundle)",
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
    r.set_defaults(func=run)


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


def run(args: argparse.Namespace) -> int:
    if args.out:
        out_path(args.out, args.force)  # refused before any work
    if args.save_recipe:
        out_path(args.save_recipe, args.force)
        if same_file(args.save_recipe, args.out or f"out.{args.format or Recipe().format}"):
            raise InputError("--save-recipe and --out name the same file; the recipe would replace the render")
    gen = load(args)
    track = _track(args.audio) if args.audio else None
    recipe = _given_recipe(args, gen, track) if args.recipe else _flags_recipe(args, gen, track)
    if not np.isfinite(recipe.truncation):
        raise InputError("--truncation must be a finite number")
    started = time.perf_counter()
    data = render(gen, recipe, audio=track, progress=_progress_bar(recipe.frame_total()), any_bundle=args.any_bundle)
    recipe = rendered_as(recipe, gen.config, args.any_bundle)  # --save-recipe writes what the file carries
    ms = (time.perf_counter() - started) * 1000
    out = Path(args.out or f"out.{recipe.format}")
    write(out, data, force=args.force)
    if args.save_recipe:
        write(Path(args.save_recipe), (recipe.to_json() + "\n").encode(), force=args.force)
    print(f"wrote {out}: {recipe.frame_total()} frames, {len(data) / 1024:.0f} KiB, {ms:.0f} ms")
    return 0


def _given_recipe(args: argparse.Namespace, gen: Generator, track: Track | None) -> Recipe:
    """The recipe of --recipe, as written (the other walk flags do not apply to it)."""
    recipe = Recipe.from_json(recipe_json(args.recipe))
    check_bundle(recipe, gen.config, args.any_bundle)  # before any song is read or frame made
    if track is not None and recipe.audio is None:
        raise InputError("this recipe follows no song; leave out --audio (or render without --recipe)")
    return recipe


def _flags_recipe(args: argparse.Namespace, gen: Generator, track: Track | None) -> Recipe:
    """The recipe the flags describe."""
    fmt = args.format or (
        Path(args.out).suffix.lstrip(".").lower() if args.out else ("mp4" if track is not None else Recipe().format)
    )
    seeds = parse_int_list(args.seeds, "seed")
    classes = parse_classes(args.classes, gen.config.class_names) if args.classes else None
    latents = None
    if args.from_image:  # the picture is the first keyframe, the seeds follow it
        seeds, classes, latents = _with_picture(gen, args.from_image, seeds, classes)
    return Recipe(
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
        bundle=gen.config.name,
        name=clean_name(args.name),
        latents=latents,
        audio=_music(args, track) if track is not None else None,
    )


def _track(path: str) -> Track:
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


def _music(args: argparse.Namespace, track: Track) -> Music | None:
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


def _progress_bar(total: int) -> Callable[[int, int], None] | None:
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


def _with_picture(
    gen: Generator, image: str, seeds: list[int], classes: list[int] | None
) -> tuple[list[int], list[int] | None, tuple]:
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
