"""Animate's handlers (and Your picture's, which starts an animation): the recipe from the form, the render,
share links, the opening animation and the examples. A part of `SpaceApp` (serving/space/handlers.py).
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

import gradio as gr

from serving import inputs as check
from serving.bundle.generator import Generator
from serving.errors import GanimateError, InputError
from serving.galleries.gallery import recipe_hash
from serving.latent.latents import parse_classes, parse_int_list
from serving.rendering.recipe import MAX_GRID, Recipe, form_value
from serving.rendering.render import COMPARE_ELSEWHERE, render
from serving.space.handling import (
    DEFAULT,
    DEFAULT_GRID,
    DEFAULT_SEEDS,
    EXAMPLES,
    FIRST_MODEL,
    PAGE,
    THUMBNAIL_SIZE,
    _page_url,
    plain,
    user_errors,
)

log = logging.getLogger(__name__)


class AnimateHandlers:
    """Animate's and Your picture's handlers, mixed into SpaceApp (serving/space/handlers.py)."""

    def build_recipe(
        self, model, seeds, classes, path, frames, fps, loop, easing, truncation, grid, size, fmt, recipe_json
    ) -> tuple[Generator, Recipe]:
        """(Generator, Recipe) from raw request values; a pasted recipe wins over the other fields."""
        recipe_json = check.text("recipe", recipe_json).strip()
        if recipe_json:
            recipe = Recipe.from_json(recipe_json)
            if recipe.models is not None:  # two models: Compare's, never one half of it rendered here
                raise InputError(COMPARE_ELSEWHERE.format(" and ".join(name for name, _ in recipe.models)))
            by_sha = [g for g in self.models.values() if g.config.sha256 == recipe.bundle_sha256]
            gen = by_sha[0] if by_sha else self.model(model)  # reproduce on the bundle the recipe was made with
            # The recipe records the bundle that really rendered it, never what the client claimed.
            return gen, dataclasses.replace(recipe, bundle_sha256=gen.config.sha256, bundle=gen.config.name)
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
            bundle=gen.config.name,
        )
        return gen, recipe

    @user_errors
    def animate(
        self,
        model=FIRST_MODEL,
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
                self.default_model if model is FIRST_MODEL else model,
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
            track = self.songs.track(music, self.out_dir, self.janitor)
            if track is not None:
                parsed = with_music(parsed, track, beats_per_key, react, react_band, react_amount)
            elif parsed.audio is not None:  # checked here too: an earlier render of it must not answer without the song
                raise InputError("this recipe follows a song: add the same song under Music")
            progress(0.2, desc=f"rendering {parsed.frame_total()} frames")
            # A music render is not kept in the gallery: replaying it needs the song, which is not kept.
            return self.rendered(gen, parsed, record=track is None, audio=track), parsed.to_pretty_json()

    @user_errors
    def project(
        self, model=FIRST_MODEL, picture=None, following="5,6,7", class_hint="", request: gr.Request = None
    ) -> tuple[str, str, str, str, str]:
        """Your picture -> (the picture as the model saw it beside its version, the latent JSON, an animation that
        starts from it, its recipe, a sentence on how well it fits). A drawing of a curve comes back as its
        family's equation and the latent that draws it. The uploaded file is removed once this returns
        (serving/space/picture.py)."""
        with self.turn(request):
            from serving.space.picture import project_picture

            return project_picture(self, model, picture, following, class_hint)

    @user_errors
    def recipe_from_file(self, file=None, request: gr.Request = None) -> str:
        """UI only: the recipe a dropped ganimate file carries, for the recipe box (one of the visitor's requests)."""
        from serving.space.picture import recipe_from_file

        with self.turn(request):
            return recipe_from_file(file, self.out_dir, self.janitor)

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
            file, shown = self.animate(name, recipe=recipe.to_json(), request=request)
        except (GanimateError, gr.Error) as exc:
            gr.Warning(f"the link's recipe cannot be rendered: {_message(exc)}")
            return tuple(gr.update() for _ in range(6))
        return name, recipe.to_pretty_json(), file, file, shown, self.share_link(shown, request)

    def initial_animation(self) -> tuple[str, str]:
        """The default render, made once when the demo is built, so the page opens with an animation playing.
        Not recorded in the gallery: nobody asked for it."""
        gen = self.models[self.default_model]
        recipe = dataclasses.replace(DEFAULT, bundle_sha256=gen.config.sha256, bundle=gen.config.name)
        return self.rendered(gen, recipe, record=False, keep=True), recipe.to_pretty_json()

    @user_errors
    def opening(self, name: Any) -> tuple[str, str, str, str]:
        """UI only: when the model changes, Animate shows that model's default render (preview, file, recipe) and
        clears the share link, instead of the previous model's."""
        gen = self.model(name)
        recipe = dataclasses.replace(DEFAULT, bundle_sha256=gen.config.sha256, bundle=gen.config.name)
        path = self.rendered(gen, recipe, record=False, keep=True)
        return path, path, recipe.to_pretty_json(), ""

    def example_thumbnails(self, model: Any = FIRST_MODEL) -> list[tuple[str, str]]:
        """Each example rendered small on `model`, as (file, caption): a gallery of living thumbnails. Made once
        per model (`warm_thumbnails` makes them at start), each on its own: one that cannot be made is left out
        and logged, never the whole gallery. They are the page's own, so no visitor's time cap applies."""
        gen = self.model(model)
        items = []
        for label, (seeds, classes, path, frames, fps, loop, easing, psi, grid, _size, _fmt) in EXAMPLES:
            try:
                _, recipe = self.build_recipe(
                    gen.config.name,
                    seeds,
                    classes,
                    path,
                    frames,
                    fps,
                    loop,
                    easing,
                    psi,
                    grid,
                    THUMBNAIL_SIZE,
                    "gif",
                    "",
                )
                key = f"thumb-{recipe_hash(recipe)[:16]}"
                cached = self.out_dir / f"{key}.gif"
                made = cached if cached.is_file() else self.save(render(gen, recipe, PAGE), key, "gif", keep=True)
            except GanimateError as exc:
                log.warning("example %r on %s left out: %s", label, gen.config.name, exc)
                continue
            items.append((str(made), label))
        return items

    def warm_thumbnails(self) -> None:
        """Every model's example thumbnails, made ahead (on a background thread at start): a model switch then
        only reads files."""
        for name in self.models:
            try:
                self.example_thumbnails(name)
            except GanimateError as exc:  # a model whose late build failed: its requests say so
                log.warning("no examples for %s: %s", name, exc)

    def switch_model(self, name: Any) -> tuple:
        """UI only: everything that follows the model (class hint, About, examples, Animate's render). Each part is
        made on its own: one that fails keeps what was shown and says why in a warning, instead of turning every
        panel into an error."""
        parts = (
            (lambda: (self.class_hint(name),), 1),
            (lambda: self.about(name), 3),
            (lambda: (self.example_thumbnails(name),), 1),
            (lambda: self.opening(name), 4),
        )
        out: list = []
        for make, count in parts:
            try:
                out.extend(make())
            except (GanimateError, gr.Error) as exc:
                gr.Warning(_message(exc))
                out.extend(gr.update() for _ in range(count))
        return tuple(out)

    @staticmethod
    def example_values(evt: gr.SelectData | None = None) -> tuple:
        """The form's values (seeds ... format, and an empty recipe) of the example selected."""
        index = getattr(evt, "index", None)
        if not isinstance(index, int) or not 0 <= index < len(EXAMPLES):
            return tuple(gr.update() for _ in range(12))
        return (*EXAMPLES[index][1], "")


def _message(exc: Exception) -> str:
    """The one line an error says, as text (a gr.Error's is escaped already by user_errors)."""
    return exc.message if isinstance(exc, gr.Error) else plain(exc)
