"""Resize a whole batch of frames at once: Lanczos as two matrix products, or Pillow on every core.

Small generator images (an MNIST digit, 28x28, shown at 256 px) are resized as `W_y @ X @ W_x^T` over the whole
batch, straight from the generator's float output, so pixels are quantised to uint8 once instead of twice. The
weight matrices follow Pillow's Lanczos filter (a = 3, support widened when shrinking), so the picture is the
one Pillow would draw, without its intermediate rounding. Large inputs (a 4x4 wall of 256 px drawings) would make
the dense matrices wasteful: those frames go through Pillow's own resampler, several frames at once in threads
(Pillow releases the GIL while it resamples).
"""

from __future__ import annotations

import contextlib
import functools
import os
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from serving.bundle import lanes

RESAMPLES = ("lanczos", "nearest")
DENSE_MAX_PIXELS = 128 * 128  # input frames up to this size use the matrix form
CACHE_BYTES = 1 << 20  # float output resized and quantised at a time (well inside a core's L2 cache)
WORKERS = max(1, min(4, os.cpu_count() or 1))


_blas_lock = threading.Lock()
_blas_users = 0  # renders inside blas_threads() right now
_blas_limit = None  # threadpoolctl's limiter while any render is inside


@functools.lru_cache(maxsize=1)
def _blas_controller():
    """threadpoolctl's view of the BLAS numpy loaded (None without threadpoolctl: nothing to limit then)."""
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:
        return None
    return ThreadpoolController()


@contextlib.contextmanager
def blas_threads(workers: int) -> Iterator[None]:
    """numpy's BLAS on at most cores // workers threads while `workers` chunks of frames are resized at once.

    BLAS threads keep spinning for a while after each product; beside onnxruntime sessions and other chunks on the
    same cores they only steal time (bench.render measures it). The limit is process-wide (threadpoolctl's public
    `limit`), so the first render in sets it and the last one out gives it back; it never raises a count that is
    lower already, such as the Space's one thread (serving.space.blas.one_blas_thread, called by every SpaceApp)."""
    global _blas_users, _blas_limit
    controller = _blas_controller()
    wanted = max(1, (os.cpu_count() or 1) // max(1, workers))
    if controller is None or workers <= 1:
        yield
        return
    with _blas_lock:
        if _blas_users == 0:
            now = [lib.num_threads for lib in controller.select(user_api="blas").lib_controllers]
            if now and max(now) > wanted:
                _blas_limit = controller.limit(limits=wanted, user_api="blas")
        _blas_users += 1
    try:
        yield
    finally:
        with _blas_lock:
            _blas_users -= 1
            if _blas_users == 0 and _blas_limit is not None:
                _blas_limit.restore_original_limits()
                _blas_limit = None


def _lanczos(x: np.ndarray, a: int = 3) -> np.ndarray:
    return np.where(np.abs(x) < a, np.sinc(x) * np.sinc(x / a), 0.0)


@functools.lru_cache(maxsize=32)
def lanczos_matrix(size_in: int, size_out: int) -> np.ndarray:
    """[size_out, size_in] float32 weights: row i is output pixel i as a normalised mix of input pixels."""
    scale = size_in / size_out
    support_scale = max(scale, 1.0)  # shrinking widens the kernel (anti-aliasing), as Pillow does
    centers = (np.arange(size_out) + 0.5) * scale
    taps = np.arange(size_in) + 0.5
    weights = _lanczos((taps[None, :] - centers[:, None]) / support_scale)
    weights /= weights.sum(axis=1, keepdims=True)
    return weights.astype(np.float32)


def _dense(frames: np.ndarray, height: int, width: int) -> np.ndarray:
    """frames [n, h, w, c] float in [0, 1] -> uint8 [n, height, width, c] by two matrix products.

    The rows of every frame are resized in one large product. The columns are then resized a block of a few
    frames at a time (CACHE_BYTES of floats, which stay in the CPU's cache), one product per block, and each
    block is quantised there: a whole chunk's float output (12 MB for 48 frames at 256 px) would go out to memory
    and back for every pass that quantises it, and on two busy cores those passes cost more than the products."""
    n, h, w, c = frames.shape
    wy, wx = lanczos_matrix(h, height), lanczos_matrix(w, width)
    x = np.ascontiguousarray(np.moveaxis(frames.astype(np.float32, copy=False), 3, 1))  # [n, c, h, w]
    rows = (x.reshape(n * c * h, w) @ wx.T).reshape(n * c, h, width)  # along each row: [n*c, h, width]
    rows = np.ascontiguousarray(rows.transpose(1, 0, 2))  # [h, n*c, width]: a block's columns side by side
    out = np.empty((n, height, width, c), dtype=np.uint8)
    block = max(1, min(n, CACHE_BYTES // (c * height * width * 4)))
    for a in range(0, n, block):
        b = min(n, a + block)
        # One product per block (not one per frame: small products split badly over BLAS threads).
        part = (wy @ rows[:, a * c : b * c].reshape(h, -1)).reshape(height, b - a, c, width)
        np.multiply(part, 255.0, out=part)
        np.add(part, 0.5, out=part)
        np.clip(part, 0.0, 255.0, out=part)
        out[a:b] = part.transpose(1, 0, 3, 2)  # to uint8: truncation of the rounded, clipped values
    return out


def _pillow(frames: np.ndarray, height: int, width: int, method: int) -> np.ndarray:
    """uint8 frames resized one by one with Pillow, several at once in threads."""
    from PIL import Image

    n, _, _, c = frames.shape
    out = np.empty((n, height, width, c), dtype=np.uint8)

    def one(i: int) -> None:
        img = Image.fromarray(frames[i, ..., 0] if c == 1 else frames[i])
        out[i] = np.asarray(img.resize((width, height), method)).reshape(height, width, c)

    if n > 1 and WORKERS > 1 and not lanes.alone():
        with ThreadPoolExecutor(WORKERS) as pool:
            list(pool.map(one, range(n)))
    else:
        for i in range(n):
            one(i)
    return out


def uses_dense(h: int, w: int, height: int, width: int, resample: str) -> bool:
    """Whether frames of h x w go through the matrix form (then they should arrive as floats in [0, 1])."""
    return resample == "lanczos" and (h, w) != (height, width) and h * w <= DENSE_MAX_PIXELS


def resize_frames(frames: np.ndarray, height: int, width: int, resample: str) -> np.ndarray:
    """uint8 [n, height, width, c] from frames [n, h, w, c]: float in [0, 1] (dense Lanczos) or uint8."""
    from PIL import Image

    n, h, w, c = frames.shape
    if frames.dtype != np.uint8 and uses_dense(h, w, height, width, resample):
        return _dense(frames, height, width)
    if frames.dtype != np.uint8:
        from serving.files.grid import to_uint8

        frames = to_uint8(frames)
    if (h, w) == (height, width):
        return frames
    if resample == "nearest" and height % h == 0 and width % w == 0:
        # One copy through a broadcast view, instead of two passes of np.repeat.
        fy, fx = height // h, width // w
        view = np.broadcast_to(frames[:, :, None, :, None, :], (n, h, fy, w, fx, c))
        return np.ascontiguousarray(view).reshape(n, height, width, c)
    return _pillow(frames, height, width, Image.NEAREST if resample == "nearest" else Image.LANCZOS)
