"""A model the Space lists at once and builds its session for later: on its first request, or by `warm` once
the server answers.

Building an onnxruntime session for a large graph (the math-art model's renderer, unrolled) takes over a second
and holds Python's lock much of that time, so building every model before serving makes the whole start wait for
the slowest. Every bundle is still read and verified before the Space starts (sha256, contract, static checks:
`Generator.checked`), so a tampered bundle is refused as before; only the session and its probe run are late. A
model whose late build fails answers each request for it with that one-line error.
"""

from __future__ import annotations

import sys
import threading
from typing import Any

from serving.bundle.generator import CheckedBundle, Generator
from serving.errors import GanimateError


class PendingGenerator:
    """Stands in for a Generator: its config is known now; anything else waits for the session (built once)."""

    def __init__(self, checked: CheckedBundle, threads: int | None = None) -> None:
        self.config = checked.config
        self.source = checked.source
        self.bundle_dir = checked.bundle
        self.has_encoder = checked.encoder_bytes is not None
        self._checked: CheckedBundle | None = checked
        self._threads = threads
        self._lock = threading.Lock()
        self._generator: Generator | None = None
        self._error: GanimateError | None = None

    @property
    def latent_dim(self) -> int:
        return self.config.latent_dim

    @property
    def num_classes(self) -> int:
        return self.config.num_classes

    @property
    def ready(self) -> bool:
        return self._generator is not None

    def loaded(self) -> Generator:
        """The Generator, built now if no one has built it yet (other callers wait for that one build)."""
        with self._lock:
            if self._generator is None:
                if self._error is not None:
                    raise self._error
                try:
                    self._generator = self._checked.load(self._threads)
                except GanimateError as exc:
                    self._error = exc
                    print(f"warning: not serving {self.source}: {exc}", file=sys.stderr)
                    raise
                self._checked = None  # its bytes live in the sessions now
            return self._generator

    def __call__(self, *args: Any, **kwargs: Any):
        return self.loaded()(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:  # only for what __init__ did not set: the Generator's own
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.loaded(), name)


def warm(models: dict) -> threading.Thread | None:
    """Build every pending model's session on one background thread, in menu order; returns it (None: none)."""
    pending = [m for m in models.values() if isinstance(m, PendingGenerator) and not m.ready]
    if not pending:
        return None

    def build() -> None:
        for model in pending:
            try:
                model.loaded()
            except GanimateError:
                pass  # said once on stderr; its requests answer with the error

    thread = threading.Thread(target=build, name="ganimate-warm", daemon=True)
    thread.start()
    return thread
