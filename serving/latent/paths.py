"""Latent paths: keyframe interpolation (lerp, slerp, cubic) and exactly periodic mathematical paths.

All functions return per-frame latents [frames, latent_dim] (float64 until the generator call) and, for class
morphs, per-frame mixing weights over the keyframes, so classes follow the same timing as the latents.

Loop convention: a looped path of K keyframes has K transitions of `frames` frames each, and the last frame is
one step before the first keyframe, so the animation wraps with no jump and no repeated frame. An open path
has K - 1 transitions plus the final keyframe.
"""

from __future__ import annotations

import numpy as np

from serving.errors import InputError

KEYFRAME_PATHS = ("lerp", "slerp", "cubic")
MATH_PATHS = ("circle", "lissajous", "spiral")
PATH_KINDS = KEYFRAME_PATHS + MATH_PATHS
EASINGS = ("linear", "ease-in-out")


def ease(t: np.ndarray, easing: str) -> np.ndarray:
    if easing == "linear":
        return t
    if easing == "ease-in-out":
        return 0.5 - 0.5 * np.cos(np.pi * t)
    raise InputError(f"unknown easing {easing!r}; choose {', '.join(EASINGS)}")


def frame_count(num_keys: int, frames: int, loop: bool, kind: str) -> int:
    if kind in MATH_PATHS:
        return frames * max(num_keys, 2)
    return frames * num_keys if loop else frames * (num_keys - 1) + 1


def _segments(num_keys: int, frames: int, loop: bool, easing: str) -> tuple[np.ndarray, np.ndarray]:
    """For each frame: the index of the transition's first keyframe and the eased position t in [0, 1)."""
    transitions = num_keys if loop else num_keys - 1
    j = np.arange(transitions * frames)
    seg, t = j // frames, (j % frames) / frames
    if not loop:  # close an open path on its last keyframe
        seg, t = np.append(seg, num_keys - 2), np.append(t, 1.0)
    return seg, ease(t, easing)


def _slerp(a: np.ndarray, b: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Great-circle interpolation of directions with linearly interpolated norms (keeps |z| typical)."""
    na, nb = np.linalg.norm(a, axis=-1, keepdims=True), np.linalg.norm(b, axis=-1, keepdims=True)
    ua, ub = a / np.maximum(na, 1e-12), b / np.maximum(nb, 1e-12)
    dot = np.clip(np.sum(ua * ub, axis=-1, keepdims=True), -1.0, 1.0)
    omega = np.arccos(dot)
    so = np.sin(omega)
    t = t[:, None]
    near = so < 1e-6  # parallel directions: fall back to lerp of directions
    wa = np.where(near, 1.0 - t, np.sin((1.0 - t) * omega) / np.where(near, 1.0, so))
    wb = np.where(near, t, np.sin(t * omega) / np.where(near, 1.0, so))
    direction = wa * ua + wb * ub
    direction /= np.maximum(np.linalg.norm(direction, axis=-1, keepdims=True), 1e-12)
    return direction * ((1.0 - t) * na + t * nb)


def _catmull_rom(keys: np.ndarray, seg: np.ndarray, t: np.ndarray, loop: bool) -> np.ndarray:
    """Centripetal-free (uniform) Catmull-Rom spline through every keyframe: C1-smooth, passes through keys."""
    k = len(keys)
    idx = seg[:, None] + np.arange(-1, 3)[None, :]
    idx = idx % k if loop else np.clip(idx, 0, k - 1)
    p0, p1, p2, p3 = (keys[idx[:, i]] for i in range(4))
    t = t[:, None]
    t2, t3 = t * t, t * t * t
    return 0.5 * (2 * p1 + (-p0 + p2) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t2 + (-p0 + 3 * p1 - 3 * p2 + p3) * t3)


def keyframe_path(
    keys: np.ndarray, frames: int, kind: str = "lerp", loop: bool = True, easing: str = "linear"
) -> tuple[np.ndarray, np.ndarray]:
    """Latents along a path through `keys` [K, D]. Returns (latents [N, D], weights [N, K]).

    `weights` mixes the keyframes linearly with the same timing; it is what class vectors follow, so a class
    morph stays a valid mixture of one-hots even on a cubic path (whose latents may overshoot).
    """
    keys = np.asarray(keys, dtype=np.float64)
    k = len(keys)
    if kind not in KEYFRAME_PATHS:
        raise InputError(f"unknown keyframe path {kind!r}; choose {', '.join(KEYFRAME_PATHS)}")
    if k < 2:
        raise InputError("a keyframe path needs at least two keyframes")
    seg, t = _segments(k, frames, loop, easing)
    nxt = (seg + 1) % k
    if kind == "lerp":
        latents = (1.0 - t)[:, None] * keys[seg] + t[:, None] * keys[nxt]
    elif kind == "slerp":
        latents = _slerp(keys[seg], keys[nxt], t)
    else:
        latents = _catmull_rom(keys, seg, t, loop)
    return latents, segment_weights(seg, t, k)


def segment_weights(seg: np.ndarray, t: np.ndarray, k: int) -> np.ndarray:
    """Mixing weights [N, K]: frame i is (1 - t) of keyframe seg and t of the next one (wrapping)."""
    weights = np.zeros((len(seg), k))
    weights[np.arange(len(seg)), seg] = 1.0 - t
    weights[np.arange(len(seg)), (seg + 1) % k] += t
    return weights


def orbit_weights(frames: int, k: int) -> np.ndarray:
    """Mixing weights [frames, K] for a closed orbit: it morphs through the K keyframes once per loop, linearly."""
    pos = np.arange(frames) / frames * k
    return segment_weights(pos.astype(int) % k, pos - np.floor(pos), k)


def math_path(
    z0: np.ndarray, z1: np.ndarray, total: int, kind: str, lissajous: tuple[int, int] = (3, 2), turns: int = 3
) -> np.ndarray:
    """An exactly periodic closed curve in the plane spanned by two latents: [total, D].

    The plane's basis is (z0, z1) orthonormalised; the radius is the mean of their norms, so frames stay at the
    typical norm of a Gaussian latent. Frame j is at angle 2*pi*j/total: frame `total` would equal frame 0.
    """
    z0, z1 = np.asarray(z0, np.float64), np.asarray(z1, np.float64)
    u = z0 / max(np.linalg.norm(z0), 1e-12)
    v = z1 - np.dot(z1, u) * u
    if np.linalg.norm(v) < 1e-9:
        raise InputError("the two seeds' latents are parallel; pick two different seeds")
    v /= np.linalg.norm(v)
    radius = 0.5 * (np.linalg.norm(z0) + np.linalg.norm(z1))
    theta = 2.0 * np.pi * np.arange(total) / total
    if kind == "circle":
        x, y = np.cos(theta), np.sin(theta)
    elif kind == "lissajous":
        a, b = lissajous
        if a < 1 or b < 1:
            raise InputError("lissajous frequencies must be whole numbers >= 1")
        x, y = np.cos(a * theta), np.sin(b * theta)
    elif kind == "spiral":
        # Rotate `turns` times while the radius breathes in and out once: a closed spiral.
        r = 0.55 + 0.45 * np.cos(theta)
        x, y = r * np.cos(turns * theta), r * np.sin(turns * theta)
    else:
        raise InputError(f"unknown mathematical path {kind!r}; choose {', '.join(MATH_PATHS)}")
    return radius * (x[:, None] * u[None, :] + y[:, None] * v[None, :])
