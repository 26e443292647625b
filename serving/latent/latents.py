"""Seeds are the public latent API: the portable `z(seed)` of DESIGN.md, seed-list parsing, truncation, classes.

Algorithm `splitmix64-boxmuller-v1` (any language can reproduce it bit for bit):
SplitMix64 stream -> uniforms in (0, 1) -> Box-Muller pairs in float64 -> first `latent_dim` normals as float32.
"""

from __future__ import annotations

import numpy as np

from serving.errors import InputError
from serving.inputs import ascii_whole

LATENT_ALGORITHM = "splitmix64-boxmuller-v1"
MAX_SEED = 2**32 - 1
TRUNCATION_RANGE = (0.0, 2.0)  # psi: 0 draws the mean face, 1 the prior, 2 twice as far out
MAX_SEEDS = 4096  # cap on a parsed seed list; a range like 0-4294967295 must not allocate gigabytes

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MUL1 = np.uint64(0xBF58476D1CE4E5B9)
_MUL2 = np.uint64(0x94D049BB133111EB)


def splitmix64(seed: int, count: int) -> np.ndarray:
    """The first `count` outputs of SplitMix64 started from state `seed` (uint64, wrapping arithmetic)."""
    i = np.arange(1, count + 1, dtype=np.uint64)
    with np.errstate(over="ignore"):
        x = np.uint64(seed) + i * _GOLDEN
        x = (x ^ (x >> np.uint64(30))) * _MUL1
        x = (x ^ (x >> np.uint64(27))) * _MUL2
        x ^= x >> np.uint64(31)
    return x


def z_from_seed(seed: int, latent_dim: int) -> np.ndarray:
    """The portable latent for `seed`: float32 [latent_dim], standard normal."""
    check_seed(seed)
    pairs = (latent_dim + 1) // 2
    x = splitmix64(seed, 2 * pairs)
    u = ((x >> np.uint64(11)).astype(np.float64) + 0.5) * 2.0**-53
    u1, u2 = u[0::2], u[1::2]
    r = np.sqrt(-2.0 * np.log(u1))
    normals = np.empty(2 * pairs, dtype=np.float64)
    normals[0::2] = r * np.cos(2.0 * np.pi * u2)
    normals[1::2] = r * np.sin(2.0 * np.pi * u2)
    return normals[:latent_dim].astype(np.float32)


def z_batch(seeds: list[int] | np.ndarray, latent_dim: int, psi: float = 1.0) -> np.ndarray:
    """Stack `z(seed)` for each seed and apply truncation `psi` (scales toward the origin): [n, latent_dim]."""
    check_psi(psi)
    if len(seeds) == 0:
        return np.zeros((0, latent_dim), dtype=np.float32)
    return (np.stack([z_from_seed(int(s), latent_dim) for s in seeds]) * np.float32(psi)).astype(np.float32)


def check_seed(seed: int) -> int:
    """Return `seed` as int if it is a valid seed (0 .. 2**32-1), else raise ValueError."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise InputError(f"a seed must be a whole number in 0..{MAX_SEED}, got {seed!r}")
    if not 0 <= int(seed) <= MAX_SEED:
        raise InputError(f"seed {seed} is out of range 0..{MAX_SEED}")
    return int(seed)


def check_psi(psi: float) -> float:
    lo, hi = TRUNCATION_RANGE
    if not np.isfinite(psi) or not lo <= float(psi) <= hi:
        raise InputError(f"truncation psi must be a finite number in {lo:g}..{hi:g}, got {psi}")
    return float(psi)


def parse_int_list(text: str, what: str = "seed", max_value: int = MAX_SEED, max_count: int = MAX_SEEDS) -> list[int]:
    """Parse '0-31,40,7' into [0, 1, ..., 31, 40, 7]; ranges are inclusive. Raises ValueError with a clear message."""
    if not isinstance(text, str) or not text.strip():
        raise InputError(f"the {what} list is empty; give numbers like 0-7,12")
    out: list[int] = []
    for part in text.replace(" ", "").split(","):
        part = part.strip("\t\r\n")  # a list pasted over lines
        if not part:
            continue
        lo_text, sep, hi_text = part.partition("-")
        # ASCII digits only: int() would also read "١", "１２" and "1_000" (see serving.inputs.ascii_whole)
        lo, hi = ascii_whole(lo_text), ascii_whole(hi_text if sep else lo_text)
        if lo is None or hi is None:
            raise InputError(f"cannot read {part[:40]!r} as a {what} or a range like 3-9")
        if lo > hi:
            raise InputError(f"{what} range {part!r} runs backwards")
        if lo < 0 or hi > max_value:
            raise InputError(f"{what} {part!r} is out of range 0..{max_value}")
        if len(out) + (hi - lo + 1) > max_count:
            raise InputError(f"too many {what}s: at most {max_count} in one request")
        out.extend(range(lo, hi + 1))
    if not out:
        raise InputError(f"the {what} list is empty; give numbers like 0-7,12")
    return out


def parse_classes(text: str, class_names: list[str] | tuple[str, ...]) -> list[int]:
    """Parse '3,8,0' or 'rose,julia' (indices, ranges or class names, mixed) into class indices."""
    names = {name.lower(): i for i, name in enumerate(class_names)}
    if not class_names:
        raise InputError("this model is not conditional; leave classes empty")
    out: list[int] = []
    for part in (text or "").split(","):
        part = part.strip()
        if not part:
            continue
        if part.lower() in names:  # a name first: MNIST's class names are the digits themselves
            out.append(names[part.lower()])
        elif part[0] in "0123456789":  # isdigit() would also pass "١" and "¹"
            out.extend(parse_int_list(part, "class", len(class_names) - 1))
        else:
            raise InputError(
                f"unknown class {part!r}; choose from {', '.join(class_names)} or 0..{len(class_names) - 1}"
            )
    if not out:
        raise InputError("the class list is empty; give class numbers or names like " + ", ".join(class_names[:2]))
    if len(out) > MAX_SEEDS:
        raise InputError(f"too many classes: at most {MAX_SEEDS} in one request")
    return out


def one_hot(labels: list[int] | np.ndarray, num_classes: int) -> np.ndarray:
    """Soft one-hot class vectors: float32 [n, num_classes]."""
    labels = np.asarray(labels, dtype=np.int64)
    if num_classes <= 0:
        raise InputError("this model is not conditional; it takes no classes")
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise InputError(f"class must be in 0..{num_classes - 1}, got {labels.tolist()}")
    return np.eye(num_classes, dtype=np.float32)[labels]


def class_mix(a: int, b: int, t: float | np.ndarray, num_classes: int) -> np.ndarray:
    """A class morph: (1 - t) * onehot(a) + t * onehot(b); t may be an array of mixing weights."""
    t = np.atleast_1d(np.asarray(t, dtype=np.float32))[:, None]
    ya, yb = one_hot([a], num_classes), one_hot([b], num_classes)
    return ((1.0 - t) * ya + t * yb).astype(np.float32)
