"""One picture from one latent: prints (math art up to 8192 px), curve SVGs and bred children, with their recipe.

A still's recipe is JSON with `"kind": "still"`: the model (name, sha256), a seed or a latent, the class, the
truncation, the size and the format (png or svg), and for a bred child its lineage (`breed`: the parents' recipe
sha256s, the breeding seed, the child's number, the mutation). The same recipe on the same bundle gives the same
bytes: `python -m serving sample --recipe print.png` (or rose.svg, or a breed sheet's `children.json#3`).

A model that ends in the math-art renderer (a `params` output) draws its parameters again in numpy at any size
(serving/art/mathart_print.py) or as a vector line (serving/art/mathart_svg.py); a pixel model draws at its own size.
"""

from __future__ import annotations

import dataclasses
import io
import json
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from serving import inputs as check
from serving.errors import InputError
from serving.latent.latents import TRUNCATION_RANGE, check_seed, one_hot, z_from_seed
from serving.rendering.recipe import MAX_LATENT_VALUE

STILL_FORMATS = ("png", "svg")
MAX_PARENTS = 16


@dataclass(frozen=True)
class Lineage:
    parents: tuple[str, ...]  # sha256 of each parent's recipe JSON, in the order given
    seed: int  # the breeding seed
    child: int  # this child's number among its siblings
    mutation: float


@dataclass(frozen=True)
class Still:
    bundle: str
    bundle_sha256: str
    seed: int = 0  # unused when `latent` is given
    class_index: int | None = None  # None for unconditional models
    truncation: float = 1.0  # scales the seed's z; a given latent is used as it is
    latent: tuple[float, ...] | None = None
    size: int = 256
    format: str = "png"
    breed: Lineage | None = None

    def to_json(self) -> str:
        fields = {"kind": "still", **dataclasses.asdict(self)}
        fields["class"] = fields.pop("class_index")
        for optional in ("latent", "breed"):
            if fields[optional] is None:
                del fields[optional]
        return json.dumps(fields, sort_keys=True)

    @classmethod
    def from_dict(cls, raw: Any) -> Still:
        """A still's recipe from parsed JSON, every field checked (one InputError naming the field)."""
        if not isinstance(raw, dict) or raw.get("kind") != "still":
            raise InputError('this is no still\'s recipe (prints, SVGs and bred children carry "kind": "still")')
        known = {"kind", "bundle", "bundle_sha256", "seed", "class", "truncation", "latent", "size", "format", "breed"}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise InputError(f"unknown still field(s): {', '.join(str(u)[:40] for u in unknown[:5])}")
        sha = raw.get("bundle_sha256")
        if not isinstance(sha, str) or not re.fullmatch(r"[0-9a-f]{64}", sha):
            raise InputError("bundle_sha256 must be 64 hex digits")
        cls_raw = raw.get("class")
        latent = raw.get("latent")
        if latent is not None:
            if (
                not isinstance(latent, list)
                or not 1 <= len(latent) <= 4096
                or any(isinstance(v, (str, bool)) for v in latent)
            ):
                raise InputError("latent must be null or a list of numbers")
            latent = tuple(check.number("latent", v, -MAX_LATENT_VALUE, MAX_LATENT_VALUE) for v in latent)
        return cls(
            bundle=str(raw.get("bundle", ""))[:100],
            bundle_sha256=sha,
            seed=check_seed(raw.get("seed", 0)),
            class_index=None if cls_raw is None else check.whole("class", cls_raw, 0, 10**6, text_ok=False),
            truncation=check.number("truncation", raw.get("truncation", 1.0), *TRUNCATION_RANGE),
            latent=latent,
            size=check.whole("size", raw.get("size", 256), 8, 8192, text_ok=False),
            format=check.choice("format", raw.get("format", "png"), STILL_FORMATS),
            breed=None if raw.get("breed") is None else _lineage(raw["breed"]),
        )


def _lineage(raw: Any) -> Lineage:
    if not isinstance(raw, dict) or set(raw) != {"parents", "seed", "child", "mutation"}:
        raise InputError("breed must be {parents, seed, child, mutation}")
    parents = raw["parents"]
    if not isinstance(parents, list) or not 1 <= len(parents) <= MAX_PARENTS:
        raise InputError(f"breed.parents must list 1..{MAX_PARENTS} recipe sha256s")
    for sha in parents:
        if not isinstance(sha, str) or not re.fullmatch(r"[0-9a-f]{64}", sha):
            raise InputError("breed.parents must hold 64-hex-digit sha256s")
    return Lineage(
        parents=tuple(parents),
        seed=check_seed(raw["seed"]),
        child=check.whole("breed.child", raw["child"], 0, 10**4, text_ok=False),
        mutation=check.number("breed.mutation", raw["mutation"], 0.0, 2.0),
    )


def still_z(still: Still, latent_dim: int) -> np.ndarray:
    """The still's latent, float32 [latent_dim]: the given one as it is, else the seed's z times the truncation."""
    if still.latent is not None:
        if len(still.latent) != latent_dim:
            raise InputError(f"latent has {len(still.latent)} numbers; this model's latent_dim is {latent_dim}")
        return np.asarray(still.latent, np.float32)
    return (z_from_seed(still.seed, latent_dim).astype(np.float64) * still.truncation).astype(np.float32)


def check_still(generator, still: Still) -> None:
    """Every check of `still` against the model, before any work (one InputError)."""
    config = generator.config
    if still.bundle_sha256 != config.sha256:
        raise InputError(f"this still was made by {still.bundle[:60] or 'another model'}, not {config.name}")
    if config.num_classes and still.class_index is None:
        raise InputError("this model is conditional: the still needs a class")
    if still.class_index is not None and not 0 <= still.class_index < max(1, config.num_classes):
        raise InputError(f"class {still.class_index} is not one of this model's {config.num_classes} classes")
    has_params = "params" in config.outputs
    if not has_params and (still.format == "svg" or still.size != config.image_size[1]):
        raise InputError(
            f"{config.name} draws pixels at {config.image_size[1]} px: prints and SVG are for math-art models"
        )
    if still.format == "svg":
        from serving.art.mathart_svg import check_svg_family

        check_svg_family(config.class_names[still.class_index])
    still_z(still, generator.latent_dim)


def _inputs(generator, still: Still) -> tuple[np.ndarray, np.ndarray | None]:
    z = still_z(still, generator.latent_dim)[None]
    y = one_hot([still.class_index], generator.num_classes) if generator.num_classes else None
    return z, y


def still_params(generator, still: Still) -> np.ndarray:
    """The math-art parameter vector the model draws for the still (float64 [P])."""
    return generator.params(*_inputs(generator, still))[0].astype(np.float64)


def still_image(generator, still: Still) -> np.ndarray:
    """The still as uint8 [size, size, 3] (a print for math-art models, the model's own picture otherwise)."""
    check_still(generator, still)
    if "params" in generator.config.outputs:
        from serving.art.mathart_print import render_print

        return render_print(still_params(generator, still), still.class_index, still.size)
    return generator(*_inputs(generator, still))[0]


def still_bytes(generator, still: Still) -> bytes:
    """The still's file (PNG or SVG) carrying its recipe: the same bytes for the same recipe and bundle."""
    check_still(generator, still)
    if still.format == "svg":
        from serving.art.mathart_svg import to_svg

        return to_svg(still_params(generator, still), still.class_index, still.size, still.to_json())
    return png_with_recipe(still_image(generator, still), still.to_json())


def png_with_recipe(image: np.ndarray, recipe_json: str, compress_level: int = 6) -> bytes:
    """uint8 [h, w, c] as a PNG carrying `recipe_json` (serving/files/recipe_file.py)."""
    from PIL import Image

    from serving.files.recipe_file import add_to_png

    buf = io.BytesIO()
    Image.fromarray(image[..., 0] if image.shape[2] == 1 else image).save(
        buf, format="PNG", compress_level=compress_level
    )
    return add_to_png(buf.getvalue(), recipe_json)
