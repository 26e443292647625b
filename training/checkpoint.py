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


def save(run_dir: Path, step: int, variables: list) -> Path:
    """Write `ckpt-{step}.npz` (temp file, then rename) and prune to the newest KEEP."""
    arrays = {f"v{i:04d}": np.asarray(v.numpy() if hasattr(v, "numpy") else v) for i, v in enumerate(variables)}
    for name, arr in arrays.items():
        if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
            raise TrainingError(f"refusing to checkpoint step {step}: variable {name} holds NaN/Inf")
    folder = checkpoint_dir(run_dir)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"ckpt-{step:08d}.npz"
    buf = io.BytesIO()
    np.savez(buf, step=np.int64(step), count=np.int64(len(arrays)), **arrays)
    write_atomic(path, buf.getvalue())
    for _, old in list_checkpoints(run_dir)[:-KEEP]:
        old.unlink(missing_ok=True)
    return path


def restore(path: Path, variables: list) -> int:
    """Assign the stored values to `variables` (same order as saved); returns the step."""
    with np.load(path) as data:
        count = int(data["count"])
        if count != len(variables):
            raise ValueError(f"checkpoint {path} holds {count} variables but the model has {len(variables)}")
        for i, var in enumerate(variables):
            value = data[f"v{i:04d}"]
            if tuple(value.shape) != tuple(var.shape):
                raise ValueError(f"checkpoint {path}: variable {i} ({var.path}) shape {value.shape} != {var.shape}")
            var.assign(value)
        return int(data["step"])
