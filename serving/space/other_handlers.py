"""Compare, Sample and Explore's handlers. A part of `SpaceApp` (serving/space/handlers.py)."""

from __future__ import annotations

import dataclasses
import hashlib
from typing import Any

import gradio as gr
import numpy as np

from serving import inputs as check
from serving.bundle.generator import Generator
from serving.galleries.gallery import recipe_hash
from serving.latent.latents import MAX_SEED, class_mix, parse_classes, parse_int_list, z_from_seed
from serving.rendering.budget import SPACE
from serving.rendering.compare import check_comparable as compare_check
from serving.rendering.compare import compare_recipe, compare_seconds, render_compare
from serving.rendering.recipe import Recipe, form_value
from serving.rendering.sample import DEFAULT_SAMPLE_SEEDS, sample, sample_recipe, summary, to_npz, to_png
from serving.space.explore import edit_params, explore_directions, explore_recipe
from serving.space.handling import (
    DEFAULT,
    DEFAULT_GRID,
    DEFAULT_SEEDS,
    FIRST_MODEL,
    MAX_SAMPLE_SEEDS,
    PARTNER,
    user_errors,
)


class OtherTabHandlers:
    """Compare, Sample and Explore's handlers. A part of `SpaceApp` (serving/space/handlers.py)."""

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
        model_a=FIRST_MODEL,
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
        Returns the file (it carries its recipe) and the recipe, which names both models."""
        with self.turn(request):
            name_a = self.model(model_a, "model_a").config.name
            if model_b in (None, "", PARTNER):
                model_b = self.compare_partner(name_a)
            name_b = check.choice("model_b", model_b, list(self.models))
            gen_a, gen_b = self.models[name_a], self.models[name_b]
            compare_check(gen_a, gen_b)
            _, recipe = self.build_recipe(
                name_a, seeds, classes, path, frames, fps, loop, easing, truncation, DEFAULT_GRID, size, format, ""
            )
            recipe = dataclasses.replace(recipe, bundle="", bundle_sha256="")  # the file names both models instead
            data = self.in_turn(compare_seconds(gen_a, gen_b, recipe), render_compare, gen_a, gen_b, recipe, SPACE)
            carried = compare_recipe(gen_a, gen_b, recipe)  # what the file carries: `python -m serving compare`
            digest = hashlib.sha256(carried.to_json().encode()).hexdigest()[:16]
            return self.save(data, f"compare-{digest}", recipe.format), carried.to_pretty_json()

    # ---- Sample ----------------------------------------------------------------------------------------------

    @user_errors
    def sample(
        self,
        model=FIRST_MODEL,
        seeds=DEFAULT_SAMPLE_SEEDS,
        classes="",
        truncation=DEFAULT.truncation,
        request: gr.Request = None,
    ):
        """A grid of images (PNG) and the same images with labels (.npz), one per seed."""
        with self.turn(request):
            gen = self.model(model)
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
            png = to_png(samples, sample_recipe(gen.config, seed_list, class_list, psi))
            return self.save(png, stem, "png"), self.save(to_npz(samples), stem, "npz"), summary(samples)

    # ---- Explore ---------------------------------------------------------------------------------------------

    @user_errors
    def explore(
        self,
        model=FIRST_MODEL,
        seed=7,
        d1=0.0,
        d2=0.0,
        d3=0.0,
        class_a="",
        class_b="",
        mix=0.0,
        truncation=DEFAULT.truncation,
        size=DEFAULT.size,
        request: gr.Request = None,
    ):
        """One image: z(seed) with three sliders (named directions in z, or a math-art model's real parameters),
        and (conditional models) class A mixed toward class B."""
        with self.turn(request):
            self.janitor.sweep()  # Gradio keeps a copy of every picture it serves: each slider move leaves one
            return self._explore(model, seed, d1, d2, d3, class_a, class_b, mix, truncation, size)

    def _explore(self, model, seed, d1, d2, d3, class_a, class_b, mix, truncation, size) -> str:
        """The PNG's path; the PNG carries what made it (serving.space.explore.explore_recipe)."""
        import io

        from serving.files.recipe_file import add_to_png

        gen = self.model(model)
        seed = check.whole("seed", seed, 0, MAX_SEED)
        steps = [check.number(f"d{i + 1}", v, -5.0, 5.0) for i, v in enumerate((d1, d2, d3))]
        psi = form_value("truncation", truncation)
        size = form_value("size", size)
        mix = check.number("mix", mix, 0.0, 1.0) if gen.num_classes else 0.0
        a, y = self._explore_classes(gen, seed, class_a, class_b, mix)
        buf = io.BytesIO()
        self._explore_image(gen, seed, steps, a, y, psi, size).save(buf, format="PNG")
        made = explore_recipe(gen.config, seed, steps, class_a, class_b, mix, psi, size)
        data = add_to_png(buf.getvalue(), made)
        return self.save(data, f"explore-{hashlib.sha256(made.encode()).hexdigest()[:16]}", "png")

    @staticmethod
    def _explore_image(gen: Generator, seed: int, steps: list[float], a: int, y, psi: float, size: int):
        """The picture Explore shows (a PIL image)."""
        from PIL import Image

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
