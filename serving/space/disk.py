"""One disk budget for what visitors leave in Gradio's folder: uploads (pictures, songs, dropped files) and
Gradio's own copies of results it serves (an Explore picture, a sample grid), beside the Space's results (held by
SpaceApp's own budget) and the gallery (held by its quota).

Every upload is removed by the handler that reads it; an upload nobody uses (a song uploaded and never rendered),
and Gradio's copies, stay until `sweep` takes them: oldest first once the folder passes its budget, and any older
than `max_age_s`. The gate sweeps before it lets an upload through, and refuses one that would not fit even then
("the Space's room for uploads is full just now"), so a stranger's uploads cannot fill the disk between Gradio's hourly
cleanups. The walk is bounded by the files the budget allows (each a few MB at most).
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

RESULTS_PREFIX = "ganimate-space-"  # the folder each SpaceApp writes its results in (tempfile.mkdtemp's prefix)


def under(root: Path, path: object) -> Path | None:
    """`path` (a stranger's text) resolved, when it names something inside the folder `root` (resolved); None for
    anything else: not text, too long, a NUL (which `resolve` would raise on), or a place outside `root`."""
    if not isinstance(path, str) or not path or len(path) > 4096 or "\x00" in path:
        return None
    resolved = Path(path).resolve()
    return resolved if Path(root).resolve() in resolved.parents else None


class Janitor:
    """Holds the files under `root` (outside results folders) within `budget_bytes`, oldest first."""

    def __init__(
        self,
        root: Path,
        budget_bytes: int,
        keep_prefix: str = RESULTS_PREFIX,
        max_age_s: float = 900.0,
        young_s: float = 30.0,
    ) -> None:
        self.root = Path(root).resolve()
        self.budget_bytes = budget_bytes
        self.keep_prefix = keep_prefix  # folders of results (each SpaceApp's own, held by its own budget)
        self.max_age_s = max_age_s
        self.young_s = young_s  # files this new are in use: Gradio stores an upload under a temporary name first
        self._lock = threading.Lock()
        # Stored upload path -> uploads of it not yet used. Gradio stores an upload under its content's hash, so two
        # visitors sending the same picture get the same path: it is removed once the last of them has used it.
        self._pending: dict[str, int] = {}
        self._swept_at = -float("inf")
        self._held = 0
        self._reserved = 0  # bytes of uploads under way (fits .. settle)

    def files(self) -> list[tuple[float, int, str]]:
        """(mtime, size, path) of every regular file under root outside results folders, oldest first."""
        found, stack = [], [str(self.root)]
        while stack:
            folder = stack.pop()
            try:
                entries = list(os.scandir(folder))
            except OSError:  # removed meanwhile (Gradio's own cleanup)
                continue
            for entry in entries:
                try:
                    if entry.is_dir(follow_symlinks=False):
                        if not entry.name.startswith(self.keep_prefix):
                            stack.append(entry.path)
                    elif entry.is_file(follow_symlinks=False):
                        info = entry.stat(follow_symlinks=False)
                        found.append((info.st_mtime, info.st_size, entry.path))
                except OSError:
                    continue
        return sorted(found)

    def took(self, paths: list[str]) -> None:
        """Gradio stored these uploads (one each): count them until they are used."""
        with self._lock:
            for path in paths[:64]:
                path = str(Path(path).resolve())  # as the handlers name it (serving.space.picture.uploaded_path)
                self._pending[path] = self._pending.get(path, 0) + 1
            if len(self._pending) > 100_000:  # counts of files long swept
                self._pending = {k: v for k, v in self._pending.items() if os.path.exists(k)}

    def release(self, path: str) -> bool:
        """One upload of `path` was used; True when no other is waiting for it (the caller removes the file)."""
        with self._lock:
            left = self._pending.get(path, 1) - 1
            if left > 0:
                self._pending[path] = left
                return False
            self._pending.pop(path, None)
            return True

    def used(self) -> int:
        """Bytes under root outside results folders now."""
        return sum(size for _, size, _ in self.files())

    SWEEP_EVERY_S = 2.0  # a sweep walks the folder: after a render it runs at most this often

    def sweep(self, room: int = 0) -> int:
        """Remove files older than max_age_s, then the oldest until `room` more bytes (and the uploads under way)
        fit in the budget; returns the bytes held afterwards. Without `room` (after a render) it walks the folder at
        most every SWEEP_EVERY_S: renders come many a second under load, and a walk per render would cost more
        than it saves."""
        with self._lock:
            return self._sweep(room)

    def fits(self, size: int) -> bool:
        """Whether an upload of `size` bytes fits in the budget once the folder is swept; when it does, its room is
        kept for it until `settle` (uploads arriving together cannot all count the same free bytes)."""
        with self._lock:
            if size + self._reserved > self.budget_bytes or self._sweep(size) + size > self.budget_bytes:
                return False
            self._reserved += size
            return True

    def settle(self, size: int) -> None:
        """An upload `fits` made room for is done (stored, counted by the next walk, or refused)."""
        with self._lock:
            self._reserved = max(0, self._reserved - size)

    def _sweep(self, room: int) -> int:
        if not room and time.monotonic() - self._swept_at < self.SWEEP_EVERY_S:
            return self._held
        self._swept_at = time.monotonic()
        files = self.files()
        held = sum(size for _, size, _ in files)
        cutoff = time.time() - self.max_age_s
        young = time.time() - self.young_s
        for mtime, size, path in files:
            if mtime >= cutoff and held + self._reserved + room <= self.budget_bytes:
                break
            if mtime > young:  # in flight (an upload Gradio is still storing, a copy being served): never taken
                break
            try:
                os.unlink(path)
                held -= size
                self._pending.pop(path, None)
            except OSError:
                pass
        self._held = held
        return held + self._reserved
