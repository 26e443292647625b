"""`Recipe`: the whole description of a render (JSON round-trip), and its strict schema for untrusted JSON.

A recipe comes from people and programs (pasted into the Space, sent to its API, read from a file or a gallery),
so `Recipe.from_dict` checks every field's type, length and range before a Recipe exists.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from serving import inputs as check
from serving.errors import InputError
from serving.files.formats import FORMATS
from serving.latent.latents import TRUNCATION_RANGE, check_seed
from serving.latent.paths import EASINGS, PATH_KINDS, frame_count
from serving.music.walk import Music, frames_of, parse_music
from serving.rendering.resize import RESAMPLES

# The one place each bound of a recipe field is written. The JSON schema (_FIELDS), the library's and CLI's
# `check_recipe`, the Space's form (`form_value`) and its sliders all read these.
MAX_SIZE = 1024
MAX_FRAMES_PER_TRANSITION = 240
MAX_KEYFRAMES = 64
MAX_GRID = 8
MAX_FPS = 60
MAX_NAME = 200
MAX_LISSAJOUS = 12
BOUNDS: dict[str, tuple[float, float]] = {
    "frames": (1, MAX_FRAMES_PER_TRANSITION),
    "fps": (1, MAX_FPS),
    "size": (16, MAX_SIZE),
    "truncation": TRUNCATION_RANGE,
}
CHOICES: dict[str, tuple[str, ...]] = {"path": PATH_KINDS, "easing": EASINGS, "format": FORMATS, "resample": RESAMPLES}


# The recipes of stills, told apart by their "kind": what renders them again.
OTHER_KINDS = {
    "sample": "this is a Sample sheet's recipe: draw it again with `python -m serving sample --recipe FILE`",
    "explore": "this is an Explore picture's recipe: its fields are /explore's, on the model it names",
    "still": "this is a still's recipe (a print, an SVG, a bred child): draw it again with "
    "`python -m serving sample --recipe FILE`",
    "breed": "this is a breed sheet's recipe: draw child N again with `python -m serving sample --recipe FILE#N`",
}


def clean_name(value: Any) -> str:
    """A recipe's label as printable text (control characters and lone surrogates dropped), at most MAX_NAME."""
    if not isinstance(value, str):
        raise InputError(f"name must be text, got {type(value).__name__}")
    return "".join(ch for ch in value if ch.isprintable())[:MAX_NAME]


@dataclass(frozen=True)
class Recipe:
    seeds: tuple[int, ...] = (1, 2, 3, 4)
    classes: tuple[int, ...] | None = None  # one per keyframe, or one for all; None for unconditional models
    path: str = "cubic"
    frames: int = 24  # frames per transition
    easing: str = "linear"
    loop: bool = True
    truncation: float = 1.0
    grid: tuple[int, int] = (1, 1)  # rows, cols
    size: int = 256  # output width in pixels (height follows the grid's aspect)
    fps: int = 24
    format: str = "gif"
    resample: str = "lanczos"
    lissajous: tuple[int, int] = (3, 2)
    bundle_sha256: str = ""
    name: str = ""
    # One entry per keyframe: None (the seed's z) or the latent_dim floats of a picture (serving.picture.project). Left
    # out of the JSON when absent, so every recipe written before it existed keeps its bytes and hash.
    latents: tuple[tuple[float, ...] | None, ...] | None = None
    # A walk that follows a song (serving/music/walk.py): its file's sha256, the seconds used and the mapping. The
    # video lasts `seconds`; `frames` and `loop` do not apply. Left out of the JSON when absent, like latents.
    audio: Music | None = None
    # The bundle's name beside its sha256, so a recipe says which model made it. Left out of the JSON when empty.
    bundle: str = ""
    # A Compare recipe: the two models (name, sha256), left then right; it names no single bundle. Left out when None.
    models: tuple[tuple[str, str], tuple[str, str]] | None = None

    def to_json(self) -> str:
        fields = dataclasses.asdict(self)
        for optional in ("latents", "audio", "models"):
            if fields[optional] is None:
                del fields[optional]
        if not fields["bundle"]:
            del fields["bundle"]
        if "models" in fields:
            fields["models"] = [{"bundle": n, "sha256": s} for n, s in fields["models"]]
        return json.dumps(fields, sort_keys=True)

    def to_pretty_json(self) -> str:
        """The same JSON one field a line, lists kept on their line: easy to read and to copy back."""
        fields = json.loads(self.to_json())
        return "{\n" + ",\n".join(f"  {json.dumps(k)}: {json.dumps(v)}" for k, v in fields.items()) + "\n}"

    @classmethod
    def from_json(cls, text: str) -> Recipe:
        return cls.from_dict(check.load_json(text, "recipe"))

    @classmethod
    def from_dict(cls, raw: Any) -> Recipe:
        """A recipe from parsed JSON, every field checked for its type, length and range (one InputError naming
        the field); fields left out take their defaults. Ranges that depend on the model are checked by
        `serving.rendering.render.validate`."""
        if not isinstance(raw, dict):
            raise InputError("a recipe must be a JSON object")
        if raw.get("kind") in OTHER_KINDS:  # a still's recipe (a Sample sheet, an Explore picture): not a walk
            raise InputError(OTHER_KINDS[raw["kind"]])
        fields = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(raw) - fields)
        if unknown:
            raise InputError(f"unknown recipe field(s): {', '.join(str(u)[:40] for u in unknown[:5])}")
        values: dict[str, Any] = {}
        for key, value in raw.items():
            values[key] = _FIELDS[key](key, value)
        return cls(**values)

    def checked(self) -> Recipe:
        """This recipe, after every field passed the same schema as JSON (a Recipe built in Python skips
        `from_dict`); raises InputError naming the first bad field."""
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            _FIELDS[f.name](f.name, dataclasses.asdict(value) if isinstance(value, Music) else value)
        return self

    def frame_total(self) -> int:
        if self.audio is not None:
            return frames_of(self.audio, self.fps)
        return frame_count(max(len(self.seeds), len(self.classes or ())), self.frames, self.loop, self.path)

    def output_shape(self) -> tuple[int, int]:
        rows, cols = self.grid
        return max(1, round(self.size * rows / cols)), self.size


def _ints(lo: int, hi: int, count: tuple[int, int]) -> Callable[[str, Any], tuple[int, ...]]:
    def parse(key: str, value: Any) -> tuple[int, ...]:
        if not isinstance(value, (list, tuple)) or not count[0] <= len(value) <= count[1]:
            size = f"{count[0]}" if count[0] == count[1] else f"{count[0]}..{count[1]}"
            raise InputError(f"{key} must be a list of {size} whole numbers, got {str(value)[:60]!r}")
        return tuple(check.whole(key, v, lo, hi, text_ok=False) for v in value)

    return parse


def _seeds(key: str, value: Any) -> tuple[int, ...]:
    """A list of 1..MAX_KEYFRAMES whole numbers, each a seed (0..MAX_SEED), said the way the CLI and Space say it."""
    if not isinstance(value, (list, tuple)) or not value:
        raise InputError(f"{key} must be a list of 1..{MAX_KEYFRAMES} whole numbers, got {str(value)[:60]!r}")
    if len(value) > MAX_KEYFRAMES:
        raise InputError(f"at most {MAX_KEYFRAMES} keyframe seeds, got {len(value)}")
    seeds = []
    for v in value:
        if isinstance(v, float) and v.is_integer():
            v = int(v)  # 2.0 in JSON is 2
        seeds.append(check_seed(v))
    return tuple(seeds)


def _choice(key: str, value: Any) -> str:
    return check.choice(key, value, CHOICES[key])


def _whole(key: str, value: Any) -> int:
    lo, hi = BOUNDS[key]
    return check.whole(key, value, int(lo), int(hi), text_ok=False)


def span(key: str) -> str:
    """A field's bounds as people read them: "16..1024", "0..2"."""
    lo, hi = BOUNDS[key]
    return f"{lo:g}..{hi:g}"


def form_value(key: str, value: Any) -> Any:
    """A field as a form or a client sends it ("24" and 24.0 are 24): same bounds and messages as the schema."""
    if key in CHOICES:
        return _choice(key, value)
    lo, hi = BOUNDS[key]
    return check.number(key, value, lo, hi) if isinstance(lo, float) else check.whole(key, value, lo, hi)


def _sha(key: str, value: Any) -> str:
    if value in ("", None):
        return ""
    if not isinstance(value, str) or not re.fullmatch(r"[0-9a-f]{64}", value):
        raise InputError(f"{key} must be empty or 64 hex digits, got {str(value)[:40]!r}")
    return value


def _bundle(key: str, value: Any) -> str:
    """A bundle's name as config.json gives it: letters, digits, '.', '_', '-' (empty: no name given)."""
    if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z0-9._-]{0,100}", value):
        raise InputError(f"{key} must be a bundle's name (letters, digits, . _ -), got {str(value)[:40]!r}")
    return value


def _models(key: str, value: Any) -> tuple[tuple[str, str], tuple[str, str]] | None:
    """A Compare recipe's two models, left then right: [{"bundle": name, "sha256": hex}, {...}]."""
    if value is None:
        return None
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise InputError(f'{key} must list two models, like [{{"bundle": "a", "sha256": "..."}}, {{...}}]')
    pairs = []
    for i, entry in enumerate(value):
        if isinstance(entry, dict) and set(entry) == {"bundle", "sha256"}:
            entry = (entry["bundle"], entry["sha256"])
        if not isinstance(entry, (list, tuple)) or len(entry) != 2:
            raise InputError(f'{key}[{i}] must be {{"bundle": name, "sha256": 64 hex digits}}')
        name, sha = _bundle(f"{key}[{i}].bundle", entry[0]), _sha(f"{key}[{i}].sha256", entry[1])
        if not name or not sha:
            raise InputError(f"{key}[{i}] must give the model's bundle name and sha256")
        pairs.append((name, sha))
    return pairs[0], pairs[1]


def _flag(key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise InputError(f"{key} must be true or false, got {str(value)[:40]!r}")
    return value


def _number(key: str, value: Any) -> float:
    lo, hi = BOUNDS[key]
    if isinstance(value, (str, bool)) or value is None:
        raise InputError(f"{key} must be a number in {lo:g}..{hi:g}, got {str(value)[:40]!r}")
    return check.number(key, value, lo, hi)


MAX_LATENT_VALUE = 1000.0  # far outside any prior; bounds what a pasted latent can make a generator compute


def _latents(key: str, value: Any) -> tuple[tuple[float, ...] | None, ...] | None:
    """null, or one entry per keyframe: null or a list of finite floats (its length is checked against the model's
    latent_dim by serving.rendering.render.validate)."""
    if value is None:
        return None
    if not isinstance(value, (list, tuple)) or not 1 <= len(value) <= MAX_KEYFRAMES:
        raise InputError(
            f"latents must be a list of 1..{MAX_KEYFRAMES} entries (null or a list of numbers), got {str(value)[:60]!r}"
        )
    out: list[tuple[float, ...] | None] = []
    for i, entry in enumerate(value):
        if entry is None:
            out.append(None)
            continue
        if not isinstance(entry, (list, tuple)) or not 1 <= len(entry) <= 4096:
            raise InputError(f"latents[{i}] must be null or a list of numbers, got {str(entry)[:60]!r}")
        if any(isinstance(v, (str, bool)) for v in entry):
            raise InputError(f"latents[{i}] must hold numbers only")
        out.append(tuple(check.number(f"latents[{i}]", v, -MAX_LATENT_VALUE, MAX_LATENT_VALUE) for v in entry))
    # Only nulls is the same render as no latents: one recipe, one hash.
    return tuple(out) if any(v is not None for v in out) else None


_FIELDS: dict[str, Callable[[str, Any], Any]] = {
    "seeds": _seeds,
    "classes": lambda k, v: None if v is None else _ints(0, 10**6, (1, MAX_KEYFRAMES))(k, v),
    "path": _choice,
    "easing": _choice,
    "format": _choice,
    "resample": _choice,
    "frames": _whole,
    "fps": _whole,
    "size": _whole,
    "loop": _flag,
    "truncation": _number,
    "grid": _ints(1, MAX_GRID, (2, 2)),
    "lissajous": _ints(1, MAX_LISSAJOUS, (2, 2)),
    "bundle_sha256": _sha,
    "name": lambda k, v: clean_name(v),
    "latents": _latents,
    "audio": parse_music,
    "bundle": _bundle,
    "models": _models,
}
