"""`SpaceApp`: the Space's request handlers over a fixed set of models and an optional gallery.

Every handler validates its raw values itself (events run with preprocess=False), because an API client can send
anything a slider would never produce. Errors of the `GanimateError` family become one `gr.Error` sentence;
anything else is a bug and surfaces as one. Results are written into a folder this process made for itself
(`tempfile.mkdtemp`), so a planted symlink cannot redirect them and the prune only ever touches our own files.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import json
import logging
import os
import re
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import gradio as gr
import numpy as np

from serving import inputs as check
from serving.atomic import write_atomic
from serving.bundle.generator import Generator
from serving.bundle.lanes import on_this_thread
from serving.errors import GanimateError, InputError
from serving.galleries.gallery import Gallery, recipe_hash
from serving.latent.latents import MAX_SEED, class_mix, parse_classes, parse_int_list, z_from_seed
from serving.rendering.budget import SPACE
from serving.rendering.compare import check_comparable as compare_check
from serving.rendering.compare import render_compare
from serving.rendering.recipe import MAX_GRID, Recipe, form_value
from serving.rendering.render import render, render_seconds
from serving.rendering.sample import DEFAULT_SAMPLE_SEEDS, sample, summary, to_npz, to_png
from serving.space.explore import edit_params, explore_directions, param_labels

log = logging.getLogger(__name__)

PARTNER = "its partner"  # Compare's right model by default: chosen for the left one (compare_partner)
DEFAULT = Recipe()  # the one source of defaults for the form, the API and the examples
DEFAULT_SEEDS = ",".join(map(str, DEFAULT.seeds))
DEFAULT_GRID = "x".join(map(str, DEFAULT.grid))
MAX_SAMPLE_SEEDS = 256
# A render estimated to take longer than this here goes through the heavy lane (SpaceApp._render). R1-sized
# renders (0.1 s) never do; the largest allowed ones (about 10 s, serving.rendering.cost) always do.
HEAVY_SECONDS = 1.0
RESULTS_BYTES = 512 * 2**20  # the results' share of the default 1 GB disk budget (serving.space.disk_budget)
GALLERY_SHOWN = 24
THUMBNAIL_SIZE = 128
# The examples shown as animated thumbnails under the form; clicking one fills the form (Animate's field order).
EXAMPLES = (
    (
        "4 seeds, cubic",
        (
            DEFAULT_SEEDS,
            "",
            DEFAULT.path,
            DEFAULT.frames,
            DEFAULT.fps,
            True,
            "linear",
            DEFAULT.truncation,
            DEFAULT_GRID,
            DEFAULT.size,
            DEFAULT.format,
        ),
    ),
    ("3x3 lissajous", ("10,20", "", "lissajous", 48, 24, True, "linear", 0.8, "3x3", 384, "gif")),
    ("4x4, slerp", ("0-15", "", "slerp", 12, 20, True, "ease-in-out", 0.8, "4x4", 512, "gif")),
)
API_USAGE = """```python
from gradio_client import Client, handle_file

client = Client("http://127.0.0.1:7860/")           # or the Space id, e.g. "user/ganimate"
gif, recipe = client.predict(api_name="/animate")    # every parameter has a default
gif, recipe = client.predict(model="{model}", seeds="1,2,3,4", classes="", path="cubic", frames=24,
                             fps=24, loop=True, easing="linear", truncation=1.0, grid="1x1", size=256,
                             format="gif", recipe="", api_name="/animate")
png, npz, stats = client.predict(model="{model}", seeds="0-31", api_name="/sample")
image = client.predict(model="{model}", seed=7, d1=1.5, api_name="/explore")
gif, recipes = client.predict(model_a="{model}", seeds="1,2,3,4", api_name="/compare")   # beside its partner
{project}mp4, recipe = client.predict(model="{model}", music=handle_file("song.wav"), beats_per_key=4,
                           api_name="/animate")            # a walk that follows the song, with its sound
```
The same inputs give byte-identical files. `recipe` is the JSON to paste back (or keep) to reproduce a render."""
PROJECT_USAGE = """# your own picture, as the first keyframe:
pair, latent, gif, recipe = client.predict(model="{model}", picture=handle_file("me.png"), api_name="/project")
"""

F = TypeVar("F", bound=Callable[..., Any])


def _page_url(request: Any) -> str:
    """The address the visitor opened (scheme, host and path, no query), from the request behind an event."""
    try:
        url = request.request.url if hasattr(request, "request") else request.url
        headers = request.headers
    except AttributeError:
        return ""
    from urllib.parse import urlsplit

    page = urlsplit(headers.get("referer") or "")  # an event's request is the queue's; the page is its referer
    if page.scheme in ("http", "https") and page.netloc:
        return f"{page.scheme}://{page.netloc}{page.path}"
    host = headers.get("x-forwarded-host")  # behind a proxy (a Hugging Face Space): the address the visitor used
    scheme = headers.get("x-forwarded-proto", "https") if host else url.scheme
    return f"{scheme}://{host or url.netloc}{url.path.split('/gradio_api')[0] or '/'}"


def user_errors(fn: F) -> F:
    """Our errors become gr.Error: one sentence for the user, no traceback, and the server goes on."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except GanimateError as exc:  # a visitor's mistake: no traceback in the server log either
            raise gr.Error(str(exc), print_exception=False) from None

    return wrapper  # type: ignore[return-value]


def _lower_priority() -> None:
    """The heavy lane's thread yields the CPU to the short renders' threads (Linux: nice 10 for this thread)."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
    except (AttributeError, OSError):  # no per-thread priority here: the lane still keeps to one core
        pass


def _in_lane(fn: Callable[..., bytes], *args, **kwargs) -> bytes:
    """fn(...) with its work kept on this thread (serving.bundle.lanes)."""
    with on_this_thread():
        return fn(*args, **kwargs)


class SpaceApp:
    """The handlers of one Space process: `models` (name -> Generator, menu order) and an optional gallery."""

    def __init__(
        self,
        models: dict[str, Generator],
        gallery: Gallery | None = None,
        out_dir: Path | None = None,
        results_bytes: int | None = None,
        per_client: int | None = None,
        proxy_hops: int | None = None,
        made: dict[str, bytes] | None = None,
    ) -> None:
        """`made`: renders made before the app existed, by recipe hash (serving.space.start renders the opening
        animation while Gradio imports); each is used once, by the first `rendered` call for its recipe."""
        if not models:
            raise GanimateError("no model to serve")
        from serving.rendering.resize import one_blas_thread

        # Requests render on Gradio's worker threads, each render spreading over the cores itself: numpy's BLAS
        # threads would only spin beside them (serving.rendering.resize.one_blas_thread). Built on the main thread.
        if not one_blas_thread():
            log.warning("numpy's BLAS threads could not be limited to one: renders will share the cores with them")
        self.models = models
        self._made = dict(made or {})
        self.default_model = next(iter(models))
        self.gallery = gallery
        # Results are written inside Gradio's own cache folder, so Gradio serves them where they are instead of
        # keeping a second copy of each (it copies only what lies outside its cache).
        from gradio.utils import get_upload_folder

        cache = Path(get_upload_folder())
        cache.mkdir(parents=True, exist_ok=True)
        self.out_dir = Path(out_dir) if out_dir else Path(tempfile.mkdtemp(prefix="ganimate-space-", dir=cache))
        # The results' share of the Space's disk budget (serving.space.disk_budget), held on every write.
        self.results_bytes = results_bytes if results_bytes is not None else RESULTS_BYTES
        self._written: dict[Path, int] = {}  # our files, oldest first, with their sizes
        self._kept: set[Path] = set()  # what the page itself shows (the opening animation, thumbnails): never pruned
        self._written_lock = threading.Lock()
        self._last_prune = 0.0
        # Striped locks: one recipe always maps to the same lock, and the set stays bounded however many recipes
        # a public Space sees (two different recipes share one rarely, and only wait for each other then).
        self._render_locks = tuple(threading.Lock() for _ in range(64))
        from serving.space.song import Songs

        self.songs = Songs()  # visitors' decoded songs, for Animate's music
        # Work requests one client may have running at once (GANIMATE_CLIENT_CONCURRENCY, default 1): a client
        # that sends many is answered "try again" for the rest at once, so it holds one worker, never all of them.
        if per_client is None:
            per_client = check.whole(
                "GANIMATE_CLIENT_CONCURRENCY", os.environ.get("GANIMATE_CLIENT_CONCURRENCY", "").strip() or 1, 1, 10**6
            )
        self.per_client = per_client
        from serving.space.gate import PROXY_HOPS

        self.proxy_hops = PROXY_HOPS if proxy_hops is None else proxy_hops
        self._running: dict[str, int] = {}
        self._running_lock = threading.Lock()
        self._heavy = threading.Lock()  # the heavy lane: one long render at a time, on one core (_render)
        self._heavy_thread = ThreadPoolExecutor(1, thread_name_prefix="ganimate-heavy", initializer=_lower_priority)

    # ---- files -----------------------------------------------------------------------------------------------

    def _forget(self, path: Path) -> None:
        try:
            path.unlink()
        except FileNotFoundError:
            pass
        self._written.pop(path, None)

    def _prune(self, max_age_s: float = 3600.0) -> None:
        """Hold the results' disk budget on every write, oldest first, and drop results older than an hour. Only
        files this process wrote are candidates; the newest is always kept (it is being answered)."""
        now = time.time()
        with self._written_lock:
            total = sum(size for path, size in self._written.items() if path not in self._kept)
            for path in [p for p in self._written if p not in self._kept][:-1]:
                try:
                    old = now - path.lstat().st_mtime > max_age_s
                except FileNotFoundError:  # Gradio's own hourly cleanup took it
                    total -= self._written.pop(path, 0)
                    continue
                if total <= self.results_bytes and not old:
                    break
                total -= self._written.get(path, 0)
                self._forget(path)

    def save(self, data: bytes, stem: str, suffix: str, keep: bool = False) -> str:
        """Write a result under a content-derived name, in Gradio's cache (served from there, never copied);
        `keep`: part of the page itself, outside the budget's reach."""
        path = write_atomic(self.out_dir / f"{stem}.{suffix}", data)
        with self._written_lock:
            self._written.pop(path, None)  # rewritten: now the newest
            self._written[path] = len(data)
            if keep:
                self._kept.add(path)
        self._prune()
        return str(path)

    def disk_bytes(self) -> int:
        """What this process's results hold on disk now."""
        with self._written_lock:
            return sum(self._written.values())

    def rendered(self, gen: Generator, recipe: Recipe, record: bool = True, keep: bool = False, audio=None) -> str:
        """The file of `recipe` on `gen`, rendered once: the same recipe on the same bundle gives the same bytes, so
        a file this process already wrote for it is the answer. Identical requests arriving together (a link
        shared, everyone pressing Animate on the defaults) wait for one render instead of each making their own.
        `record`: also keep it in the gallery (when there is one), including a file made earlier unrecorded.
        `audio`: the song (serving.music.audio.Track) a recipe with `audio` follows."""
        digest = recipe_hash(recipe)
        key = f"ganimate-{digest[:16]}"
        with self._render_locks[int(digest[:8], 16) % len(self._render_locks)]:
            path = self.out_dir / f"{key}.{recipe.format}"
            if path in self._written:
                try:
                    os.utime(path)  # in use: the hourly prune keeps it (and a pruned file raises here)
                    with self._written_lock:  # and the budget takes it last
                        self._written[path] = self._written.pop(path)
                    if record and self.gallery is not None and not self._in_gallery(digest):
                        self.gallery.add(recipe, path.read_bytes(), 0.0)
                    return str(path)
                except FileNotFoundError:
                    pass
            started = time.perf_counter()
            made = None if record else self._made.pop(digest, None)  # the gallery records real render times
            data = made or self._render(gen, recipe, audio)
            if record and self.gallery is not None:
                self.gallery.add(recipe, data, (time.perf_counter() - started) * 1000)
            return self.save(data, key, recipe.format, keep)

    def _render(self, gen: Generator, recipe: Recipe, audio=None) -> bytes:
        """The file's bytes. A long render (estimated over HEAVY_SECONDS) goes through the heavy lane: only when no
        other long one is running, on the lane's own thread at a lower CPU priority, and on that thread alone
        (serving.bundle.lanes): short renders keep the generator's pool and the cores, so one visitor's largest request
        cannot make everyone else's small one wait behind it. A second long render meanwhile is answered "try
        again" at once instead of holding a worker while it waits."""
        if render_seconds(gen, recipe) <= HEAVY_SECONDS:
            return render(gen, recipe, SPACE, audio=audio)
        if not self._heavy.acquire(blocking=False):
            raise InputError(
                "another long render is running here; try again in a few seconds, or ask for fewer "
                "frames, seeds or grid cells, or a smaller size"
            )
        try:
            return self._heavy_thread.submit(_in_lane, render, gen, recipe, SPACE, audio=audio).result()
        finally:
            self._heavy.release()

    def _in_gallery(self, digest: str) -> bool:
        """Whether the gallery holds a usable render of this recipe (a bad row counts as none: add replaces it)."""
        from serving.galleries.gallery import BadRow

        try:
            return self.gallery.find(digest) is not None
        except BadRow:
            return False

    def model(self, name: Any) -> Generator:
        return self.models[check.choice("model", name, list(self.models))]

    @contextlib.contextmanager
    def turn(self, request: Any):
        """One of a client's `per_client` running requests, or InputError "try again" when it has them all (a
        call without a request, from a program holding this object, is not counted)."""
        from serving.space.gate import client_key

        peer = getattr(getattr(request, "client", None), "host", None)
        if not peer:
            yield
            return
        key = client_key(peer, request.headers.get("x-forwarded-for"), self.proxy_hops)
        with self._running_lock:
            if self._running.get(key, 0) >= self.per_client:
                raise InputError(
                    f"{'a request' if self.per_client == 1 else f'{self.per_client} requests'} of yours "
                    "still running here; try again when it is done"
                )
            self._running[key] = self._running.get(key, 0) + 1
        try:
            yield
        finally:
            with self._running_lock:
                self._running[key] -= 1
                if not self._running[key]:
                    del self._running[key]

    # ---- Animate ---------------------------------------------------------------------------------------------

    def build_recipe(
        self, model, seeds, classes, path, frames, fps, loop, easing, truncation, grid, size, fmt, recipe_json
    ) -> tuple[Generator, Recipe]:
        """(Generator, Recipe) from raw request values; a pasted recipe wins over the other fields."""
        recipe_json = check.text("recipe", recipe_json).strip()
        if recipe_json:
            recipe = Recipe.from_json(recipe_json)
            by_sha = [g for g in self.models.values() if g.config.sha256 == recipe.bundle_sha256]
            gen = by_sha[0] if by_sha else self.model(model)  # reproduce on the bundle the recipe was made with
            # The recipe records the bundle that really rendered it, never what the client claimed.
            return gen, dataclasses.replace(recipe, bundle_sha256=gen.config.sha256)
        gen = self.model(model)
        class_text = check.text("classes", classes, 2000).strip()
        recipe = Recipe(
            seeds=tuple(parse_int_list(check.text("seeds", seeds, 2000), "seed")),
            classes=tuple(parse_classes(class_text, gen.config.class_names)) if class_text else None,
            path=form_value("path", path),
            frames=form_value("frames", frames),
            fps=form_value("fps", fps),
            loop=check.flag("loop", loop),
            easing=form_value("easing", easing),
            truncation=form_value("truncation", truncation),
            grid=check.grid(grid, MAX_GRID),
            size=form_value("size", size),
            format=form_value("format", fmt),
            bundle_sha256=gen.config.sha256,
        )
        return gen, recipe

    @user_errors
    def animate(
        self,
        model=None,
        seeds=DEFAULT_SEEDS,
        classes="",
        path=DEFAULT.path,
        frames=DEFAULT.frames,
        fps=DEFAULT.fps,
        loop=DEFAULT.loop,
        easing=DEFAULT.easing,
        truncation=DEFAULT.truncation,
        grid=DEFAULT_GRID,
        size=DEFAULT.size,
        format=DEFAULT.format,
        recipe="",
        music=None,
        beats_per_key=4,
        react="truncation",
        react_band="all",
        react_amount=0.5,
        progress=gr.Progress(),  # noqa: B008 (Gradio injects it, and the request)
        request: gr.Request = None,
    ):
        """Render a looping latent animation. Returns the file and the recipe JSON that reproduces it. With `music`
        (a song) the walk follows it for up to 30 s, as an MP4 with its sound (serving/space/song.py)."""
        with self.turn(request):
            from serving.space.song import with_music

            progress(0.05, desc="checking the request")
            gen, parsed = self.build_recipe(
                model or self.default_model,
                seeds,
                classes,
                path,
                frames,
                fps,
                loop,
                easing,
                truncation,
                grid,
                size,
                format,
                recipe,
            )
            track = self.songs.track(music, self.out_dir)
            if track is not None:
                parsed = with_music(parsed, track, beats_per_key, react, react_band, react_amount)
            elif parsed.audio is not None:  # checked here too: an earlier render of it must not answer without the song
                raise InputError("this recipe follows a song: add the same song under Music")
            progress(0.2, desc=f"rendering {parsed.frame_total()} frames")
            # A music render is not kept in the gallery: replaying it needs the song, which is not kept.
            return self.rendered(gen, parsed, record=track is None, audio=track), parsed.to_pretty_json()

    @user_errors
    def project(
        self, model=None, picture=None, following="5,6,7", request: gr.Request = None
    ) -> tuple[str, str, str, str]:
        """Your picture -> (the picture as the model saw it beside its version, the latent JSON, an animation that
        starts from it, its recipe). The uploaded file is removed once this returns (serving/space/picture.py)."""
        with self.turn(request):
            from serving.space.picture import project_picture

            return project_picture(self, model, picture, following)

    @user_errors
    def recipe_from_file(self, file=None) -> str:
        """UI only: the recipe a dropped ganimate file carries, for the recipe box."""
        from serving.space.picture import recipe_from_file

        return recipe_from_file(file, self.out_dir)

    @staticmethod
    def share_link(recipe_text: Any, request: gr.Request = None) -> str:
        """UI only: this page's address with the shown recipe in `?recipe=`, which opens the same render."""
        from urllib.parse import quote

        try:
            recipe = Recipe.from_json(recipe_text if isinstance(recipe_text, str) else "")
        except GanimateError:
            return ""
        if recipe.audio is not None:  # a link cannot carry the song, and the Space does not keep it
            return ""
        base = _page_url(request)
        return f"{base}?recipe={quote(recipe.to_json(), safe='')}" if base else ""

    def from_link(self, model: Any = None, request: gr.Request = None) -> tuple:
        """UI only, on page load: a `?recipe=` in the address is rendered and shown, as Animate would (a bad one is
        one line in the page, and the opening animation stays)."""
        text = request.query_params.get("recipe", "") if request is not None else ""
        if not text:
            return tuple(gr.update() for _ in range(6))
        try:
            recipe = Recipe.from_json(text[:20_000])
            # The model that made it, when it is served here; else the one on screen.
            name = next(
                (n for n, g in self.models.items() if g.config.sha256 == recipe.bundle_sha256),
                model if model in self.models else self.default_model,
            )
            file, shown = self.animate(name, recipe=recipe.to_json())
        except (GanimateError, gr.Error) as exc:
            gr.Warning(f"the link's recipe cannot be rendered: {getattr(exc, 'message', exc)}")
            return tuple(gr.update() for _ in range(6))
        return name, recipe.to_pretty_json(), file, file, shown, self.share_link(shown, request)

    def initial_animation(self) -> tuple[str, str]:
        """The default render, made once when the demo is built, so the page opens with an animation playing.
        Not recorded in the gallery: nobody asked for it."""
        gen = self.models[self.default_model]
        recipe = dataclasses.replace(DEFAULT, bundle_sha256=gen.config.sha256)
        return self.rendered(gen, recipe, record=False, keep=True), recipe.to_pretty_json()

    @user_errors
    def opening(self, name: Any) -> tuple[str, str, str, str]:
        """UI only: when the model changes, Animate shows that model's default render (preview, file, recipe) and
        clears the share link, instead of the previous model's."""
        gen = self.model(name)
        recipe = dataclasses.replace(DEFAULT, bundle_sha256=gen.config.sha256)
        path = self.rendered(gen, recipe, record=False, keep=True)
        return path, path, recipe.to_pretty_json(), ""

    @user_errors
    def example_thumbnails(self, model: Any = None) -> list[tuple[str, str]]:
        """Each example rendered small on `model`, as (file, caption): a gallery of living thumbnails."""
        gen = self.model(model or self.default_model)
        items = []
        for label, (seeds, classes, path, frames, fps, loop, easing, psi, grid, _size, _fmt) in EXAMPLES:
            _, recipe = self.build_recipe(
                gen.config.name, seeds, classes, path, frames, fps, loop, easing, psi, grid, THUMBNAIL_SIZE, "gif", ""
            )
            key = f"thumb-{recipe_hash(recipe)[:16]}"
            cached = self.out_dir / f"{key}.gif"
            items.append(
                (
                    str(cached) if cached.is_file() else self.save(render(gen, recipe, SPACE), key, "gif", keep=True),
                    label,
                )
            )
        return items

    @staticmethod
    def example_values(evt: gr.SelectData | None = None) -> tuple:
        """The form's values (seeds ... format, and an empty recipe) of the example selected."""
        index = getattr(evt, "index", None)
        if not isinstance(index, int) or not 0 <= index < len(EXAMPLES):
            return tuple(gr.update() for _ in range(12))
        return (*EXAMPLES[index][1], "")

    # ---- Compare ---------------------------------------------------------------------------------------------

    @user_errors
    def compare_partner(self, name: Any = None) -> str:
        """The default second model for a comparison with `name`: the first other model drawing the same classes
        (the VAE beside the GAN), else `name` itself."""
        gen = self.model(name or self.default_model)
        same = [
            n
            for n, g in self.models.items()
            if g is not gen and list(g.config.class_names) == list(gen.config.class_names)
        ]
        return same[0] if same else gen.config.name

    @user_errors
    def compare(
        self,
        model_a=None,
        model_b=None,
        seeds=DEFAULT_SEEDS,
        classes="",
        path=DEFAULT.path,
        frames=DEFAULT.frames,
        fps=DEFAULT.fps,
        loop=DEFAULT.loop,
        easing=DEFAULT.easing,
        truncation=DEFAULT.truncation,
        size=DEFAULT.size,
        format=DEFAULT.format,
        request: gr.Request = None,
    ):
        """The same seeds, classes and path rendered by two models side by side, in one animation.
        Returns the file and the recipe (without a bundle: it names both models)."""
        with self.turn(request):
            name_a = check.choice("model_a", model_a or self.default_model, list(self.models))
            if model_b in (None, "", PARTNER):
                model_b = self.compare_partner(name_a)
            name_b = check.choice("model_b", model_b, list(self.models))
            gen_a, gen_b = self.models[name_a], self.models[name_b]
            compare_check(gen_a, gen_b)
            _, recipe = self.build_recipe(
                name_a, seeds, classes, path, frames, fps, loop, easing, truncation, DEFAULT_GRID, size, format, ""
            )
            data = render_compare(gen_a, gen_b, recipe, SPACE)
            shown = json.loads(recipe.to_json())
            shown.pop("bundle_sha256", None)
            shown["models"] = {name_a: gen_a.config.sha256, name_b: gen_b.config.sha256}
            if name_a == name_b:  # one model beside itself, at a tamer truncation on the right
                from serving.rendering.compare import tamer_truncation

                shown["right_truncation"] = tamer_truncation(recipe.truncation)
            text = json.dumps(shown, indent=1, sort_keys=True)
            return self.save(data, f"compare-{hashlib.sha256(text.encode()).hexdigest()[:16]}", recipe.format), text

    # ---- Sample ----------------------------------------------------------------------------------------------

    @user_errors
    def sample_grid(
        self,
        model=None,
        seeds=DEFAULT_SAMPLE_SEEDS,
        classes="",
        truncation=DEFAULT.truncation,
        request: gr.Request = None,
    ):
        """A grid of images (PNG) and the same images with labels (.npz), one per seed."""
        with self.turn(request):
            gen = self.model(model or self.default_model)
            seed_list = parse_int_list(check.text("seeds", seeds, 2000), "seed", max_count=MAX_SAMPLE_SEEDS)
            class_text = check.text("classes", classes, 2000).strip()
            class_list = parse_classes(class_text, gen.config.class_names) if class_text else None
            psi = form_value("truncation", truncation)
            samples = sample(gen, seed_list, class_list, psi, SPACE)
            key = Recipe(
                seeds=tuple(seed_list),
                classes=tuple(class_list or ()),
                truncation=psi,
                name="sample",
                bundle_sha256=gen.config.sha256,
            )
            stem = f"{gen.config.name}-{recipe_hash(key)[:12]}"
            return self.save(to_png(samples), stem, "png"), self.save(to_npz(samples), stem, "npz"), summary(samples)

    # ---- Explore ---------------------------------------------------------------------------------------------

    @user_errors
    def explore(
        self,
        model=None,
        seed=7,
        d1=0.0,
        d2=0.0,
        d3=0.0,
        class_a="",
        class_b="",
        mix=0.0,
        truncation=DEFAULT.truncation,
        size=DEFAULT.size,
    ):
        """One image: z(seed) with three sliders (named directions in z, or a math-art model's real parameters),
        and (conditional models) class A mixed toward class B."""
        from PIL import Image

        gen = self.model(model or self.default_model)
        seed = check.whole("seed", seed, 0, MAX_SEED)
        steps = [check.number(f"d{i + 1}", v, -5.0, 5.0) for i, v in enumerate((d1, d2, d3))]
        psi = form_value("truncation", truncation)
        size = form_value("size", size)
        a, y = self._explore_classes(gen, seed, class_a, class_b, mix)
        z = z_from_seed(seed, gen.latent_dim).astype(np.float64)
        if "params" in gen.config.outputs:  # move the picture's own parameters, then draw it at the size shown
            from serving.art import mathart

            params = gen.params((z * psi)[None].astype(np.float32), y)[0]
            edited = edit_params(params, gen.config.class_names[a], steps)
            image = mathart.render_mix(edited[None], y, size)[0]
            return Image.fromarray((image * 255 + 0.5).astype(np.uint8))
        z = z + np.asarray(steps) @ explore_directions(gen.config)[1]
        image = gen((z * psi)[None].astype(np.float32), y)[0]
        return Image.fromarray(image[..., 0] if image.shape[2] == 1 else image).resize((size, size), Image.LANCZOS)

    @staticmethod
    def _explore_classes(gen: Generator, seed: int, class_a: Any, class_b: Any, mix: Any) -> tuple[int, Any]:
        """(class A, y): A is the seed's own class when empty, B is A when empty; y mixes A toward B by `mix`."""
        if not gen.num_classes:
            return 0, None
        a_text = check.text("class_a", class_a, 100).strip() or str(seed % gen.num_classes)
        b_text = check.text("class_b", class_b, 100).strip() or a_text
        a = parse_classes(a_text, gen.config.class_names)[0]
        b = parse_classes(b_text, gen.config.class_names)[0]
        return a, class_mix(a, b, check.number("mix", mix, 0.0, 1.0), gen.num_classes)

    # ---- Gallery and About -----------------------------------------------------------------------------------

    @user_errors
    def gallery_items(self, limit: int = GALLERY_SHOWN) -> tuple[list[tuple[str, str]], list[str]]:
        """The latest renders whose files exist, and the recipe JSON of each, in the same order: the select
        handler reads the recipe from this list, so a missing file can never shift which recipe a picture shows."""
        if self.gallery is None:
            return [], []
        items, recipes = [], []
        for e in self.gallery.latest(limit):
            if e.path.is_file():  # copy out of the gallery folder: Gradio serves files from its cache only
                items.append(
                    (
                        self.save(e.path.read_bytes(), f"gallery-{e.recipe_hash[:16]}", e.recipe.format),
                        f"#{e.id} {e.recipe.path} {e.recipe.name}".strip(),
                    )
                )
                recipes.append(e.recipe.to_json())
        return items, recipes

    @staticmethod
    def gallery_recipe(shown: list[str], evt: gr.SelectData | None = None) -> str:
        """The recipe of the picture selected, from the list shown beside it ('' for anything else)."""
        index = getattr(evt, "index", None)
        if not isinstance(index, int) or not isinstance(shown, list) or not 0 <= index < len(shown):
            return ""
        return shown[index] if isinstance(shown[index], str) else ""

    @staticmethod
    @user_errors
    def shown_file(file: Any) -> str | None:
        """UI only: a result file to show in an image box. Events run with preprocess=False, so the value is what
        the page sent; only a file in Gradio's own upload/cache folder is ever shown back."""
        if file in (None, ""):
            return None
        path = file.get("path") if isinstance(file, dict) else file
        if not isinstance(path, str) or len(path) > 4096:
            raise InputError("not a result file")
        from gradio.utils import get_upload_folder

        resolved, root = Path(path).resolve(), Path(get_upload_folder()).resolve()
        if root not in resolved.parents or not resolved.is_file():
            raise InputError("not a result file")
        return str(resolved)

    @user_errors
    def about(self, name: Any) -> tuple[str, str, str | None]:
        """The About tab: the model card (which states the I/O contract), API usage, samples picture."""
        usage = API_USAGE.replace("{project}", PROJECT_USAGE if self.model(name).has_encoder else "")
        return self.model_card(name), usage.replace("{model}", name), self.samples_image(name)

    def model_card(self, name: Any) -> str:
        from serving.publish.cards import card_body

        gen = self.model(name)
        path = gen.bundle_dir / "README.md"
        body = card_body(path.read_text(encoding="utf-8")) if path.is_file() else ""
        return re.sub(r"!\[[^\]]*\]\([^)]*\)\n?", "", body)  # relative image links cannot resolve here

    def samples_image(self, name: Any) -> str | None:
        path = self.model(name).bundle_dir / "samples.png"
        name = self.model(name).config.name
        return self.save(path.read_bytes(), f"{name}-samples", "png", keep=True) if path.is_file() else None

    @user_errors
    def direction_labels(self, name: Any, seed: Any = 7, class_a: Any = "") -> list[str]:
        """Explore's slider labels for model `name`: a math-art model's depend on class A's family."""
        gen = self.model(name)
        if "params" not in gen.config.outputs:
            return explore_directions(gen.config)[0]
        a, _ = self._explore_classes(gen, check.whole("seed", seed, 0, MAX_SEED), class_a, "", 0.0)
        return param_labels(gen.config.class_names[a])

    @user_errors
    def class_hint(self, name: Any) -> str:
        c = self.model(name).config
        if not c.num_classes:
            return "This model has no classes: leave classes empty."
        if list(c.class_names) == [str(i) for i in range(c.num_classes)]:  # digits: the name is the number
            return f"Classes 0-{c.num_classes - 1}, by number. Empty: each seed's own class."
        return f"Classes: {', '.join(f'{i}={n}' for i, n in enumerate(c.class_names))}. Empty: each seed's own class."
