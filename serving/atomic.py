"""Atomic file writes: a temporary name beside the target, then a rename, so no reader sees half a file.

Only a regular file (or nothing) is ever replaced: a device node, a directory or a symlink at the target is
refused unless `force=True` (then the link itself is replaced, never what it points to). The file gets the
permissions a plain `open()` would give (0666 less the umask), and the temporary file is removed on every failure
path, an interrupt (KeyboardInterrupt) included.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

from serving.errors import InputError


def _umask() -> int:
    # Read once, at import (single-threaded): os.umask can only be read by setting it.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


UMASK = _umask()


def check_target(path: Path, force: bool = False) -> None:
    """Refuse a target that is not a regular file (or absent), unless `force`; InputError names it."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror or exc}") from None
    if stat.S_ISDIR(info.st_mode):
        raise InputError(f"cannot write {path}: it is a folder; name a file")
    if force or stat.S_ISREG(info.st_mode):
        return
    kind = "a symbolic link" if stat.S_ISLNK(info.st_mode) else "not a regular file (a device, pipe or socket)"
    raise InputError(f"refusing to replace {path}: it is {kind}; remove it or pass --force")


def write_atomic(path: str | os.PathLike, data: bytes, force: bool = False) -> Path:
    """Write `data` to `path` via a unique temporary file in the same folder and `os.replace`; returns the path.

    The temporary name is unique per call (mkstemp), so threads writing the same target at once (a Space
    rendering one recipe for two users) never trip over each other's temporary file. OSError becomes InputError
    naming the path (a missing folder we cannot make, a read-only place, /proc).
    """
    path = Path(path)
    check_target(path, force)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".tmp-{path.name[:64]}-", dir=path.parent)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o666 & ~UMASK)  # mkstemp makes 0600; a written file should look like any other
        os.replace(tmp, path)
        tmp = None
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror or exc}") from None
    finally:  # also on KeyboardInterrupt: never leave a half-written temporary file behind
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
    return path
