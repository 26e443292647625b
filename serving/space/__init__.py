"""The ganimate Space (Gradio): `build_demo(models, gallery)` makes it, `main()` loads the models and launches it.

    from serving.space import build_demo, load_models
    demo = build_demo(load_models("exported/mnist-cdcgan"))
    demo.launch()

Models come from `GANIMATE_MODEL` (comma-separated bundle folders or Hub repos `user/name@revision`), else from
`ganimate_model:` in the Space card (what `python -m serving push-space` pins), else every bundle in `exported/`.
`GANIMATE_GALLERY` names a gallery to show and record renders in: an SQLite file or a `postgresql://` URL
(whose files go to `GANIMATE_GALLERY_FILES`, default `gallery/`). `GANIMATE_DISK_MB` (default 1024) is the disk
budget of everything the Space writes. Nothing here imports TensorFlow.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from serving.bundle.generator import Generator
from serving.errors import GanimateError, InputError

if TYPE_CHECKING:
    from serving.galleries.gallery import Gallery

PREFERRED = (
    "mnist-cdcgan",
    "mnist-cvae",
    "mathart-params",
)  # the order the model menu lists them; the first present opens the app

__all__ = ["PREFERRED", "SpaceApp", "build_demo", "load_models", "main", "model_sources", "open_gallery", "start"]


def __getattr__(name: str) -> Any:
    """`build_demo` and `SpaceApp` import Gradio: loaded on first use, so `serving.publish.space_files` (what a push
    uploads) works where Gradio is not installed."""
    if name == "build_demo":
        from serving.space.layout import build_demo

        return build_demo
    if name == "SpaceApp":
        from serving.space.handlers import SpaceApp

        return SpaceApp
    raise AttributeError(name)


def model_sources(spec: str, card_text: str | None, exported: Path | None) -> list[str]:
    """What to load: `spec` (comma-separated), else the card's pinned model, else every bundle under `exported`."""
    from serving.publish.cards import pinned_model

    spec = spec.strip() or (pinned_model(card_text) if card_text else "")
    if spec:
        return [s.strip() for s in spec.split(",") if s.strip()]
    return sorted(str(p.parent) for p in exported.glob("*/config.json")) if exported and exported.is_dir() else []


def load_models(sources: list[str] | str, threads: int | None = None, defer: bool = False) -> dict[str, Generator]:
    """name -> Generator for each source, in the menu's order (PREFERRED first, then by name). Every bundle is read
    and verified first; a bad one is named on stderr and skipped. With `defer` (the Space's start) only the first
    model's session is built now and the others are PendingGenerators, built on first use or by `pending.warm`."""
    from concurrent.futures import ThreadPoolExecutor

    from serving.space.pending import PendingGenerator

    sources = [s.strip() for s in sources.split(",")] if isinstance(sources, str) else sources
    wanted = list(filter(None, sources))
    if not wanted:
        raise InputError("no model: set GANIMATE_MODEL to a bundle folder or user/name@revision, or add exported/NAME")
    refused: list[str] = []

    def attempt(step, source):
        try:
            return step()
        except GanimateError as exc:  # one bad bundle does not take the Space down: it is named and skipped
            refused.append(f"{source}: {exc}")
            print(f"warning: not serving {source}: {exc}", file=sys.stderr)
            return None

    # A thread per bundle (at most 4): downloads and hashing overlap, and without `defer` the small sessions are
    # built beside a large one rather than after it.
    with ThreadPoolExecutor(max(1, min(4, len(wanted))), thread_name_prefix="ganimate-bundle") as pool:
        checked = [c for c in pool.map(lambda s: attempt(lambda: Generator.checked(s), s), wanted) if c is not None]
        by_name = {c.config.name: c for c in checked}
        order = [n for n in PREFERRED if n in by_name] + sorted(n for n in by_name if n not in PREFERRED)

        def build(name: str) -> Generator | None:
            return attempt(lambda: by_name[name].load(threads), by_name[name].source)

        models: dict[str, Any] = {}
        if not defer:
            models = {n: g for n, g in zip(order, pool.map(build, order)) if g is not None}
        else:  # the first model that builds opens the page; the ones after it wait as PendingGenerators
            for i, name in enumerate(order):
                gen = build(name)
                if gen is not None:
                    models = {name: gen, **{n: PendingGenerator(by_name[n], threads) for n in order[i + 1 :]}}
                    break
    if not models:
        raise InputError("no model could be loaded: " + "; ".join(refused)[:2000])
    return {n: models[n] for n in order if n in models}


# The Space's gallery quota: every visitor's render is kept, so the oldest unpinned ones make room.
GALLERY_MAX_ROWS = 1000
GALLERY_MAX_MB = 512
DISK_MB = 1024  # GANIMATE_DISK_MB: everything the Space writes (results in Gradio's cache, and the gallery)


def disk_budget(text: str = "") -> tuple[int, int, int]:
    """(results bytes, gallery megabytes, uploads bytes) from GANIMATE_DISK_MB (default 1024): an eighth for
    uploads and Gradio's copies (serving.space.disk), half for the gallery (at most GALLERY_MAX_MB), the rest for
    results. Each is held on every write, oldest (unpinned) first."""
    from serving import inputs as check

    total = check.whole("GANIMATE_DISK_MB", text.strip() or DISK_MB, 64, 10**7)
    gallery_mb = min(GALLERY_MAX_MB, total // 2)
    uploads_mb = total // 8
    return (total - gallery_mb - uploads_mb) * 2**20, gallery_mb, uploads_mb * 2**20


def open_gallery(db: str, max_rows: int = GALLERY_MAX_ROWS, max_mb: int = GALLERY_MAX_MB) -> Gallery | None:
    """The gallery at `db` with the Space's quota (`python -m serving gallery pin ID` keeps a render for good)."""
    from serving.galleries.gallery import Gallery

    if not db.strip():
        return None
    files = os.environ.get("GANIMATE_GALLERY_FILES") or None
    return Gallery(db.strip(), files, max_rows=max_rows, max_bytes=max_mb * 2**20)


def start(sources: list[str], gallery_db: str = ""):
    """The demo over `sources`, built as fast as a cold process allows: the bundles are verified and the first
    model's session built on a second thread while Gradio imports on this one; the other models' sessions are
    built later (serving.space.pending: `main` warms them once the server answers)."""
    from concurrent.futures import ThreadPoolExecutor

    results_bytes, gallery_mb, uploads_bytes = disk_budget(os.environ.get("GANIMATE_DISK_MB", ""))
    with ThreadPoolExecutor(1, thread_name_prefix="ganimate-load") as pool:
        loading = pool.submit(load_models, sources, None, True)
        opening = pool.submit(lambda: opening_render(loading.result()))  # then the page's first animation
        from serving.space.handlers import SpaceApp
        from serving.space.layout import build_demo  # imports Gradio: about 3 s on a 2-core machine

        models = loading.result()
        made = opening.result()
    gallery = open_gallery(gallery_db, max_mb=gallery_mb)
    app = SpaceApp(models, gallery, results_bytes=results_bytes, uploads_bytes=uploads_bytes, made=made)
    demo = build_demo(models, gallery, app=app)
    return demo


def opening_render(models: dict[str, Generator]) -> dict[str, bytes]:
    """{recipe hash: bytes} of the animation the page opens with (the default recipe on the first model), made on the
    loading thread, which is idle while Gradio imports; empty when that model is not built yet or the render fails
    (the app then renders it itself, and reports what went wrong)."""
    import dataclasses

    from serving.galleries.gallery import recipe_hash
    from serving.rendering.budget import SPACE
    from serving.rendering.recipe import Recipe
    from serving.rendering.render import render
    from serving.space.pending import PendingGenerator

    gen = next(iter(models.values()))
    if isinstance(gen, PendingGenerator):
        return {}
    recipe = dataclasses.replace(Recipe(), bundle_sha256=gen.config.sha256, bundle=gen.config.name)  # = opening's
    try:
        return {recipe_hash(recipe): render(gen, recipe, SPACE)}
    except GanimateError:
        return {}


def _make_thumbnails_after(warming, app) -> None:
    """Every model's example thumbnails, on a low-priority background thread once the sessions are built, so a
    model switch reads files instead of rendering (serving.space.animate_handlers.warm_thumbnails)."""
    import threading

    from serving.space.lane import lower_priority

    def make() -> None:
        if warming is not None:
            warming.join()
        lower_priority()
        app.warm_thumbnails()

    threading.Thread(target=make, name="ganimate-thumbnails", daemon=True).start()


def main(space_dir: Path, exported: Path | None = None) -> None:
    """Load what the environment and the Space card name, build the demo and serve it (blocks). A missing or
    refused model is one line on stderr and exit code 2 (the Space's log shows it), not a traceback."""
    import sys

    from serving.space.blas import one_blas_thread

    one_blas_thread()
    from serving.errors import GanimateError

    card = space_dir / "README.md"
    try:
        sources = model_sources(
            os.environ.get("GANIMATE_MODEL", ""), card.read_text(encoding="utf-8") if card.is_file() else None, exported
        )
        demo = start(sources, os.environ.get("GANIMATE_GALLERY", ""))
    except GanimateError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    from serving.space.layout import launch_options
    from serving.space.pending import warm

    demo.launch(prevent_thread_lock=True, **launch_options(demo.ganimate_app))
    warming = warm(demo.ganimate_app.models)  # the other models' sessions, now that the first page can be served
    _make_thumbnails_after(warming, demo.ganimate_app)
    try:
        demo.block_thread()
    finally:
        if warming is not None:
            warming.join()  # a process must not end while onnxruntime is half way through building a session
