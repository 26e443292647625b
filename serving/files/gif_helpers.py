"""Helper processes that LZW-code GIF frames beside the calling process.

Pillow's GIF coder holds the GIL, so a second thread cannot code frames at the same time; a second process can.
A helper is a child Python (`python -c HELPER_MAIN`) on two pipes: it reads frames and a palette, answers
with the frames' image blocks (`serving.files.gif_blocks.frame_blocks`), and exits when its pipe closes or anything goes
wrong. The frames travel through a shared memory file the two map (Linux `memfd`; elsewhere through the pipe,
one more copy). The protocol is a JSON line and raw bytes (no pickle), so nothing a helper reads can
run code, and every answer carries its request's number, so an answer can never be taken for another's.

A render splits its frames between itself and every helper that is idle at that moment; a busy helper is skipped,
never waited for, so under load each request codes its own frames as before. A helper that fails, or takes longer
than `ANSWER_TIMEOUT_S`, is dropped and its frames are coded here: the output is the same bytes either way.

Helpers start with `start()` (the Space does this while it loads), or by themselves the first time a GIF of at
least `AUTO_START_PIXELS` pixels is coded: a child costs about a quarter of a second to start, which a small
one-off render from the command line would not win back.

Why not `concurrent.futures.ProcessPoolExecutor` with `multiprocessing.shared_memory` (tried): its children
start by `spawn` or `forkserver`, and both import the caller's `__main__` again in every child, which runs
`python -m serving` and `space/app.py` (and any user script without an `if __name__ == "__main__":` guard) a
second time; `fork` would copy a process mid-way through onnxruntime's and the web server's threads. Python 3.11's
SharedMemory also registers every attach with the shared resource tracker, so a child's attach and the parent's
unlink disagree. A `python -c` child on two pipes has none of these problems. What it earns is measured by
`python -m bench.render` ("ours" against "ours, no helper process").
"""

from __future__ import annotations

import atexit
import itertools
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

from serving.files.gif_blocks import Palette, frame_blocks

log = logging.getLogger(__name__)
MAX_HELPERS = 3
MIN_FRAMES_EACH = 4  # fewer frames per part and the pipes cost more than the coding
AUTO_START_PIXELS = 32_000_000  # frames x height x width of a GIF that starts the helpers by itself
KEEP_SHARED_BYTES = 16 << 20  # shared memory kept mapped between renders; bigger parts give theirs back
ANSWER_TIMEOUT_S = 120.0  # R2's largest part codes in a few seconds; a helper this late is stuck: kill it
# A helper's program: imported, not run with -m (serving's own imports load this module first, and runpy would
# then run a second copy of it as __main__).
HELPER_MAIN = "import sys; from serving.files.gif_helpers import serve; serve(int(sys.argv[1]))"
ERROR = 0xFFFFFFFF  # in the count field: the helper failed, a message follows
_lock = threading.Lock()
_helpers: list[_Helper] = []
_started = False
_request_ids = itertools.count(1)


def _memfd() -> int:
    """Anonymous shared memory the child inherits (no name anyone else could open), or -1: use the pipe."""
    try:
        return os.memfd_create("ganimate-gif-frames")
    except (AttributeError, OSError):  # not Linux, or refused by a sandbox
        return -1


class _Helper:
    """One child process and the lock that makes it serve one render at a time."""

    def __init__(self) -> None:
        package_root = str(Path(__file__).resolve().parents[2])
        env = dict(
            os.environ,
            PYTHONPATH=os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")])),
            OPENBLAS_NUM_THREADS="1",
            OMP_NUM_THREADS="1",
        )
        self.fd = _memfd()
        self.shared: mmap.mmap | None = None
        try:
            # cwd: this package, never another `serving` in the caller's folder. Its own session: a Ctrl-C at the
            # terminal goes to this process, which then closes the pipe.
            self.proc = subprocess.Popen(
                [sys.executable, "-c", HELPER_MAIN, str(self.fd)],
                cwd=package_root,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                env=env,
                start_new_session=True,
                pass_fds=(self.fd,) if self.fd >= 0 else (),
            )
        except OSError:
            if self.fd >= 0:
                os.close(self.fd)
            raise
        self.closed = False
        self.busy = threading.Lock()
        self.frames_coded = 0  # frames this helper has answered for (the tests read it)

    def send(self, request: int, frames: np.ndarray, palette: Palette) -> None:
        head = {
            "id": request,
            "shape": list(frames.shape),
            "gray_levels": palette.gray_levels,
            "colors": palette.colors.hex(),
            "shared": self.fd >= 0,
        }
        if self.fd >= 0:
            if self.shared is None or len(self.shared) < frames.nbytes:
                self._unmap()
                os.ftruncate(self.fd, frames.nbytes)
                self.shared = mmap.mmap(self.fd, frames.nbytes)
            np.frombuffer(self.shared, dtype=np.uint8, count=frames.size).reshape(frames.shape)[...] = frames
            self.proc.stdin.write(json.dumps(head).encode() + b"\n")
        else:
            self.proc.stdin.write(json.dumps(head).encode() + b"\n")
            self.proc.stdin.write(memoryview(np.ascontiguousarray(frames)).cast("B"))
        self.proc.stdin.flush()

    def receive(self, request: int) -> list[bytes]:
        """The blocks answering `request`; a helper that does not answer in time is killed (EOF here)."""
        timer = threading.Timer(ANSWER_TIMEOUT_S, self.proc.kill)
        timer.start()
        try:
            answered, blocks = _read_answer(self.proc.stdout)
        finally:
            timer.cancel()
        if answered != request:
            raise RuntimeError(f"answer to request {answered} instead of {request}")
        if self.shared is not None and len(self.shared) > KEEP_SHARED_BYTES:  # a big render: give it back
            self._unmap()
            os.ftruncate(self.fd, 0)
        return blocks

    def _unmap(self) -> None:
        if self.shared is not None:
            self.shared.close()
            self.shared = None

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        try:
            self.proc.stdin.close()
            self.proc.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()
        self.proc.stdout.close()
        self._unmap()
        if self.fd >= 0:
            os.close(self.fd)


def _read_exact(stream, n: int) -> bytes:
    data = stream.read(n)
    if len(data) != n:
        raise EOFError("the pipe closed mid-message")
    return data


def _read_answer(stream) -> tuple[int, list[bytes]]:
    """(request number, image blocks) of one answer; RuntimeError with the helper's message if it failed."""
    request, count = struct.unpack("<QI", _read_exact(stream, 12))
    if count == ERROR:
        (size,) = struct.unpack("<I", _read_exact(stream, 4))
        raise RuntimeError(_read_exact(stream, size).decode("utf-8", "replace"))
    sizes = struct.unpack(f"<{count}I", _read_exact(stream, 4 * count))
    blob = _read_exact(stream, sum(sizes))
    out, pos = [], 0
    for size in sizes:
        out.append(blob[pos : pos + size])
        pos += size
    return request, out


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
    """Close every helper, each once its current render is done (they also exit when this process ends)."""
    global _started
    with _lock:
        helpers = list(_helpers)
        _helpers.clear()
        _started = False
    for helper in helpers:
        waited = helper.busy.acquire(timeout=ANSWER_TIMEOUT_S)
        helper.close()
        if waited:
            helper.busy.release()


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
    owed: dict[_Helper, int] = {}  # helpers sent a part whose answer is not read yet
    try:
        for helper, (a, b) in zip(idle, parts[1:]):
            request = next(_request_ids)
            try:
                helper.send(request, frames[a:b], palette)
                owed[helper] = request
            except (OSError, ValueError) as exc:  # gone (broken pipe) or closed by stop()
                _drop(helper, exc)
        blocks = frame_blocks(frames[parts[0][0] : parts[0][1]], palette)
        for helper, (a, b) in zip(idle, parts[1:]):
            part = None
            if helper in owed:
                try:
                    part = helper.receive(owed.pop(helper))
                    if len(part) != b - a:
                        raise RuntimeError(f"{len(part)} blocks for {b - a} frames")
                    helper.frames_coded += len(part)
                except (OSError, EOFError, RuntimeError, ValueError, struct.error) as exc:
                    _drop(helper, exc)
                    part = None
            blocks += part if part is not None else frame_blocks(frames[a:b], palette)
    finally:
        for helper in owed:  # interrupted before its answer was read: its pipe is out of step, so drop it
            _drop(helper, RuntimeError("its answer was never read"))
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
    memory the frames arrive in (-1: they come through the pipe). After a bad message it answers with the error
    and exits: the parent codes those frames itself and stops using this helper."""
    stdin = stdin or sys.stdin.buffer
    stdout = stdout or sys.stdout.buffer
    while True:
        line = stdin.readline()
        if not line:
            return
        request = 0
        try:
            head = json.loads(line)
            request = int(head["id"])
            shape = tuple(int(v) for v in head["shape"])
            count = int(np.prod(shape))
            palette = Palette(gray_levels=int(head["gray_levels"]), colors=bytes.fromhex(head["colors"]))
            if head.get("shared"):
                # Mapped for this message only: the parent grows and shrinks the file between renders.
                with mmap.mmap(fd, os.fstat(fd).st_size, prot=mmap.PROT_READ) as shared:
                    frames = np.frombuffer(shared, dtype=np.uint8, count=count).reshape(shape)
                    blocks = frame_blocks(frames, palette)
                    del frames  # the view must go before the mapping closes
            else:
                frames = np.frombuffer(_read_exact(stdin, count), dtype=np.uint8).reshape(shape)
                blocks = frame_blocks(frames, palette)
        except EOFError:
            return
        except Exception as exc:  # noqa: BLE001 (any failure goes back to the parent, which codes the frames)
            message = f"{type(exc).__name__}: {exc}".encode()
            stdout.write(struct.pack("<QII", max(0, request), ERROR, len(message)) + message)
            stdout.flush()
            return
        stdout.write(struct.pack(f"<QI{len(blocks)}I", request, len(blocks), *map(len, blocks)))
        for block in blocks:
            stdout.write(block)
        stdout.flush()
