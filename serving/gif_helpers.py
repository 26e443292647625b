"""Helper processes that LZW-code GIF frames beside the calling process.

Pillow's GIF coder holds the GIL, so a second thread cannot code frames at the same time; a second process can.
A helper is a child Python (`python -m serving.gif_helpers`) on two pipes: it reads frames and a palette, answers
with the frames' image blocks (`serving.gif.frame_blocks`), and exits when its pipe closes. The frames travel
through a shared memory file the two map (Linux `memfd`; elsewhere through the pipe, about 8 ms for R1's 3 MB).
The protocol is a JSON line and raw bytes (no pickle), so nothing a helper reads can run code.

A render splits its frames between itself and every helper that is idle at that moment; a busy helper is skipped,
never waited for, so under load each request codes its own frames as before. A helper that fails is dropped and
its frames are coded here: the output is the same bytes either way.

Helpers start with `start()` (the Space does this while it loads), or by themselves the first time a GIF of at
least `AUTO_START_PIXELS` pixels is coded: a child costs about a third of a second to start, which a small
one-off render from the command line would not win back.
"""

from __future__ import annotations

import atexit
import json
import logging
import mmap
import os
import struct
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np

from serving.gif import Palette, frame_blocks

log = logging.getLogger(__name__)
MAX_HELPERS = 3
MIN_FRAMES_EACH = 4  # fewer frames per part and the pipes cost more than the coding
AUTO_START_PIXELS = 32_000_000  # frames x height x width of a GIF that starts the helpers by itself
_lock = threading.Lock()
_helpers: list[_Helper] = []
_started = False


class _Helper:
    """One child process and the lock that makes it serve one render at a time."""

    def __init__(self) -> None:
        package_root = str(Path(__file__).resolve().parents[1])
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")])),
                   OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
        # Anonymous shared memory for the frames, inherited by the child (no file name anyone else could open).
        self.fd = os.memfd_create("ganimate-gif-frames") if hasattr(os, "memfd_create") else -1
        self.shared: mmap.mmap | None = None
        self.proc = subprocess.Popen([sys.executable, "-m", "serving.gif_helpers", str(self.fd)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env,
                                     pass_fds=(self.fd,) if self.fd >= 0 else ())
        self.busy = threading.Lock()
        self.frames_coded = 0  # frames this helper has answered for (the tests read it)

    def send(self, frames: np.ndarray, palette: Palette) -> None:
        head = {"shape": list(frames.shape), "gray_levels": palette.gray_levels, "colors": palette.colors.hex(),
                "shared": self.fd >= 0}
        if self.fd >= 0:
            if self.shared is None or len(self.shared) < frames.nbytes:
                if self.shared is not None:
                    self.shared.close()
                os.ftruncate(self.fd, frames.nbytes)
                self.shared = mmap.mmap(self.fd, frames.nbytes)
            np.frombuffer(self.shared, dtype=np.uint8, count=frames.size).reshape(frames.shape)[...] = frames
            self.proc.stdin.write(json.dumps(head).encode() + b"\n")
        else:
            self.proc.stdin.write(json.dumps(head).encode() + b"\n")
            self.proc.stdin.write(memoryview(np.ascontiguousarray(frames)).cast("B"))
        self.proc.stdin.flush()

    def receive(self) -> list[bytes]:
        return _read_blocks(self.proc.stdout)

    def close(self) -> None:
        try:
            self.proc.stdin.close()
            self.proc.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
        if self.shared is not None:
            self.shared.close()
        if self.fd >= 0:
            os.close(self.fd)


def _read_exact(stream, n: int) -> bytes:
    data = stream.read(n)
    if len(data) != n:
        raise EOFError("the pipe closed mid-message")
    return data


def _read_blocks(stream) -> list[bytes]:
    (count,) = struct.unpack("<I", _read_exact(stream, 4))
    if count == 0xFFFFFFFF:  # the helper failed: its message follows
        (size,) = struct.unpack("<I", _read_exact(stream, 4))
        raise RuntimeError(_read_exact(stream, size).decode("utf-8", "replace"))
    sizes = struct.unpack(f"<{count}I", _read_exact(stream, 4 * count))
    blob = _read_exact(stream, sum(sizes))
    out, pos = [], 0
    for size in sizes:
        out.append(blob[pos : pos + size])
        pos += size
    return out


def start(count: int | None = None) -> int:
    """Start helper processes (default: one per core beyond the first, at most MAX_HELPERS); idempotent.
    Returns how many are running."""
    global _started
    with _lock:
        if not _started:
            _started = True
            want = count if count is not None else min(MAX_HELPERS, (os.cpu_count() or 1) - 1)
            for _ in range(max(0, want)):
                try:
                    _helpers.append(_Helper())
                except OSError as exc:  # no fork/exec here (a sandbox): code every frame in this process
                    log.warning("GIF helper process not started: %s", exc)
                    break
        return len(_helpers)


def stop() -> None:
    """Close every helper (they also exit by themselves when this process ends)."""
    global _started
    with _lock:
        for helper in _helpers:
            helper.close()
        _helpers.clear()
        _started = False


atexit.register(stop)


def encode(frames: np.ndarray, palette: Palette) -> list[bytes]:
    """Image blocks of every frame, in order: a contiguous part for each idle helper, the first part here."""
    if not _started and frames.shape[0] * frames.shape[1] * frames.shape[2] >= AUTO_START_PIXELS:
        start()
    idle = []
    for helper in list(_helpers):
        if len(frames) < MIN_FRAMES_EACH * (len(idle) + 2):
            break
        if helper.busy.acquire(blocking=False):
            idle.append(helper)
    if not idle:
        return frame_blocks(frames, palette)
    bounds = np.linspace(0, len(frames), len(idle) + 2).round().astype(int)
    parts = [(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:])]
    failed: dict[_Helper, BaseException] = {}
    try:
        for helper, (a, b) in zip(idle, parts[1:]):
            try:
                helper.send(frames[a:b], palette)
            except OSError as exc:  # the helper is gone (its pipe is broken)
                failed[helper] = exc
        blocks = frame_blocks(frames[parts[0][0] : parts[0][1]], palette)
        for helper, (a, b) in zip(idle, parts[1:]):
            try:
                if helper in failed:
                    raise failed[helper]
                part = helper.receive()
                if len(part) != b - a:
                    raise RuntimeError(f"{len(part)} blocks for {b - a} frames")
                blocks += part
                helper.frames_coded += len(part)
            except (OSError, EOFError, RuntimeError, struct.error) as exc:
                _drop(helper, exc)
                blocks += frame_blocks(frames[a:b], palette)
    finally:
        for helper in idle:
            helper.busy.release()
    return blocks


def _drop(helper: _Helper, exc: BaseException) -> None:
    """Stop using a helper that failed; its part of the frames is coded in this process instead."""
    log.warning("GIF helper process failed (%s: %s); coding its frames here", type(exc).__name__, exc)
    with _lock:
        if helper in _helpers:
            _helpers.remove(helper)
    helper.proc.kill()
    helper.close()


def serve(fd: int = -1, stdin=None, stdout=None) -> None:
    """The helper's loop: frames and palette in, image blocks out, until the pipe closes. `fd` is the shared
    memory the frames arrive in (-1: they come through the pipe)."""
    stdin = stdin or sys.stdin.buffer
    stdout = stdout or sys.stdout.buffer
    shared: mmap.mmap | None = None
    while True:
        line = stdin.readline()
        if not line:
            return
        try:
            head = json.loads(line)
            shape = tuple(int(v) for v in head["shape"])
            count = int(np.prod(shape))
            if head.get("shared"):
                if shared is None or len(shared) < count:  # the parent grew it: map it again
                    shared = mmap.mmap(fd, os.fstat(fd).st_size, prot=mmap.PROT_READ)
                frames = np.frombuffer(shared, dtype=np.uint8, count=count).reshape(shape)
            else:
                frames = np.frombuffer(_read_exact(stdin, count), dtype=np.uint8).reshape(shape)
            palette = Palette(gray_levels=int(head["gray_levels"]), colors=bytes.fromhex(head["colors"]))
            blocks = frame_blocks(frames, palette)
        except EOFError:
            return
        except Exception as exc:  # noqa: BLE001 (any failure goes back to the parent, which codes the frames)
            message = f"{type(exc).__name__}: {exc}".encode()
            stdout.write(struct.pack("<II", 0xFFFFFFFF, len(message)) + message)
            stdout.flush()
            continue
        stdout.write(struct.pack(f"<I{len(blocks)}I", len(blocks), *map(len, blocks)))
        stdout.write(b"".join(blocks))
        stdout.flush()


if __name__ == "__main__":
    serve(int(sys.argv[1]) if len(sys.argv) > 1 else -1)
