"""The page's own handlers: Gallery, About, the class hint, Explore's slider names and shown files. A part of
`SpaceApp` (serving/space/handlers.py).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import gradio as gr

from serving import inputs as check
from serving.errors import InputError
from serving.latent.latents import MAX_SEED
from serving.space.disk import under
from serving.space.explore import explore_directions, param_labels
from serving.space.handling import API_USAGE, GALLERY_SHOWN, PROJECT_USAGE, user_errors


class PageHandlers:
    """The page's own handlers (Gallery, About, hints, shown files), mixed into SpaceApp (serving/space/handlers.py)."""

    @user_errors
    def gallery_items(self, limit: int = GALLERY_SHOWN) -> tuple[list[tuple[str, str]], list[str]]:
        """The latest renders whose files exist, and the recipe JSON of each, in the same order: the select
        handler reads the recipe from this list, so a missing file can never shift which recipe a picture shows."""
        if self.gallery is None:
            return [], []
        items, recipes = [], []
        for e in self.gallery.latest(limit):
            if e.path.is_file():  # served from the gallery's folder itself (a static path: SpaceApp)
                items.append((str(e.path), f"#{e.id} {e.recipe.path} {e.recipe.name}".strip()))
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
        from gradio.utils import get_upload_folder

        resolved = under(Path(get_upload_folder()), file.get("path") if isinstance(file, dict) else file)
        if resolved is None or not resolved.is_file():
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
        # Relative picture links cannot resolve in the page: each goes, with the line that introduces it ("...:")
        picture = r"!\[[^\]\n]*\]\([^)\n]*\)"
        body = re.sub(rf"(?m)(^[^\n]*:[ \t]*\n(?:[ \t]*\n)?)?^(?:{picture}[ \t]*)+\n?", "", body)  # picture lines
        return re.sub(picture, "", body)  # and any picture inside a line

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
