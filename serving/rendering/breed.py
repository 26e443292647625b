"""Breeding: children of two or more pictures, by crossing their latents and mutating them.

A parent is any recipe ganimate wrote (a walk's keyframe, a Sample sheet's seed, a still, a child of an earlier
breed); its genome is its latent z and its class. Each child is made with its own generator,
`numpy.random.default_rng([seed, child])`, in three numbered steps (see `breed`: two parents slerped at a random
point, Gaussian mutation, the nearer parent's class), and is written down as a still's
recipe (serving/rendering/still.py) holding its latent, its class and its lineage, so it renders again
byte-identical without breeding again.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import numpy as np

from serving import inputs as check
from serving.errors import InputError
from serving.latent.latents import z_from_seed
from serving.rendering.still import MAX_PARENTS, Lineage, Still, still_image

MAX_CHILDREN = 64
DEFAULT_MUTATION = 0.3  # the mutation's standard deviation, against the prior's 1 per dimension
MUTATION_RANGE = (0.0, 2.0)


@dataclass(frozen=True)
class Parent:
    z: np.ndarray  # float32 [latent_dim], as the model sees it (truncation applied)
    class_index: int | None
    identity: str  # sha256 of the recipe it came from (and which entry), its name in a child's lineage


def identity(raw: Any, pick: int) -> str:
    """A parent's name in a child's lineage: the sha256 of its recipe as canonical JSON (sorted keys, no spaces)
    and the entry picked, so one recipe pretty-printed or compact, from a file or from the Space, is one parent."""
    canonical = json.dumps(raw, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(f"{canonical}#{pick}".encode()).hexdigest()


def parent_from_recipe(text: str, config, pick: int = 0) -> Parent:
    """The genome of entry `pick` of a recipe ganimate wrote: a walk's keyframe, a Sample sheet's seed, a still,
    or a breed sheet's child. One InputError when it has none or was made by another model."""
    raw = check.load_json(text, "parent recipe")
    if not isinstance(raw, dict):
        raise InputError("a parent must be a recipe (a JSON object)")
    if raw.get("bundle_sha256") not in (None, "", config.sha256) and raw.get("kind") != "breed":
        raise InputError(f"this parent was made by {str(raw.get('bundle') or 'another model')[:60]}, not {config.name}")
    kind = raw.get("kind")
    who = identity(raw, pick)
    if kind == "breed":
        children = raw.get("children")
        if not isinstance(children, list) or not 0 <= pick < len(children):
            raise InputError(
                f"this breed sheet has {len(children or [])} children; pick one of 0..{len(children or []) - 1}"
            )
        child = children[pick]
        return parent_from_recipe(json.dumps(child, sort_keys=True), config, 0)
    if kind == "still":
        still = Still.from_dict(raw)
        if still.bundle_sha256 != config.sha256:
            raise InputError(f"this parent was made by {still.bundle[:60]}, not {config.name}")
        from serving.rendering.still import still_z

        return Parent(still_z(still, config.latent_dim), still.class_index, who)
    if kind == "sample":
        from serving.rendering.sample import read_sample_recipe

        seeds, classes, psi = read_sample_recipe(text, config)
        if not classes and config.num_classes:  # `sample` labels entry i with class i mod num_classes, not by seed
            classes = [i % config.num_classes for i in range(len(seeds))]
        return _seed_parent(seeds, classes, psi, None, pick, config, who)
    if kind is not None:
        raise InputError(f"a {str(kind)[:20]} recipe holds no latent to breed from")
    from serving.rendering.recipe import Recipe

    recipe = Recipe.from_dict(raw)
    return _seed_parent(
        list(recipe.seeds), list(recipe.classes or ()), recipe.truncation, recipe.latents, pick, config, who
    )


def _seed_parent(seeds, classes, psi, latents, pick: int, config, who: str) -> Parent:
    """Keyframe (or sheet entry) `pick`: its latent if one is given, else its seed's z times psi. Seeds and classes
    are one per entry or one for all (cycled, as rendering does); latents one per entry."""
    classes = list(classes or ())
    count = max(len(seeds), len(classes))
    if not 0 <= pick < count:
        raise InputError(f"this recipe has {count} keyframes or seeds; pick one of 0..{count - 1}")
    for name, values in (("seeds", seeds), ("classes", classes)):
        if len(values) not in (0, 1, count):
            raise InputError(f"this recipe has {len(values)} {name} for {count} entries: one per entry or one for all")
    if latents is not None and len(latents) != count:
        raise InputError(f"this recipe has {len(latents)} latents for {count} keyframes: one per keyframe")
    seed = seeds[pick if len(seeds) > 1 else 0]
    if latents is not None and latents[pick] is not None:
        z = np.asarray(latents[pick], np.float32)
        if z.shape != (config.latent_dim,):
            raise InputError(f"latents[{pick}] has {z.size} numbers; this model's latent_dim is {config.latent_dim}")
    else:
        z = (z_from_seed(seed, config.latent_dim).astype(np.float64) * psi).astype(np.float32)
    cls = None
    if config.num_classes:
        cls = int(classes[pick if len(classes) > 1 else 0]) if classes else int(seed) % config.num_classes
    return Parent(z, cls, who)


def breed(
    parents: list[Parent], config, children: int = 9, seed: int = 0, mutation: float = DEFAULT_MUTATION
) -> list[Still]:
    """`children` stills bred from `parents` (two or more), reproducible from `seed`."""
    if not 2 <= len(parents) <= MAX_PARENTS:
        raise InputError(f"breeding takes 2..{MAX_PARENTS} parents, got {len(parents)}")
    if not 1 <= children <= MAX_CHILDREN:
        raise InputError(f"children must be in 1..{MAX_CHILDREN}, got {children}")
    mutation = check.number("mutation", mutation, *MUTATION_RANGE)
    genes = np.stack([p.z.astype(np.float64) for p in parents])
    made = []
    for child in range(children):
        rng = np.random.default_rng([int(seed), child])
        # 1. Crossover: two of the parents, and a point t on the great circle between their latents (slerp keeps
        #    a Gaussian latent's length, where a plain average would shrink it toward the mean picture).
        first, second = rng.choice(len(parents), size=2, replace=False)
        t = float(rng.uniform(0.0, 1.0))
        z = _slerp(genes[first], genes[second], t)
        # 2. Mutation: Gaussian noise of the given strength on every dimension.
        z = z + mutation * rng.standard_normal(config.latent_dim)
        # 3. The class: the nearer parent's (a rose and a hypotrochoid have children of both kinds).
        cls = parents[int(first if t < 0.5 else second)].class_index
        made.append(
            Still(
                bundle=config.name,
                bundle_sha256=config.sha256,
                class_index=cls,
                latent=tuple(float(v) for v in z.astype(np.float32)),
                size=config.image_size[1],
                breed=Lineage(tuple(p.identity for p in parents), int(seed), child, float(mutation)),
            )
        )
    return made


def _slerp(a: np.ndarray, b: np.ndarray, t: float) -> np.ndarray:
    """Spherical interpolation from a (t=0) to b (t=1); linear when they are (anti)parallel."""
    cos = float(np.dot(a, b) / max(np.linalg.norm(a) * np.linalg.norm(b), 1e-12))
    omega = np.arccos(np.clip(cos, -1.0, 1.0))
    if np.sin(omega) < 1e-6:
        return (1.0 - t) * a + t * b
    return (np.sin((1.0 - t) * omega) * a + np.sin(t * omega) * b) / np.sin(omega)


def breed_sheet(children: list[Still]) -> str:
    """The JSON a breed grid carries and `--save-recipes` writes: every child's still recipe, in grid order."""
    return json.dumps({"kind": "breed", "children": [json.loads(c.to_json()) for c in children]}, sort_keys=True)


def children_images(generator, children: list[Still]) -> np.ndarray:
    """Each child drawn as its recipe draws it: uint8 [n, size, size, c]."""
    return np.stack([still_image(generator, c) for c in children])


def grid_png(images: np.ndarray, sheet_json: str, cols: int | None = None) -> bytes:
    """The children side by side (at most `cols` a row, about square by default), carrying the breed sheet."""
    from serving.files.grid import tile
    from serving.rendering.still import png_with_recipe

    cols = cols or int(np.ceil(np.sqrt(len(images))))
    rows = -(-len(images) // cols)
    return png_with_recipe(tile(images, rows, cols, pad=4), sheet_json)


def split_pick(spec: str) -> tuple[str, int]:
    """'children.json#3' -> ('children.json', 3); a name without '#N' picks entry 0."""
    name, sep, tail = spec.rpartition("#")
    if sep and tail.isascii() and tail.isdigit():
        return name, int(tail)
    return spec, 0


def parse_mutation(value: Any) -> float:
    return check.number("mutation", value, *MUTATION_RANGE)
