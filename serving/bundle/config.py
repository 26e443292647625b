"""The generator contract: one frozen dataclass, written as config.json beside every model.onnx.

`GeneratorConfig.from_dict` fills defaults for missing optional keys and refuses, naming the key, anything it
cannot use. Training writes it (numpy-free, TensorFlow-free), serving reads it.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from serving import inputs as check
from serving.errors import BundleError, InputError
from serving.latent.latents import LATENT_ALGORITHM

FORMAT_VERSION = 1
REQUIRED = ("name", "latent_dim", "image_size", "channels")
# A generator outputs images; one whose graph ends in a renderer also outputs the parameters it drew.
OUTPUT_SETS = (("images",), ("images", "params"))
# Upper bounds, checked before any session exists: a config.json cannot make the server allocate without limit.
MAX_LATENT_DIM = 4096
MAX_IMAGE_SIDE = 4096
MAX_CLASSES = 10_000


@dataclass(frozen=True)
class GeneratorConfig:
    name: str
    latent_dim: int
    image_size: tuple[int, int]
    channels: int
    model_family: str = "dcgan"
    num_classes: int = 0
    class_names: tuple[str, ...] = ()
    format_version: int = FORMAT_VERSION
    inputs: tuple[str, ...] = ("z",)
    outputs: tuple[str, ...] = ("images",)
    dataset: str = "unknown"
    train_steps: int = 0
    versions: dict[str, str] = field(default_factory=dict)
    sha256: str = ""
    parity_max_abs_diff: float | None = None
    latent_algorithm: str = LATENT_ALGORITHM
    extra: dict[str, Any] = field(default_factory=dict)  # training facts: losses, time, data source, ...
    # The encoder beside model.onnx, when there is one: {file, sha256, inputs, outputs, parity_max_abs_diff, ...}.
    encoder: dict[str, Any] | None = None

    @property
    def conditional(self) -> bool:
        return self.num_classes > 0

    @property
    def param_names(self) -> tuple[str, ...]:
        """Names of the `params` output's columns (empty for a pixel generator)."""
        return tuple(self.extra.get("params", {}).get("names", ())) if "params" in self.outputs else ()

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["image_size"] = list(self.image_size)
        d["class_names"] = list(self.class_names)
        d["inputs"] = list(self.inputs)
        d["outputs"] = list(self.outputs)
        return d

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"

    def replace(self, **changes: Any) -> GeneratorConfig:
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_dict(cls, raw: Any) -> GeneratorConfig:
        """A config from parsed JSON: each key read by its entry in `_KEYS` (one BundleError naming the key), then
        the checks between keys (inputs fit num_classes, the params and directions contracts)."""
        if not isinstance(raw, dict):
            raise BundleError("config.json must hold a JSON object")
        for key in (k for k in REQUIRED if k not in raw):
            raise BundleError(f"config.json is missing required key {key!r}")
        values = {key: read(key, raw) for key, read in _KEYS.items()}
        num_classes = values["num_classes"]
        values["class_names"] = _class_names(raw.get("class_names"), num_classes)
        if values["inputs"] != (("z", "y") if num_classes else ("z",)):
            raise BundleError(
                f"config.json key 'inputs' is {list(values['inputs'])}, which does not fit num_classes={num_classes}"
            )
        if values["outputs"] not in OUTPUT_SETS:
            raise BundleError(
                f"config.json key 'outputs' must be ['images'] or ['images', 'params'], got {list(values['outputs'])}"
            )
        if values["outputs"] == ("images", "params"):
            _check_params_contract(raw.get("extra"))
        _check_directions(raw.get("extra"), values["latent_dim"])
        known = {f.name for f in dataclasses.fields(cls)}
        values["extra"] = {**values["extra"], **{k: v for k, v in raw.items() if k not in known}}
        values["encoder"] = _encoder_contract(raw.get("encoder"), num_classes)
        values.pop("latent_algorithm")
        return cls(**values)

    @classmethod
    def from_json(cls, text: str) -> GeneratorConfig:
        try:
            raw = check.load_json(text, "config.json")
        except InputError as exc:  # the bundle is at fault, not the person who named it
            raise BundleError(str(exc)) from None
        return cls.from_dict(raw)


# How each key of config.json is read: the one place its type, default and bounds are written.
Reader = Callable[[str, dict], Any]


def _whole(lo: int, hi: int, default: int | None = None) -> Reader:
    def read(key: str, raw: dict) -> int:
        try:
            return check.whole(
                f"config.json key {key!r}",
                raw[key] if default is None else raw.get(key, default),
                lo,
                hi,
                text_ok=False,
            )
        except InputError as exc:
            raise BundleError(str(exc)) from None

    return read


def _text(default: str | None = None) -> Reader:
    def read(key: str, raw: dict) -> str:
        value = raw[key] if default is None else raw.get(key, default)
        if not isinstance(value, str) or len(value) > 1000:
            raise BundleError(
                f"config.json key {key!r} must be text (at most 1000 characters), got {str(value)[:40]!r}"
            )
        return value

    return read


def _mapping(key: str, raw: dict) -> dict:
    value = raw.get(key)
    if value is not None and not isinstance(value, dict):
        raise BundleError(f"config.json key {key!r} must be an object, got {type(value).__name__}")
    return dict(value or {})


def _number_or_none(key: str, raw: dict) -> float | None:
    value = raw.get(key)
    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
        raise BundleError(f"config.json key {key!r} must be a number, got {str(value)[:40]!r}")
    return value


def _image_size(key: str, raw: dict) -> tuple[int, int]:
    size = raw[key]
    if isinstance(size, int):
        size = [size, size]
    if not isinstance(size, list) or len(size) != 2:
        raise BundleError(f"config.json key 'image_size' must be [height, width], got {raw[key]!r}")
    side = _whole(1, MAX_IMAGE_SIDE)
    return side(key, {key: size[0]}), side(key, {key: size[1]})


def _channels(key: str, raw: dict) -> int:
    channels = _whole(1, 3)(key, raw)
    if channels not in (1, 3):
        raise BundleError(f"config.json key 'channels' must be 1 or 3, got {channels!r}")
    return channels


def _format_version(key: str, raw: dict) -> int:
    version = raw.get(key, FORMAT_VERSION)
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise BundleError(
            f"config.json key 'format_version' is {version!r}; this ganimate reads up to {FORMAT_VERSION}"
        )
    return version


def _latent_algorithm(key: str, raw: dict) -> str:
    algorithm = raw.get(key, LATENT_ALGORITHM)
    if algorithm != LATENT_ALGORITHM:
        raise BundleError(f"config.json key 'latent_algorithm' is {algorithm!r}; only {LATENT_ALGORITHM!r} is known")
    return algorithm


def _tensor_names(key: str, raw: dict) -> tuple[str, ...]:
    default = {"inputs": ("z", "y") if raw.get("num_classes") else ("z",), "outputs": ("images",)}[key]
    value = raw.get(key) or default
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value) or len(value) > 8:
        raise BundleError(f"config.json key {key!r} must be a list of tensor names, got {str(value)[:60]!r}")
    return tuple(value)


def _class_names(names: Any, num_classes: int) -> tuple[str, ...]:
    names = names or [str(i) for i in range(num_classes)]
    if not isinstance(names, list) or len(names) != num_classes or not all(isinstance(n, str) for n in names):
        raise BundleError(f"config.json key 'class_names' must list {num_classes} names, got {names!r}")
    return tuple(names)


_KEYS: dict[str, Reader] = {
    "format_version": _format_version,
    "latent_algorithm": _latent_algorithm,
    "name": _text(),
    "latent_dim": _whole(1, MAX_LATENT_DIM),
    "image_size": _image_size,
    "channels": _channels,
    "model_family": _text("dcgan"),
    "num_classes": _whole(0, MAX_CLASSES, 0),
    "inputs": _tensor_names,
    "outputs": _tensor_names,
    "dataset": _text("unknown"),
    "train_steps": _whole(0, 10**12, 0),
    "versions": _mapping,
    "sha256": _text(""),
    "parity_max_abs_diff": _number_or_none,
    "extra": _mapping,
}


ENCODER_FILE = "encoder.onnx"


def _encoder_contract(raw: Any, num_classes: int) -> dict[str, Any] | None:
    """config.json's `encoder`, checked: always the file encoder.onnx beside model.onnx (never a path), its
    sha256, input `image` and outputs `z` (and `logits` for a conditional model)."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise BundleError("config.json key 'encoder' must be an object")
    if raw.get("file") != ENCODER_FILE:
        raise BundleError(f"config.json key 'encoder.file' must be {ENCODER_FILE!r}, got {str(raw.get('file'))[:60]!r}")
    sha = raw.get("sha256")
    if not (isinstance(sha, str) and len(sha) == 64 and all(c in "0123456789abcdef" for c in sha)):
        raise BundleError("config.json key 'encoder.sha256' must be the 64-hex sha256 of encoder.onnx")
    outputs = ["z", "logits"] if num_classes else ["z"]
    if raw.get("inputs") != ["image"] or raw.get("outputs") != outputs:
        raise BundleError(f"config.json key 'encoder' must declare inputs ['image'] and outputs {outputs}")
    parity = raw.get("parity_max_abs_diff")
    if parity is not None and (isinstance(parity, bool) or not isinstance(parity, (int, float))):
        raise BundleError("config.json key 'encoder.parity_max_abs_diff' must be a number")
    return dict(raw)


def _check_directions(extra: Any, latent_dim: int) -> None:
    """extra.directions, when present: at most 16 of {name: text, vector: latent_dim finite numbers, ...}."""
    found = extra.get("directions") if isinstance(extra, dict) else None
    if found is None:
        return
    if not isinstance(found, list) or len(found) > 16:
        raise BundleError("config.json key 'extra.directions' must be a list of at most 16 directions")
    for i, d in enumerate(found):
        vector = d.get("vector") if isinstance(d, dict) else None
        if not (
            isinstance(d, dict)
            and isinstance(d.get("name"), str)
            and 0 < len(d["name"]) <= 100
            and isinstance(vector, list)
            and len(vector) == latent_dim
            and all(isinstance(v, (int, float)) and not isinstance(v, bool) and abs(v) < 1e6 for v in vector)
        ):
            raise BundleError(
                f"config.json key 'extra.directions[{i}]' must have a name and a vector of {latent_dim} numbers"
            )


def _check_params_contract(extra) -> None:
    """A model with a `params` output documents its columns: extra.params.names, low and high of equal length."""
    spec = extra.get("params") if isinstance(extra, dict) else None
    if not isinstance(spec, dict):
        raise BundleError("config.json key 'extra.params' must describe the params output (names, low, high)")
    names, low, high = spec.get("names"), spec.get("low"), spec.get("high")
    if not (isinstance(names, list) and names and all(isinstance(n, str) for n in names)):
        raise BundleError("config.json key 'extra.params.names' must be a list of parameter names")
    for key, values in (("low", low), ("high", high)):
        if not (
            isinstance(values, list)
            and len(values) == len(names)
            and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
        ):
            raise BundleError(f"config.json key 'extra.params.{key}' must list {len(names)} numbers")
