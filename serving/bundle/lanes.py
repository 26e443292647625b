"""Which work may spread over every core. A thread in the Space's heavy lane (serving.space.lane) keeps all
of its work on itself: the generator's slices and Pillow's resizing threads are left to the short renders running
beside it. Its GIF frames are coded on it too, as every render's are (serving.files.gif)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

_local = threading.local()


def alone() -> bool:
    """Whether the calling thread is in an on_this_thread block."""
    return getattr(_local, "alone", False)


@contextlib.contextmanager
def on_this_thread() -> Iterator[None]:
    """Work started in this block runs on the calling thread alone: one core, whatever the machine has."""
    before = alone()
    _local.alone = True
    try:
        yield
    finally:
        _local.alone = before
