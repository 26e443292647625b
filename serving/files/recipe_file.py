"""Recipes that travel inside their files: every GIF, WebP, MP4 and PNG the project writes carries the recipe that
made it, so the file alone is enough to render it again (`python -m serving render --recipe out.gif`).

- GIF: a Comment Extension right after the header (Pillow reads it as `info["comment"]`);
- PNG: a `tEXt` chunk named `ganimate-recipe` right after IHDR;
- WebP: an XMP packet (the RIFF `XMP ` chunk) holding the JSON in a `ganimate:recipe` element;
- MP4: the container's `comment` tag (read back with the ffmpeg that imageio-ffmpeg ships);
- SVG (math-art curves, serving/art/mathart_svg.py): a `ganimate:recipe` element in <metadata>, before the drawing.
The recipe is the canonical JSON (`Recipe.to_json`, ASCII), so the same recipe still gives the same bytes.

Reading one back is linear in the file and bounded, since the file may be a stranger's: each container is walked
by its own structure (GIF blocks and sub-blocks, PNG and RIFF chunks by their lengths), never searched whole, and
only what holds the recipe is read: the start of a GIF or PNG, the chunk headers and the XMP chunk of a WebP.
"""

from __future__ import annotations

import html
import io
import os
import struct
import zlib
from typing import BinaryIO

from serving.errors import InputError
from serving.inputs import MAX_JSON_CHARS, open_regular

PNG_KEY = b"ganimate-recipe"
XMP = (
    '<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/">'
    '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" '
    'xmlns:ganimate="https://github.com/ganimate"><ganimate:recipe>{}</ganimate:recipe></rdf:Description>'
    '</rdf:RDF></x:xmpmeta><?xpacket end="r"?>'
)
MAGIC = {b"GIF8": "gif", b"\x89PNG": "png", b"RIFF": "webp"}


def kind_of(head: bytes) -> str | None:
    """'gif', 'png', 'webp', 'mp4' or 'svg' from a file's first bytes; None for anything else (a JSON recipe)."""
    if head[4:8] == b"ftyp":
        return "mp4"
    if head.startswith((b"<?xml", b"<svg")):
        return "svg"
    return MAGIC.get(head[:4]) if head[:4] != b"RIFF" or head[8:12] == b"WEBP" else None


def webp_xmp(recipe_json: str) -> bytes:
    return XMP.format(html.escape(recipe_json, quote=False)).encode("utf-8")


def mp4_params(recipe_json: str) -> list[str]:
    return ["-metadata", f"comment={recipe_json}"]


def _gif_body(data: bytes) -> int:
    """Where a GIF's blocks start: after the 13-byte header and its global colour table, when it has one."""
    flags = data[10]
    return 13 + (3 * 2 ** ((flags & 7) + 1) if flags & 0x80 else 0)


def add_to_gif(data: bytes, recipe_json: str) -> bytes:
    """`data` with a Comment Extension after its header (and its loop extension)."""
    pos = _gif_body(data)
    if data[pos : pos + 3] == b"\x21\xff\x0b":  # NETSCAPE2.0: 3 + 11 + 5 bytes
        pos += 19
    text = recipe_json.encode("ascii")
    blocks = b"".join(bytes([len(text[i : i + 255])]) + text[i : i + 255] for i in range(0, len(text), 255))
    return data[:pos] + b"\x21\xfe" + blocks + b"\x00" + data[pos:]


def add_to_png(data: bytes, recipe_json: str) -> bytes:
    """`data` with a tEXt chunk after IHDR (8 bytes of signature, then IHDR's 25)."""
    body = PNG_KEY + b"\x00" + recipe_json.encode("latin-1")
    chunk = struct.pack(">I", len(body)) + b"tEXt" + body + struct.pack(">I", zlib.crc32(b"tEXt" + body))
    return data[:33] + chunk + data[33:]


# What a reader looks at. GIF and PNG carry the recipe right after their header, so only their first bytes are read,
# whatever their size: a recipe of MAX_JSON_CHARS with its GIF length bytes, colour table and loop block fits.
RECIPE_HEAD_BYTES = 2 * MAX_JSON_CHARS
# A WebP carries it in its XMP chunk, which Pillow writes after the frames: its chunks are walked by their lengths,
# reading only their 8-byte headers. A WebP ganimate writes has one chunk per frame, far fewer than this many.
MAX_WEBP_CHUNKS = 2**20
# The XMP packet: the recipe escaped (at most 5 bytes a character, '&amp;') inside its fixed wrapper.
MAX_XMP_BYTES = 5 * MAX_JSON_CHARS + len(XMP)
# A file larger than this is refused before it is read: no file a render may write is (the command line's budget,
# serving.rendering.budget.CLI, caps encoded bytes at 1 GiB), and nothing is ever read whole, so this is room for
# every file the project writes rather than a bound on memory. The Space takes at most 1 MB (serving.space).
MAX_RECIPE_FILE_BYTES = 2**30
NO_RECIPE = "this file carries no ganimate recipe (GIF, WebP, MP4, PNG and SVG files ganimate writes do)"


def _from_gif(data: bytes) -> str | None:
    """The first Comment Extension among the extensions before the first frame."""
    pos = _gif_body(data)
    while pos + 2 <= len(data) and data[pos] == 0x21:
        label = data[pos + 1]
        parts, pos = _gif_sub_blocks(data, pos + 2, keep=label == 0xFE)
        if label == 0xFE:
            return b"".join(parts).decode("ascii", "replace")
    return None


def _gif_sub_blocks(data: bytes, pos: int, keep: bool) -> tuple[list[bytes], int]:
    """(the sub-blocks' bytes when `keep`, where the block after them starts): gathered in a list and joined once
    by the caller, since adding them to one bytes object copies it once per sub-block (quadratic)."""
    parts: list[bytes] = []
    while pos < len(data) and data[pos]:
        end = pos + 1 + data[pos]
        if keep:
            parts.append(data[pos + 1 : end])
        pos = end
    return parts, pos + 1


def _from_png(data: bytes) -> str | None:
    """The `ganimate-recipe` tEXt chunk among the chunks before the first IDAT."""
    pos = 8
    while pos + 8 <= len(data):
        length, kind = struct.unpack_from(">I4s", data, pos)
        if kind == b"tEXt" and data[pos + 8 : pos + 8 + len(PNG_KEY) + 1] == PNG_KEY + b"\x00":
            return data[pos + 9 + len(PNG_KEY) : pos + 8 + length].decode("latin-1")
        if kind in (b"IDAT", b"IEND"):
            return None
        pos += 12 + length
    return None


def _from_webp(f: BinaryIO) -> str | None:
    """The recipe in the first XMP chunk, found by walking the RIFF chunks' headers (12 bytes of RIFF header first;
    a chunk's payload is padded to an even length)."""
    pos = 12
    for _ in range(MAX_WEBP_CHUNKS):
        f.seek(pos)
        header = f.read(8)
        if len(header) < 8:
            return None
        fourcc, length = struct.unpack("<4sI", header)
        if fourcc == b"XMP ":
            return _from_xmp(f.read(min(length, MAX_XMP_BYTES)))
        pos += 8 + length + (length & 1)
    raise InputError(f"this WebP has more than {MAX_WEBP_CHUNKS} chunks; ganimate's have one per frame")


def _from_xmp(packet: bytes) -> str | None:
    """The text of the packet's first `ganimate:recipe` element: one search for its start, one for its end."""
    start = packet.find(b"<ganimate:recipe>")
    end = packet.find(b"</ganimate:recipe>", start) if start >= 0 else -1
    if end < 0:
        return None
    return html.unescape(packet[start + len(b"<ganimate:recipe>") : end].decode("utf-8", "replace"))


def _from_mp4(path: str) -> str | None:
    """The `comment` tag, as ffmpeg's metadata dump gives it (its escapes undone)."""
    import subprocess

    try:
        import imageio_ffmpeg
    except ImportError:
        raise InputError("reading an MP4's recipe needs imageio-ffmpeg (pip install imageio-ffmpeg)") from None
    try:
        done = subprocess.run(
            [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", path, "-f", "ffmetadata", "-"],
            capture_output=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        raise InputError(f"ffmpeg took over 60 s to read the metadata of {path}") from None
    for line in done.stdout.decode("utf-8", "replace").splitlines():
        if line.startswith("comment="):
            return (
                line[len("comment=") :]
                .replace("\\=", "=")
                .replace("\\;", ";")
                .replace("\\#", "#")
                .replace("\\\\", "\\")
            )
    return None


def _from_svg(head: bytes) -> str | None:
    """The text of the first `ganimate:recipe` element, which mathart_svg writes before the drawing."""
    start = head.find(b"<ganimate:recipe")
    opened = head.find(b">", start) if start >= 0 else -1
    end = head.find(b"</ganimate:recipe>", opened) if opened >= 0 else -1
    if end < 0:
        return None
    return html.unescape(head[opened + 1 : end].decode("utf-8", "replace"))


def _refuse_if_large(size: int, where: str) -> None:
    if size > MAX_RECIPE_FILE_BYTES:
        raise InputError(f"{where} is larger than {MAX_RECIPE_FILE_BYTES} bytes, more than any file ganimate writes")


def _from_head(f: BinaryIO, kind: str | None) -> str | None:
    """The recipe text in the open GIF, PNG or WebP `f` (None for an MP4: ffmpeg reads it from its path)."""
    if kind in ("gif", "png"):
        head = f.read(RECIPE_HEAD_BYTES)
        return _from_gif(head) if kind == "gif" else _from_png(head)
    if kind == "svg":
        return _from_svg(f.read(MAX_XMP_BYTES + 1024))  # escaped as in XMP, after the SVG's short opening
    return _from_webp(f) if kind == "webp" else None


def _found(text: str | None) -> str:
    if text is None:
        raise InputError(NO_RECIPE)
    return text


def recipe_text(data: bytes, path: str | None = None) -> str:
    """The recipe JSON a ganimate file carries, from its bytes (an MP4's is read from `path` by ffmpeg); InputError
    when it carries none (or is no such file)."""
    _refuse_if_large(len(data), "this file")
    kind = kind_of(data[:16])
    if kind == "mp4":
        return _found(_from_mp4(path) if path else None)
    try:
        return _found(_from_head(io.BytesIO(data), kind))
    except (IndexError, struct.error):  # a truncated or malformed file
        raise InputError(NO_RECIPE) from None


def recipe_in_file(path: str, what: str = "--recipe") -> str | None:
    """The recipe JSON the GIF, PNG, WebP or MP4 at `path` carries (InputError when it carries none); None when
    the file is none of these (a JSON recipe, for the caller to read). A path that is not a regular file, is
    larger than MAX_RECIPE_FILE_BYTES or cannot be read is one InputError naming `what`."""
    try:
        with open_regular(path, what) as f:
            _refuse_if_large(os.fstat(f.fileno()).st_size, f"{what} {path}")
            kind = kind_of(f.read(16))
            f.seek(0)
            text = _from_head(f, kind)
    except OSError as exc:  # /proc/self/mem is a regular file whose every read fails
        raise InputError(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    except (IndexError, struct.error):  # a truncated or malformed file
        raise InputError(NO_RECIPE) from None
    if kind is None:
        return None
    return _found(_from_mp4(path) if kind == "mp4" else text)
