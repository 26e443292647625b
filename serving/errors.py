"""The one error family of ganimate: what a person can fix gets a `GanimateError` with one sentence.

CLIs and the Space catch `GanimateError` only, print its message and go on (exit 2 for a CLI). Anything else is a
bug and is allowed to surface as one, with its traceback: a polite "error: ..." must never hide a real fault.

- `InputError`: a value a person gave (a flag, a request field, a recipe, a file) cannot be used.
- `BudgetError`: a request that is well formed but asks for more work than the caps allow.
- `BundleError`: a model bundle (config.json, model.onnx) cannot be used safely.
- `HubError`: a push or pull to the Hugging Face Hub cannot go on.
- `TrainingError`: a run cannot go on or cannot be exported (NaN losses, parity failure, checkpoint mismatch).
"""

from __future__ import annotations


class GanimateError(Exception):
    """Base of every error a person can act on; the message is one line that says what to change."""


class InputError(GanimateError):
    """A value a person gave cannot be used; the message names the field, flag or file."""


class BudgetError(InputError):
    """A request over the work caps; the message names the cap and what to reduce."""


class BundleError(GanimateError):
    """A bundle cannot be used safely; the message names the file and the key."""


class HubError(GanimateError):
    """A push or pull that cannot go on; one line, never containing the token."""


class TrainingError(GanimateError):
    """A training run or an export that cannot go on; the message says what happened and what to try."""


def network_errors() -> tuple[type[BaseException], ...]:
    """The HTTP client's transport errors: huggingface_hub 2.x uses httpx2, earlier releases httpx."""
    import importlib

    found = []
    for name in ("httpx2", "httpx"):
        try:
            found.append(importlib.import_module(name).HTTPError)
        except ImportError:
            pass
    return tuple(found)
