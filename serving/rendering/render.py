"""A render is a recipe: `Recipe` (JSON round-trip) fully describes a picture or animation, `render` makes it.

Same recipe + same bundle -> byte-identical bytes: every step is deterministic (portable seeds, fixed batch
order, PIL encoders with fixed settings). All frames are generated in large batches, not one call per frame.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator

import numpy as np

from serving import inputs as check
from serving.errors import InputError
from serving.files.formats import encode
from serving.files.gif import GIF_MAX_FPS
from serving.files.grid import tile
from serving.files.video import encode_mp4
from serving.latent.latents import MAX_SEED, z_from_seed
from serving.latent.paths import KEYFRAME_PATHS, MATH_PATHS, keyframe_path, math_path, orbit_weights
from serving.music.walk import check_music, direction_vectors, positions, react, walk
from serving.rendering.budget import CLI, Budget
from serving.rendering.budget import check as budget_check
from serving.rendering.cost import check_time
from serving.rendering.recipe import Recipe
from serving.rendering.resize import blas_threads, resize_frames, uses_dense

# Float generator images held at once, per chunk of frames: 32 MB is 10,000 MNIST digits or 40 math-art drawings
# at 256x256 RGB (a whole R2 walk at once would be 3.2 GB of floats).
CHUNK_BYTES = 32 << 20
PROGRESS_STEPS = 4  # groups of chunks a watched render is cut into at least (serving.space.lane.Deadline)
GRID_SEED_STRIDE = 7919  # grid cell i walks seeds (s + i * stride) mod 2**32: independent, reproducible walks


def validate(
    recipe: Recipe,
    latent_dim: int,
    num_classes: int,
    budget: Budget = CLI,
    directions: tuple[str, ...] = (),
    streamed: bool = False,
) -> None:
    """Raise InputError (BudgetError over the caps) for anything that cannot or should not be rendered, before
    any work is done. `directions`: the bundle's named directions (what a music walk may react along)."""
    recipe.checked()  # every field's type and bounds, as the JSON schema declares them (serving/rendering/recipe.py)
    if num_classes and recipe.classes:
        for c in recipe.classes:
            check.whole("class", c, 0, num_classes - 1, text_ok=False)
        if len(recipe.classes) > 1 and len(recipe.seeds) > 1 and len(recipe.classes) != len(recipe.seeds):
            raise InputError(
                f"{len(recipe.classes)} classes for {len(recipe.seeds)} seeds: give one per seed or one for all"
            )
    elif recipe.classes:
        raise InputError("this model is not conditional; leave classes empty")
    keys = max(len(recipe.seeds), len(recipe.classes or ()))
    if recipe.latents is not None:
        if len(recipe.latents) != keys:
            raise InputError(
                f"latents has {len(recipe.latents)} entries for {keys} keyframes: give one per keyframe "
                "(null for a seed's own z)"
            )
        for i, latent in enumerate(recipe.latents):
            if latent is not None and len(latent) != latent_dim:
                raise InputError(f"latents[{i}] has {len(latent)} numbers; this model's latent_dim is {latent_dim}")
    if recipe.path in MATH_PATHS and len(recipe.seeds) < 2:
        raise InputError(f"the {recipe.path} path needs two seeds to span its plane")
    if recipe.audio is not None:  # one keyframe is a walk too: it breathes with the loudness
        check_music(recipe.audio, recipe.path, list(directions), budget.audio_seconds)
    elif recipe.path in KEYFRAME_PATHS and keys < 2:
        raise InputError(f"the {recipe.path} path needs at least two keyframes (seeds or classes)")
    if recipe.format == "gif" and recipe.fps > GIF_MAX_FPS:  # the file would play slower than its recipe says
        raise InputError(
            f"a GIF plays at most {GIF_MAX_FPS} fps (its frame delays are in 10 ms steps), got fps {recipe.fps}: "
            f"use fps <= {GIF_MAX_FPS}, or webp or mp4"
        )
    h, w = recipe.output_shape()
    budget_check(recipe.frame_total(), recipe.grid[0] * recipe.grid[1], h, w, recipe.format, budget, streamed)


COMPARE_ELSEWHERE = (
    "this is a Compare recipe (it names two models: {}): render it on the Compare tab (/compare) with those two "
    "models and its fields, or with `python -m serving compare --recipe FILE`"
)


def check_bundle(recipe: Recipe, config, any_bundle: bool = False) -> None:
    """Refuse a recipe made with another bundle than `config`'s (its sha256, else its name, when it gives them):
    the same recipe on another model is another picture. `any_bundle`: render it here anyway. A Compare recipe
    (two models) is always refused: it is rendered by serving.rendering.compare."""
    if recipe.models is not None:
        raise InputError(COMPARE_ELSEWHERE.format(" and ".join(name for name, _ in recipe.models)))
    if any_bundle:
        return
    other = (recipe.bundle_sha256 and recipe.bundle_sha256 != config.sha256) or (
        not recipe.bundle_sha256 and recipe.bundle and recipe.bundle != config.name
    )
    if other:
        made = recipe.bundle or "another bundle"
        sha = f" (sha256 {recipe.bundle_sha256[:12]}...)" if recipe.bundle_sha256 else ""
        raise InputError(
            f"this recipe was made with {made}{sha}, not {config.name} (sha256 {config.sha256[:12]}...): render it "
            "on its own bundle, or pass --any-bundle (any_bundle=True) to render it on this one anyway"
        )


def rendered_as(recipe: Recipe, config, any_bundle: bool) -> Recipe:
    """The recipe a file records: with `any_bundle`, a recipe that names a bundle names the one that rendered it."""
    if any_bundle and (recipe.bundle_sha256 or recipe.bundle) and recipe.models is None:
        return dataclasses.replace(recipe, bundle=config.name, bundle_sha256=config.sha256)
    return recipe


def default_classes(seeds: list[int], num_classes: int) -> list[int]:
    """The class a seed stands for on a conditional model when no class is given: seed mod num_classes."""
    return [int(s) % num_classes for s in seeds]


def build_inputs(
    recipe: Recipe, latent_dim: int, num_classes: int, analysis=None, directions: dict[str, np.ndarray] | None = None
) -> tuple[np.ndarray, np.ndarray | None]:
    """Generator inputs for every frame of every grid cell, frame-major: z [frames*cells, D], y or None. A recipe
    with `audio` needs the song's `analysis` (serving.music.audio.analyze) and the bundle's named `directions`."""
    pos = positions(analysis, recipe.audio.beats_per_key) if recipe.audio is not None else None
    rows, cols = recipe.grid
    cells = rows * cols
    keys = max(len(recipe.seeds), len(recipe.classes or ()))
    seeds = list(recipe.seeds) * (keys if len(recipe.seeds) == 1 else 1)
    classes = list(recipe.classes or [])
    classes = classes * (keys if len(classes) == 1 else 1)
    zs, ys = [], []
    for cell in range(cells):
        cell_seeds = [(s + cell * GRID_SEED_STRIDE) % (MAX_SEED + 1) for s in seeds]
        key_z = np.stack([z_from_seed(s, latent_dim) for s in cell_seeds]).astype(np.float64)
        # Truncation scales the seeds' z; a picture's latent keyframe stays where the projection found it. Without
        # latents the path is scaled afterwards, exactly as before they existed (same bytes).
        psi_after = recipe.truncation
        if recipe.latents is not None and any(v is not None for v in recipe.latents):
            key_z = key_z * recipe.truncation
            for i, latent in enumerate(recipe.latents):
                if latent is not None:
                    key_z[i] = np.asarray(latent, dtype=np.float64)
            psi_after = 1.0
        if pos is not None:
            latents, weights = walk(key_z, pos, recipe.path, recipe.easing)
        elif recipe.path in MATH_PATHS:
            latents = math_path(key_z[0], key_z[1], recipe.frame_total(), recipe.path, tuple(recipe.lissajous))
            weights = None
        else:
            latents, weights = keyframe_path(key_z, recipe.frames, recipe.path, recipe.loop, recipe.easing)
        latents = latents * psi_after
        zs.append(latents if pos is None else react(latents, recipe.audio, analysis, directions or {}))
        if num_classes:
            # No classes given: each keyframe takes its seed's own class (seed mod num_classes), so a seed names
            # one picture on a conditional model too, and grid cells differ.
            key_classes = classes or default_classes(cell_seeds, num_classes)
            onehots = np.eye(num_classes)[key_classes]
            if weights is None:  # math paths morph through the classes once per loop, linearly
                weights = orbit_weights(len(latents), len(key_classes))
            ys.append(weights @ onehots)
    z = np.stack(zs, axis=1).reshape(-1, latent_dim).astype(np.float32)
    y = np.stack(ys, axis=1).reshape(-1, num_classes).astype(np.float32) if num_classes else None
    return z, y


def song_analysis(recipe: Recipe, audio):
    """The analysis of `audio` (a serving.music.audio.Track) for a recipe that follows it; None without `audio`."""
    if recipe.audio is None:
        return None
    from serving.music.audio import analyze

    if audio is None:
        raise InputError(
            f"this recipe follows a song (audio sha256 {recipe.audio.sha256[:12]}...): give its file "
            "(--audio on the command line)"
        )
    if audio.sha256 != recipe.audio.sha256:
        raise InputError(
            f"this recipe follows another song (sha256 {recipe.audio.sha256[:12]}...; the file given is "
            f"{audio.sha256[:12]}...)"
        )
    if recipe.audio.seconds > audio.seconds + 1e-3:
        raise InputError(
            f"the recipe uses {recipe.audio.seconds:g} s of the song; the file holds {audio.seconds:.3f} s"
        )
    return analyze(audio, recipe.fps, recipe.audio.seconds)


def render_seconds(generator, recipe: Recipe) -> float:
    """About how many seconds `recipe` takes on `generator` here (serving.rendering.cost), before any work is done."""
    from serving.rendering.cost import estimate

    n, (height, width) = recipe.frame_total(), recipe.output_shape()
    return estimate([(generator, n * recipe.grid[0] * recipe.grid[1])], n * height * width, recipe.format)


def frame_chunks(
    generator,
    recipe: Recipe,
    budget: Budget = CLI,
    audio=None,
    streamed: bool = False,
    progress: Callable[[int, int], None] | None = None,
    any_bundle: bool = False,
) -> Iterator[np.ndarray]:
    """uint8 frames [n, height, width, channels] for the recipe (validated first, within `budget`), in order, a
    chunk at a time. `audio`: the serving.music.audio.Track a recipe with `audio` follows; `progress(done, total)` is
    called after each chunk; `any_bundle`: render a recipe made with another bundle (see check_bundle).

    Frames go through the generator a chunk at a time and are tiled and resized to uint8 at once, so float images
    are held for one chunk only: memory follows the output pixels, which the budget caps.
    """
    cfg = generator.config
    check_bundle(recipe, cfg, any_bundle)
    named = direction_vectors(cfg)
    validate(recipe, cfg.latent_dim, cfg.num_classes, budget, tuple(named), streamed)
    n, (height, width) = recipe.frame_total(), recipe.output_shape()
    check_time([(generator, n * recipe.grid[0] * recipe.grid[1])], n * height * width, recipe.format, budget)
    z, y = build_inputs(recipe, cfg.latent_dim, cfg.num_classes, song_analysis(recipe, audio), named)
    rows, cols = recipe.grid
    cells = rows * cols
    image_bytes = cfg.image_size[0] * cfg.image_size[1] * cfg.channels * 4
    threads = generator.threads  # chunks in flight at once: together they hold at most CHUNK_BYTES of floats
    step = max(1, CHUNK_BYTES // (image_bytes * cells * threads))  # frames per chunk
    step = min(step, -(-n // threads))  # at least one chunk per thread when the walk is short
    if progress is not None:  # someone is watching (a time cap, a progress bar): report at least PROGRESS_STEPS times
        step = min(step, max(1, -(-n // (threads * PROGRESS_STEPS))))
    # Small frames are resized from the generator's floats by matrix products (quantised once, at the end).
    tiled = (cfg.image_size[0] * rows, cfg.image_size[1] * cols)
    output = "float" if uses_dense(*tiled, height, width, recipe.resample) else "uint8"

    def make(out: np.ndarray, first: int, span: tuple[int, int]) -> None:
        """Frames [start, stop): generated, tiled and resized, in this thread."""
        start, stop = span
        rows_of = slice(start * cells, stop * cells)
        images = generator(
            z[rows_of], None if y is None else y[rows_of], batch_size=generator.batch_hint, output=output
        )
        if cells > 1:
            images = images.reshape(stop - start, cells, *images.shape[1:])
            images = np.stack([tile(images[i], rows, cols) for i in range(stop - start)])
        out[start - first : stop - first] = resize_frames(images, height, width, recipe.resample)

    # As many spans as the memory cap asks for, rounded up to a multiple of the threads and cut evenly: a last
    # group of fewer spans than threads would leave a core idle while one thread draws it alone.
    needed = -(-n // step)  # spans the cap asks for
    count = -(-needed // threads) * threads
    bounds = np.linspace(0, n, count + 1).round().astype(int)
    spans = [(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:]) if b > a]
    with blas_threads(threads):  # the chunks share the cores out (see serving.rendering.resize)
        for i in range(0, len(spans), threads):  # one span per thread at a time
            group = spans[i : i + threads]
            first, last = group[0][0], group[-1][1]
            out = np.empty((last - first, height, width, cfg.channels), dtype=np.uint8)
            generator.in_parallel(lambda span, out=out, first=first: make(out, first, span), group)
            if progress is not None:
                progress(last, n)
            yield out


def render_frames(
    generator,
    recipe: Recipe,
    budget: Budget = CLI,
    audio=None,
    progress: Callable[[int, int], None] | None = None,
    any_bundle: bool = False,
) -> np.ndarray:
    """Every uint8 frame [n, height, width, channels] of the recipe at once (see frame_chunks)."""
    out, at = None, 0
    for chunk in frame_chunks(generator, recipe, budget, audio, progress=progress, any_bundle=any_bundle):
        if out is None:  # the first chunk has validated the recipe: its size is known and within the budget
            out = np.empty((recipe.frame_total(), *chunk.shape[1:]), dtype=np.uint8)
        out[at : at + len(chunk)] = chunk
        at += len(chunk)
    return out


def render(
    generator,
    recipe: Recipe,
    budget: Budget = CLI,
    audio=None,
    progress: Callable[[int, int], None] | None = None,
    any_bundle: bool = False,
) -> bytes:
    """The encoded file for `recipe`: same recipe and bundle, byte-identical output. `budget` caps the work
    (serving.rendering.budget: CLI for programs and the command line, SPACE for the public Space). `audio`: the
    serving.music.audio.Track of the song a recipe with `audio` follows; an MP4 carries it as its sound.
    `progress(frames_done, total)`: called as the frames are made. A recipe made with another bundle is refused
    (InputError) unless `any_bundle`; then the file's recipe names the bundle that rendered it."""
    recipe = rendered_as(recipe, generator.config, any_bundle)
    if recipe.format == "mp4":  # streamed to the encoder: its frames are never all held
        from serving.files import recipe_file

        chunks = frame_chunks(generator, recipe, budget, audio, streamed=True, progress=progress, any_bundle=any_bundle)
        return encode_mp4(
            chunks,
            recipe.fps,
            recipe_file.mp4_params(recipe.to_json()),
            audio if recipe.audio is not None else None,
            recipe.frame_total() / recipe.fps,
        )
    frames = render_frames(generator, recipe, budget, audio, progress, any_bundle)
    return encode(frames, recipe.format, recipe.fps, recipe.loop, recipe.to_json())
