"""`SpaceApp`: the Space's request handlers over a fixed set of models and an optional gallery.

Every handler validates its raw values itself (events run with preprocess=False), because an API client can send
anything a slider would never produce. Errors of the `GanimateError` family become one `gr.Error` sentence;
anything else is a bug and surfaces as one. Results are written into a folder this process made for itself
(`tempfile.mkdtemp`), so a planted symlink cannot redirect them and the prune only ever touches our own files.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from serving import inputs as check
from serving.atomic import write_atomic
from serving.bundle.generator import Generator
from serving.errors import GanimateError, InputError
from serving.galleries.gallery import Gallery, recipe_hash
from serving.rendering.budget import SPACE
from serving.rendering.budget import check as work_check
from serving.rendering.cost import over_cap
from serving.rendering.recipe import Recipe
from serving.rendering.render import render, render_seconds
from serving.space.animate_handlers import AnimateHandlers
from serving.space.breed_handlers import BreedHandlers
from serving.space.disk import RESULTS_PREFIX, Janitor
from serving.space.handling import FIRST_MODEL, HEAVY_SECONDS, RESULTS_BYTES, UPLOADS_BYTES
from serving.space.lane import Deadline, FairLane, lower_priority
from serving.space.other_handlers import OtherTabHandlers
from serving.space.page_handlers import PageHandlers

log = logging.getLogger(__name__)


class SpaceApp(AnimateHandlers, OtherTabHandlers, BreedHandlers, PageHandlers):
    """The handlers of one Space process: `models` (name -> Generator, menu order) and an optional gallery."""

    def __init__(
        self,
        models: dict[str, Generator],
        gallery: Gallery | None = None,
        out_dir: Path | None = None,
        results_bytes: int | None = None,
        uploads_bytes: int | None = None,
        per_client: int | None = None,
        proxy_hops: int | None = None,
        made: dict[str, bytes] | None = None,
    ) -> None:
        """`made`: renders made before the app existed, by recipe hash (serving.space.start renders the opening
        animation while Gradio imports); each is used once, by the first `rendered` call for its recipe."""
        if not models:
            raise GanimateError("no model to serve")
        from serving.space.blas import one_blas_thread

        # Renders run on Gradio's worker threads, each spreading over the cores itself: numpy's BLAS goes to one
        # thread once, here, before any render. (Changing OpenBLAS's thread count while another thread is inside a
        # product can hang it; with one thread set here no render ever changes it: serving.rendering.resize.)
        one_blas_thread()
        self.models = models
        self.api_defaults: dict[str, dict] = {}  # endpoint -> {parameter: the form's value} (api_docs.api)
        self._made = dict(made or {})
        self.default_model = next(iter(models))
        self.gallery = gallery
        if gallery is not None:  # Gradio serves the gallery's files where they are (no third copy per visit)
            import gradio as gr

            gr.set_static_paths([str(gallery.files_dir.resolve())])
        # Results are written inside Gradio's own cache folder, so Gradio serves them where they are instead of
        # keeping a second copy of each (it copies only what lies outside its cache).
        from gradio.utils import get_upload_folder

        cache = Path(get_upload_folder())
        cache.mkdir(parents=True, exist_ok=True)
        self.out_dir = Path(out_dir) if out_dir else Path(tempfile.mkdtemp(prefix=RESULTS_PREFIX, dir=cache))
        # Uploads and Gradio's copies of what it serves: their own share, swept by the gate and after each result.
        self.janitor = Janitor(cache, uploads_bytes if uploads_bytes is not None else UPLOADS_BYTES)
        # The results' share of the Space's disk budget (serving.space.disk_budget), held on every write.
        self.results_bytes = results_bytes if results_bytes is not None else RESULTS_BYTES
        self._written: dict[Path, int] = {}  # our files, oldest first, with their sizes
        self._kept: set[Path] = set()  # what the page itself shows (the opening animation, thumbnails): never pruned
        self._written_lock = threading.Lock()
        self._last_prune = 0.0
        # Striped locks: one recipe always maps to the same lock, and the set stays bounded however many recipes
        # a public Space sees (two different recipes share one rarely, and only wait for each other then).
        self._recipe_locks: dict[str, list] = {}  # recipe hash -> [its lock, requests holding or waiting for it]
        self._recipe_locks_lock = threading.Lock()
        from serving.space.song import Songs

        self.songs = Songs()  # visitors' decoded songs, for Animate's music
        # Work requests one client may have running at once (GANIMATE_CLIENT_CONCURRENCY, default 1): a client
        # that sends many is answered "try again" for the rest at once, so it holds one worker, never all of them.
        if per_client is None:
            per_client = check.whole(
                "GANIMATE_CLIENT_CONCURRENCY", os.environ.get("GANIMATE_CLIENT_CONCURRENCY", "").strip() or 1, 1, 10**6
            )
        self.per_client = per_client
        from serving.space.visitors import proxy_hops as hops_here

        self.proxy_hops = hops_here() if proxy_hops is None else proxy_hops
        self._running: dict[str, int] = {}
        self._running_lock = threading.Lock()
        # One long render running and one waiting at most: with three work events at once (layout.py), a third
        # worker is always free for short renders.
        self.lane = FairLane(
            max_waiting=1, initializer=lower_priority
        )  # long renders, in turn, on one core (serving.space.lane)

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
        self.janitor.sweep()  # Gradio copies what it serves from elsewhere (an Explore picture): held here too
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
        with self._recipe_lock(digest):
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

    @contextlib.contextmanager
    def _recipe_lock(self, digest: str):
        """One lock per recipe while anyone renders or waits for it: identical requests wait for one render, and no
        other recipe ever waits behind it (a long render waits for the heavy lane while holding its lock)."""
        with self._recipe_locks_lock:
            entry = self._recipe_locks.setdefault(digest, [threading.Lock(), 0])
            entry[1] += 1
        try:
            with entry[0]:
                yield
        finally:
            with self._recipe_locks_lock:
                entry[1] -= 1
                if not entry[1]:
                    del self._recipe_locks[digest]

    def _render(self, gen: Generator, recipe: Recipe, audio=None) -> bytes:
        """The file's bytes, stopped if it runs past the Space's time cap. A long render (estimated over
        HEAVY_SECONDS) waits its turn in the heavy lane (serving.space.lane), so one visitor's largest request
        cannot make everyone else's small one wait behind it."""
        n, (height, width) = recipe.frame_total(), recipe.output_shape()  # the work caps first: they say what to cut
        work_check(n, recipe.grid[0] * recipe.grid[1], height, width, recipe.format, SPACE, recipe.format == "mp4")
        return self.in_turn(render_seconds(gen, recipe), render, gen, recipe, SPACE, audio=audio)

    def in_turn(self, seconds: float, fn, *args, **kwargs):
        """fn(*args, progress=a Deadline at the Space's cap, **kwargs): at once when `seconds` (its estimate) is
        short, else in the heavy lane; refused at once when the estimate is past the cap (it would only hold a
        place in the lane to be refused there)."""
        over_cap(seconds, SPACE)

        def capped():
            return fn(*args, progress=Deadline(SPACE.seconds), **kwargs)

        return capped() if seconds <= HEAVY_SECONDS else self.lane.run(capped)

    def _in_gallery(self, digest: str) -> bool:
        """Whether the gallery holds a usable render of this recipe (a bad row counts as none: add replaces it)."""
        from serving.galleries.gallery import BadRow

        try:
            return self.gallery.find(digest) is not None
        except BadRow:
            return False

    def model(self, name: Any, field: str = "model") -> Generator:
        """The model a request names (FIRST_MODEL: the first one served); anything else is one line naming the
        models served."""
        if name is FIRST_MODEL:
            name = self.default_model
        return self.models[check.choice(field, name, list(self.models))]

    @contextlib.contextmanager
    def turn(self, request: Any):
        """One of a client's `per_client` running requests, or InputError "try again" when it has them all (a
        call without a request, from a program holding this object, is not counted)."""
        from serving.space.visitors import client_key

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
