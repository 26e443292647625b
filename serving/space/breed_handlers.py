"""Breed's handlers: candidates from seeds, children of the ones picked, a child's walk for Animate. A part of
`SpaceApp` (serving/space/handlers.py).

The tab keeps no state on the server: the candidates are a breed sheet (serving/rendering/breed.py), JSON the page
holds and sends back with each request, so the API works the same from any program.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import gradio as gr
import numpy as np

from serving import inputs as check
from serving.errors import InputError
from serving.latent.latents import parse_int_list
from serving.rendering.breed import (
    DEFAULT_MUTATION,
    MAX_CHILDREN,
    breed,
    breed_sheet,
    grid_png,
    parent_from_recipe,
    parse_mutation,
)
from serving.rendering.recipe import Recipe
from serving.rendering.still import MAX_PARENTS, Still, png_with_recipe, still_image
from serving.space.handling import FIRST_MODEL, user_errors

DEFAULT_CANDIDATES = "0-8"
DEFAULT_BREED_CHILDREN = 9
SECONDS_PER_PICTURE = 0.1  # a 256 px math-art still, drawn in numpy: the estimate the heavy lane is asked with


class BreedHandlers:
    """Breed's handlers. A part of `SpaceApp` (serving/space/handlers.py)."""

    @user_errors
    def breed_candidates(self, model=FIRST_MODEL, seeds=DEFAULT_CANDIDATES, request: gr.Request = None):
        """Candidates to breed from: one picture per seed, each seed's own class; returns the pictures, the
        candidates' recipes (a breed sheet) and their lineage."""
        with self.turn(request):
            gen = self.model(model)
            seed_list = parse_int_list(check.text("seeds", seeds, 2000), "seed", max_count=MAX_CHILDREN)
            stills = [
                Still(
                    gen.config.name,
                    gen.config.sha256,
                    seed=s,
                    class_index=s % gen.num_classes if gen.num_classes else None,
                    size=gen.config.image_size[1],
                )
                for s in seed_list
            ]
            return self._breed_result(gen, stills)

    @user_errors
    def breed(
        self,
        model=FIRST_MODEL,
        candidates="",
        picks=None,
        children=DEFAULT_BREED_CHILDREN,
        seed=0,
        mutation=DEFAULT_MUTATION,
        request: gr.Request = None,
    ):
        """Children of the picked candidates: their latents crossed (each dimension from one parent) and mutated,
        the class either parent's. Returns the children, their recipes (the next candidates) and their lineage."""
        with self.turn(request):
            gen = self.model(model)
            sheet = _sheet(candidates)
            indices = _picks(picks, len(sheet["children"]))
            parents = [
                parent_from_recipe(json.dumps(sheet["children"][i], sort_keys=True), gen.config) for i in indices
            ]
            count = check.whole("children", children, 1, MAX_CHILDREN)
            made = breed(parents, gen.config, count, check.whole("seed", seed, 0, 2**32 - 1), parse_mutation(mutation))
            return self._breed_result(gen, made)

    @user_errors
    def breed_to_animate(self, model=FIRST_MODEL, candidates="", pick="0", request: gr.Request = None) -> str:
        """A walk for Animate that starts at the picked candidate and visits the next three: its recipe JSON."""
        with self.turn(request):
            gen = self.model(model)
            sheet = _sheet(candidates)
            first = _picks([pick], len(sheet["children"]))[0]
            n = len(sheet["children"])
            stills = [Still.from_dict(sheet["children"][(first + k) % n]) for k in range(min(4, n))]
            latents = []
            for still in stills:
                parent = parent_from_recipe(still.to_json(), gen.config)
                latents.append(tuple(float(v) for v in parent.z))
            recipe = Recipe(
                seeds=tuple(s.seed for s in stills),
                classes=tuple(s.class_index for s in stills) if gen.num_classes else None,
                latents=tuple(latents),
                bundle=gen.config.name,
                bundle_sha256=gen.config.sha256,
                name="bred",
            ).checked()
            return recipe.to_pretty_json()

    def _breed_result(self, gen, stills: list[Still]):
        """(gallery items, the sheet's JSON, the lineage text, the grid PNG's path), the pictures drawn in turn."""
        images = self.in_turn(SECONDS_PER_PICTURE * len(stills), _draw, gen, stills)
        sheet = breed_sheet(stills)
        stem = f"{gen.config.name}-breed-{hashlib.sha256(sheet.encode()).hexdigest()[:12]}"
        items = [
            (self.save(png_with_recipe(img, s.to_json()), f"{stem}-{i}", "png"), _caption(i, s))
            for i, (img, s) in enumerate(zip(images, stills))
        ]
        grid = self.save(grid_png(images, sheet), stem, "png")
        return items, sheet, _lineage(gen, stills), grid


def _draw(gen, stills: list[Still], progress=None):
    return np.stack([still_image(gen, s) for s in stills])


def _caption(i: int, still: Still) -> str:
    return f"{i}" + (f" (child {still.breed.child})" if still.breed else f" (seed {still.seed})")


def _lineage(gen, stills: list[Still]) -> str:
    """One line per picture: its number, class, and where it came from (its parents' recipe hashes)."""
    lines = []
    for i, s in enumerate(stills):
        name = gen.config.class_names[s.class_index] if s.class_index is not None else ""
        if s.breed:
            parents = " x ".join(p[:8] for p in s.breed.parents)
            lines.append(f"{i}: {name}, child {s.breed.child} of {parents} (breed seed {s.breed.seed})")
        else:
            lines.append(f"{i}: {name}, seed {s.seed}")
    return "\n".join(lines)


def _sheet(text: Any) -> dict:
    raw = check.load_json(check.text("candidates", text, 1_000_000), "candidates")
    if not isinstance(raw, dict) or raw.get("kind") != "breed" or not isinstance(raw.get("children"), list):
        raise InputError("candidates must be a breed sheet: press Candidates first, or paste a children.json")
    return raw


def _picks(picks: Any, count: int, most: int = MAX_PARENTS) -> list[int]:
    """The picked candidates' numbers, each in 0..count-1, in the order given: at most `most`, none twice (checked
    before any candidate's recipe is read)."""
    if picks is None or picks == "":
        picks = []
    if isinstance(picks, str):
        picks = [p for p in picks.replace(" ", "").split(",") if p]
    if not isinstance(picks, (list, tuple)) or len(picks) > count:
        raise InputError(f"picks: choose candidates among 0..{count - 1}")
    if len(picks) > most:
        raise InputError(f"picks: choose at most {most} candidates, got {len(picks)}")
    numbers = [check.whole("pick", p, 0, max(0, count - 1)) for p in picks]
    if len(set(numbers)) != len(numbers):
        raise InputError("picks: each candidate once")
    return numbers
