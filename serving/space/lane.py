"""The heavy lane: long renders, one at a time, in the order visitors asked, each stopped at the time cap.

A render estimated over HEAVY_SECONDS (serving.space.handling) runs here: on the lane's own thread, at a lower CPU
priority and on that thread alone (serving.bundle.lanes), so short renders keep the cores. Visitors wait their turn
in arrival order (a ticket each), so one visitor looping the largest request cannot take the lane again ahead of
someone already waiting: with one request per visitor at a time (SpaceApp.turn), every waiting visitor is served
before the greedy one's next render. A visitor waits at most `max_wait_s`; past it, or with `max_waiting` already in
line, the answer is "try again" with the reason. A render still going at `cap_s` is stopped between two chunks of
frames (`Deadline`), so the time cap holds under load, not only by the estimate.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from serving.bundle.lanes import on_this_thread
from serving.errors import BudgetError, InputError


class Deadline:
    """A `progress(done, total)` callback that stops a render once it has run `seconds` (BudgetError)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.started = time.perf_counter()

    def __call__(self, done: int, total: int) -> None:
        if time.perf_counter() - self.started > self.seconds and done < total:
            raise BudgetError(
                f"stopped after {self.seconds:g} s with {done} of {total} frames made: the machine is busy; "
                "ask for fewer frames, seeds or grid cells, or a smaller size, or try again in a moment"
            )


class FairLane:
    """Long work, one at a time, first come first served, on one low-priority thread of its own."""

    def __init__(self, max_waiting: int = 2, max_wait_s: float = 30.0, initializer: Callable | None = None) -> None:
        self.max_waiting = max_waiting
        self.max_wait_s = max_wait_s
        self._tickets = itertools.count()
        self._line: deque[int] = deque()  # tickets waiting or running, in arrival order
        self._changed = threading.Condition()
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="ganimate-heavy", initializer=initializer)

    def run(self, fn: Callable[..., Any], *args, **kwargs) -> Any:
        """fn(*args, **kwargs) on the lane's thread, alone, once every earlier ticket is done."""
        ticket = self._enter()
        try:
            return self._thread.submit(_alone, fn, *args, **kwargs).result()
        finally:
            with self._changed:
                self._line.remove(ticket)
                self._changed.notify_all()

    def waiting(self) -> int:
        """Tickets in line now, the running one included."""
        with self._changed:
            return len(self._line)

    def _enter(self) -> int:
        """Take a ticket and wait until it is first in line (InputError "try again" when the line is full or the
        wait runs past max_wait_s)."""
        with self._changed:
            if len(self._line) > self.max_waiting:
                raise InputError(
                    f"{len(self._line)} long renders are running or waiting here; try again in a few seconds, or "
                    "ask for fewer frames, seeds or grid cells, or a smaller size (short renders are served at once)"
                )
            ticket = next(self._tickets)
            self._line.append(ticket)
            ends = time.monotonic() + self.max_wait_s
            while self._line[0] != ticket:
                left = ends - time.monotonic()
                if left <= 0:
                    self._line.remove(ticket)
                    self._changed.notify_all()
                    raise InputError(
                        f"your long render waited {self.max_wait_s:g} s behind others; try again in a few seconds, "
                        "or ask for fewer frames, seeds or grid cells, or a smaller size"
                    )
                self._changed.wait(left)
            return ticket


def lower_priority() -> None:
    """The lane's thread yields the CPU to the short renders' threads (Linux: nice 10 for this thread)."""
    import os

    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
    except (AttributeError, OSError):  # no per-thread priority here: the lane still keeps to one core
        pass


def _alone(fn: Callable[..., Any], *args, **kwargs) -> Any:
    """fn(...) with its work kept on this thread (serving.bundle.lanes)."""
    with on_this_thread():
        return fn(*args, **kwargs)
