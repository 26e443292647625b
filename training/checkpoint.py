"""Checkpoints: every variable a run needs to resume exactly, in one .npz, written atomically; last 3 kept."""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np

from serving.atomic import write_atomic
from serving.errors import TrainingError

KEEP = 3
_NAME = re.compile(r"ckpt-(\d{8})\.npz$")
VAR_PREFIX = "var:"  # array names in the .npz: "var:" + group/variable.path


def checkpoint_dir(run_dir: Path) -> Path:
    return Path(run_dir) / "checkpoints"


def list_checkpoints(run_dir: Path) -> list[tuple[int, Path]]:
    found = []
    folder = checkpoint_dir(run_dir)
    if folder.is_dir():
        for path in folder.iterdir():
            m = _NAME.search(path.name)
            if m:
                found.append((int(m.group(1)), path))
    return sorted(found)


def latest_checkpoint(run_dir: Path) -> tuple[int, Path] | None:
    found = list_checkpoints(run_dir)
    return found[-1] if found else None


def keyed(groups: dict[str, object]) -> dict[str, object]:
    """{"group/variable.path": variable} for each group: a list of variables, or an optimizer, whose own name
    (Keras numbers them adam, adam_1, ... in creation order) is left out so keys do not depend on how many
    optimizers the process made before; or a {name: variable} dict. Two variables may never share a key."""
    out: dict[str, object] = {}
    for group, members in groups.items():
        if isinstance(members, dict):  # named by the caller: state whose Keras name is numbered (seed generators)
            out.update({f"{group}/{name}": var for name, var in members.items()})
            continue
        prefix = f"{members.name}/" if hasattr(members, "variables") and hasattr(members, "name") else ""
        for var in members.variables if prefix else members:
            key = f"{group}/{var.path.removeprefix(prefix)}"
            if key in out:
                raise TrainingError(f"two variables share the checkpoint key {key!r}; name the layers apart")
            out[key] = var
    return out


def save(run_dir: Path, step: int, variables: dict[str, object], keep_every: int | None = None) -> Path:
    """Write `ckpt-{step}.npz` keyed by variable path (temp file, then rename) and prune to the newest KEEP, plus
    every step that is a multiple of `keep_every` (the probe steps: the checkpoints a choice is made among)."""
    arrays = {f"{VAR_PREFIX}{key}": np.asarray(v.numpy() if hasattr(v, "numpy") else v) for key, v in variables.items()}
    for name, arr in arrays.items():
        if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
            raise TrainingError(f"refusing to checkpoint step {step}: variable {name[len(VAR_PREFIX) :]} holds NaN/Inf")
    folder = checkpoint_dir(run_dir)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"ckpt-{step:08d}.npz"
    buf = io.BytesIO()
    np.savez(buf, step=np.int64(step), **arrays)
    write_atomic(path, buf.getvalue())
    for old_step, old in list_checkpoints(run_dir)[:-KEEP]:
        if not (keep_every and old_step % keep_every == 0):
            old.unlink(missing_ok=True)
    return path


def restore(path: Path, variables: dict[str, object]) -> int:
    """Assign the stored values to `variables` by key; refuse, naming the keys, any mismatch. Returns the step."""
    with np.load(path) as data:
        stored = {name[len(VAR_PREFIX) :] for name in data.files if name.startswith(VAR_PREFIX)}
        if not stored and "count" in data.files:
            raise TrainingError(
                f"checkpoint {path} was written by an older ganimate that stored variables by "
                "position; start a new run (or export it with the version that trained it)"
            )
        missing, unexpected = sorted(set(variables) - stored), sorted(stored - set(variables))
        if missing or unexpected:

            def some(keys: list[str]) -> str:
                return ", ".join(keys[:3]) + (f" and {len(keys) - 3} more" if len(keys) > 3 else "")

            raise TrainingError(
                f"checkpoint {path} does not fit this model: "
                + "; ".join(
                    ([f"missing {some(missing)}"] if missing else [])
                    + ([f"unexpected {some(unexpected)}"] if unexpected else [])
                )
            )
        for key, var in variables.items():
            value = data[f"{VAR_PREFIX}{key}"]
            if tuple(value.shape) != tuple(var.shape):
                raise TrainingError(f"checkpoint {path}: variable {key} has shape {value.shape}, the model {var.shape}")
        for key, var in variables.items():  # only after every check passed: never half a restore
            var.assign(data[f"{VAR_PREFIX}{key}"])
        return int(data["step"])
