"""Checks for untrusted request values (the Space's API): anything a client may send, typed and bounded.

A client can bypass the UI's sliders and send text, NaN, Infinity, huge or negative numbers. Each helper returns
the clean value or raises `InputError` with one sentence that names the field.
"""

from __future__ import annotations

import json
import math
import os
import re
import stat
from typing import Any, BinaryIO

from serving.errors import InputError


def _shown(x: float) -> str:
    """A bound or value as people read it: whole numbers in full (4294967295, not 4.29497e+09)."""
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e18 else f"{x:g}"


# Numbers as text are ASCII only. Python's float() and int() also read other scripts' digits (١٢, １２) and
# underscores (1_000), and str.isdigit() passes superscripts (¹) that int() then refuses: a form field that means
# 12 is written 0-9, and anything else is refused here rather than read as a number nobody typed.
_DECIMAL = re.compile(r"[ \t\r\n]*[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?[ \t\r\n]*")
_NOT_FINITE = re.compile(r"[ \t\r\n]*[+-]?(?:inf|infinity|nan)[ \t\r\n]*", re.IGNORECASE)  # refused below as not finite
_DIGITS = re.compile(r"[0-9]+")


def ascii_whole(text: str) -> int | None:
    """The whole number that `text` writes in ASCII digits 0-9 alone (no sign, space or underscore), else None."""
    return int(text) if _DIGITS.fullmatch(text) and len(text) <= MAX_INT_DIGITS else None


def _numeric_text(value: Any) -> bool:
    """True for a value float() may read: not text at all (numbers, numpy scalars), or text of ASCII digits."""
    if isinstance(value, (bytes, bytearray)):  # float(b"1_0") is 10.0: bytes are no request value
        return False
    if not isinstance(value, str):
        return True
    return (_DECIMAL.fullmatch(value) or _NOT_FINITE.fullmatch(value)) is not None


def number(name: str, value: Any, lo: float, hi: float) -> float:
    """A finite float in [lo, hi]; numeric text like '0.8' (ASCII digits) is accepted, anything else refused."""
    if isinstance(value, bool) or value is None or not _numeric_text(value):
        raise InputError(f"{name} must be a number in {lo:g}..{hi:g}, got {str(value)[:40]!r}")
    try:
        x = float(value)
    except (TypeError, ValueError, OverflowError):  # OverflowError: an int with hundreds of digits
        raise InputError(f"{name} must be a number in {lo:g}..{hi:g}, got {str(value)[:40]!r}") from None
    if not math.isfinite(x):
        raise InputError(f"{name} must be a finite number, got {value!r}")
    if not lo <= x <= hi:
        raise InputError(f"{name} must be in {_shown(lo)}..{_shown(hi)}, got {_shown(x)}")
    return x


def whole(name: str, value: Any, lo: int, hi: int, text_ok: bool = True) -> int:
    """A whole number in [lo, hi] (2.0 is accepted as 2; 2.5 is not). `text_ok=False` (JSON recipes and config
    files, where a type is a promise) refuses numeric text such as "24"."""
    if not text_ok and (isinstance(value, (str, bool)) or value is None):
        raise InputError(f"{name} must be a whole number in {lo}..{hi}, got {str(value)[:40]!r}")
    x = number(name, value, lo, hi)
    if not x.is_integer():
        raise InputError(f"{name} must be a whole number, got {x:g}")
    return int(x)


def flag(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise InputError(f"{name} must be true or false, got {str(value)[:40]!r}")


def choice(name: str, value: Any, options: tuple[str, ...] | list[str]) -> str:
    if not isinstance(value, str) or value not in options:
        raise InputError(f"{name} must be one of {', '.join(options)}, got {str(value)[:40]!r}")
    return value


def text(name: str, value: Any, max_len: int = 20_000) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InputError(f"{name} must be text, got {type(value).__name__}")
    if len(value) > max_len:
        raise InputError(f"{name} is too long ({len(value)} characters; at most {max_len})")
    return value


def grid(value: Any, max_side: int) -> tuple[int, int]:
    """'2x3' -> (2, 3); rows and columns in ASCII digits (see ascii_whole)."""
    raw = text("grid", value, 20).lower().replace(" ", "")
    parts = [ascii_whole(p) for p in raw.split("x")]
    if len(parts) != 2 or None in parts:
        raise InputError(f"grid must look like 2x3, got {raw!r}")
    rows, cols = parts
    if not (1 <= rows <= max_side and 1 <= cols <= max_side):
        raise InputError(f"grid rows and columns must be in 1..{max_side}, got {raw}")
    return rows, cols


# A Hub repo id, by the Hub's own rules (huggingface_hub.utils.validate_repo_id): namespace/name, each part
# alphanumerics, "-", "_" and ".", neither starting nor ending with "-" or ".", no "--" or "..", not ending in
# ".git", at most 96 characters each. Never a path: no leading dot or slash.
_PART = r"[A-Za-z0-9_](?:[\w.-]{0,94}[A-Za-z0-9_])?"
REPO_ID = re.compile(rf"{_PART}/{_PART}")
# A revision: a 40-hex commit, or a branch or tag name as git allows it (segments of [\w.-] that start with
# neither "." nor "-", joined by single "/", like refs/pr/1), never a path that climbs ("..").
REVISION = re.compile(r"(?!.*\.\.)(?!.*\.lock(?:/|$))[A-Za-z0-9_][\w.-]{0,99}(?:/[A-Za-z0-9_][\w.-]{0,99}){0,4}")


def is_repo_id(text: Any) -> bool:
    """True for a Hub repo id the Hub itself accepts (see REPO_ID)."""
    return (
        isinstance(text, str)
        and REPO_ID.fullmatch(text) is not None
        and "--" not in text
        and ".." not in text
        and not text.endswith(".git")
    )


def is_revision(text: Any) -> bool:
    """True for a revision that can only name a commit, branch or tag (see REVISION)."""
    return isinstance(text, str) and REVISION.fullmatch(text) is not None and not text.endswith(".")


def repo_id(text: Any, revision_ok: bool = False) -> tuple[str, str]:
    """'user/name' or (revision_ok) 'user/name@rev' -> (repo, rev or '')."""
    raw = text if isinstance(text, str) else ""
    repo, at, rev = raw.partition("@")
    form = "USER/NAME[@REVISION]" if revision_ok else "USER/NAME"
    if not is_repo_id(repo) or (at and not revision_ok):
        raise InputError(f"expected a Hub repo id {form}, got {str(text)[:80]!r}")
    if at and not is_revision(rev):
        raise InputError(f"expected a revision (a branch, a tag or a 40-hex commit) after '@', got {rev[:80]!r}")
    return repo, rev


# Limits of a JSON document from outside (a recipe, a config.json, a gallery row): far above anything the project
# writes, far below what makes parsing expensive.
MAX_JSON_CHARS = 1_000_000
MAX_JSON_DEPTH = 32
MAX_INT_DIGITS = 40
_JSON_TOKENS = re.compile(r'["\\\[\]{}]')


def _depth(text: str) -> int:
    """The deepest nesting of [ and { in JSON text, strings left out: one linear pass over the characters that
    matter (quotes, backslashes, brackets), before any parsing."""
    depth = deepest = 0
    in_string = False
    skip = -1  # the position of a character a backslash escaped
    for match in _JSON_TOKENS.finditer(text):
        ch, at = match.group(), match.start()
        if at == skip:
            continue
        if in_string:
            if ch == "\\":
                skip = at + 1
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


def _no_duplicates(what: str):
    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in items:
            if key in out:
                raise InputError(f"{what} names {key[:40]!r} twice")
            out[key] = value
        return out

    return pairs


def _integer(what: str):
    def parse(digits: str) -> int:
        if len(digits.lstrip("-")) > MAX_INT_DIGITS:
            raise InputError(f"{what} holds a number of {len(digits)} digits (at most {MAX_INT_DIGITS})")
        return int(digits)

    return parse


def _real(what: str):
    def parse(digits: str) -> float:
        x = float(digits)
        if not math.isfinite(x):  # 1e999 parses as infinity
            raise InputError(f"{what} holds {digits[:40]}, which is too large to be a number here")
        return x

    return parse


def _constant(what: str):
    def parse(name: str) -> Any:
        raise InputError(f"{what} holds {name}, which is not JSON (numbers must be finite)")

    return parse


def load_json(text: str, what: str) -> Any:
    """Parsed JSON from untrusted text, or InputError naming `what`: bad syntax, more than MAX_JSON_CHARS, nesting
    beyond MAX_JSON_DEPTH, an integer of more than MAX_INT_DIGITS digits (Python's int conversion is quadratic),
    NaN or Infinity literals, or a key given twice (which of the two would win is the parser's secret). The cheap
    checks run before the parser does."""
    if not isinstance(text, str):
        raise InputError(f"{what} must be JSON text, got {type(text).__name__}")
    if len(text) > MAX_JSON_CHARS:
        raise InputError(f"{what} is too long ({len(text)} characters; at most {MAX_JSON_CHARS})")
    if _depth(text) > MAX_JSON_DEPTH:
        raise InputError(f"{what} nests deeper than {MAX_JSON_DEPTH} levels")
    try:
        return json.loads(
            text,
            object_pairs_hook=_no_duplicates(what),
            parse_int=_integer(what),
            parse_float=_real(what),
            parse_constant=_constant(what),
        )
    except json.JSONDecodeError as exc:
        raise InputError(f"{what} is not valid JSON: {exc.msg} at line {exc.lineno}") from None
    except RecursionError:
        raise InputError(f"{what} nests too deeply to be what it claims") from None


def open_regular(path: str | os.PathLike, what: str) -> BinaryIO:
    """`path` opened for reading if it is a regular file: opened without blocking and checked before any read, so
    a FIFO with no writer, a device or a folder is one line (InputError naming `what`) rather than a hang."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise InputError(f"cannot read {what} {path}: {exc.strerror}") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise InputError(f"{what} {path} is not a regular file")
    return os.fdopen(fd, "rb")


def read_binary_file(path: str | os.PathLike, what: str, max_bytes: int, partial: bool = False) -> bytes:
    """The bytes of a regular file of at most `max_bytes`, or InputError naming `what`. Opened without blocking
    and checked before reading, so a FIFO with no writer, a device such as /dev/zero or a folder is one line
    rather than a hang or a MemoryError; read with a bound, so a file that grows while read cannot either."""
    with open_regular(path, what) as f:
        data = f.read(max_bytes + 1)
    if len(data) > max_bytes:
        if partial:  # the caller wants the start of the file only
            return data[:max_bytes]
        raise InputError(f"{what} {path} is larger than {max_bytes} bytes")
    return data


def read_text_file(path: str | os.PathLike, what: str, max_bytes: int = MAX_JSON_CHARS) -> str:
    """The UTF-8 text of a regular file of at most `max_bytes` (see read_binary_file), or InputError."""
    try:
        return read_binary_file(path, what, max_bytes).decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(f"{what} {path} is not UTF-8 text") from None
