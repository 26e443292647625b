"""Recipes read back from files a stranger may give: every file the project writes still gives its recipe, and a
hostile GIF or WebP is answered in time linear in its size; an oversized file, a folder or /proc/self/mem is one
line, never a traceback."""

import os
import struct
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from serving.errors import InputError
from serving.files import recipe_file
from serving.files.formats import encode
from serving.inputs import MAX_JSON_CHARS

ROOT = Path(__file__).resolve().parents[2]
RECIPE = '{"name":"a<b>&c;=#\\\\ \\"q\\"","seeds":[1,2]}'  # XML, ffmetadata and JSON escapes all at once


def _frames(count: int) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 255, (count, 8, 8, 3), dtype=np.uint8)


@pytest.mark.parametrize("fmt, count", [("gif", 3), ("png", 3), ("webp", 3), ("webp", 1), ("mp4", 3)])
def test_every_format_gives_back_the_recipe_it_was_written_with(fmt, count, tmp_path):
    if fmt == "mp4":
        pytest.importorskip("imageio_ffmpeg")
    path = tmp_path / f"a.{fmt}"
    path.write_bytes(encode(_frames(count), fmt, 12, recipe_json=RECIPE))
    assert recipe_file.recipe_in_file(str(path)) == RECIPE
    assert recipe_file.recipe_text(path.read_bytes(), str(path)) == RECIPE


def test_the_longest_recipe_fits_in_the_part_of_a_gif_that_is_read(tmp_path):
    longest = '{"name":"' + "x" * (MAX_JSON_CHARS - 11) + '"}'
    path = tmp_path / "long.gif"
    path.write_bytes(encode(_frames(2), "gif", 12, recipe_json=longest))
    assert len(longest) == MAX_JSON_CHARS and recipe_file.recipe_in_file(str(path)) == longest


def test_a_json_recipe_is_left_to_the_caller(tmp_path):
    path = tmp_path / "r.json"
    path.write_text(RECIPE)
    assert recipe_file.recipe_in_file(str(path)) is None


def _hostile_gif(size: int) -> bytes:
    """A comment made of 1-byte sub-blocks: joined one at a time, it is copied once per sub-block."""
    head = b"GIF89a" + struct.pack("<HHBBB", 1, 1, 0, 0, 0) + b"\x21\xfe"
    return head + b"\x01x" * ((size - len(head) - 2) // 2) + b"\x00;"


def _hostile_webp(size: int) -> bytes:
    """Tiny chunks, each holding the recipe's opening tag: a search for the tag's pair from each one rescans the
    rest of the file."""
    chunk = b"JUNK" + struct.pack("<I", 18) + b"<ganimate:recipe>\x00"
    body = chunk * ((size - 12) // len(chunk))
    return b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WEBP" + body


def _hostile_xmp(size: int) -> bytes:
    """One XMP chunk that is the opening tag over and over, with no closing tag."""
    body = b"<ganimate:recipe>" * ((size - 20) // 17)
    body += b" " * (len(body) & 1)
    return b"RIFF" + struct.pack("<I", 12 + len(body)) + b"WEBPXMP " + struct.pack("<I", len(body)) + body


def _best_time(data: bytes) -> float:
    """The best of 3 readings of `data`'s recipe (read or refused), in seconds."""
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        try:
            recipe_file.recipe_text(data)
        except InputError:
            pass
        best = min(best, time.perf_counter() - started)
    return best


@pytest.mark.parametrize("hostile", [_hostile_gif, _hostile_webp, _hostile_xmp])
def test_a_hostile_file_is_read_in_time_linear_in_its_size(hostile: Callable[[int], bytes]):
    """4x the bytes may take at most 8x the time (quadratic work takes 16x); the 20 ms of slack keeps
    millisecond timings on a busy machine from failing a linear reader."""
    small, large = hostile(2**18), hostile(2**20)
    assert len(large) <= 2**20 < 4 * len(small) + 64
    t_small, t_large = _best_time(small), _best_time(large)
    assert t_large < 8 * t_small + 0.02, (t_small, t_large)


def test_a_webp_of_more_chunks_than_any_frames_is_refused():
    body = b"JUNK\x00\x00\x00\x00" * (recipe_file.MAX_WEBP_CHUNKS + 1)
    data = b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WEBP" + body
    with pytest.raises(InputError, match="more than"):
        recipe_file.recipe_text(data)


def _cli(recipe: str, tmp_path: Path) -> subprocess.CompletedProcess:
    out = str(tmp_path / "x.gif")
    argv = ["render", "--bundle", "exported/mnist-cdcgan", "--recipe", recipe, "--out", out]
    return subprocess.run(
        [sys.executable, "-m", "serving", *argv], cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def _one_line(done: subprocess.CompletedProcess) -> str:
    err = done.stderr.strip()
    assert done.returncode == 2 and err.startswith("error: ") and "\n" not in err and "Traceback" not in err, err
    return err


def test_a_file_over_the_cap_is_refused_before_it_is_read(tmp_path):
    big = tmp_path / "big.webp"
    with big.open("wb") as f:  # sparse: no disk and no time, whatever the cap
        f.write(_hostile_webp(64))
        f.truncate(recipe_file.MAX_RECIPE_FILE_BYTES + 1)
    with pytest.raises(InputError, match="larger than"):
        recipe_file.recipe_in_file(str(big))
    assert "larger than" in _one_line(_cli(str(big), tmp_path))


@pytest.mark.parametrize("where", ["/proc/self/mem", "folder", "fifo"])
def test_a_recipe_that_is_no_regular_readable_file_is_one_line_from_the_cli(where, tmp_path):
    path = {"/proc/self/mem": "/proc/self/mem", "folder": str(tmp_path)}.get(where, str(tmp_path / "fifo"))
    if where == "/proc/self/mem" and not os.path.exists(path):
        pytest.skip("no /proc here")
    if where == "fifo":
        os.mkfifo(path)  # no writer: a blocking open would hang
    err = _one_line(_cli(path, tmp_path))
    assert "cannot read" in err or "not a regular file" in err
    assert not (tmp_path / "x.gif").exists()
