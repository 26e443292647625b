"""Recipes that travel inside their files: every GIF, WebP, MP4 and PNG the project writes carries the recipe that
made it, so the file alone is enough to render it again (`python -m serving render --recipe out.gif`).

- GIF: a Comment Extension right after the header (Pillow reads it as `info["comment"]`);
- PNG: a `tEXt` chunk named `ganimate-recipe` right after IHDR;
- WebP: an XMP packet (the RIFF `XMP ` chunk) holding the JSON in a `ganimate:recipe` element;
- MP4: the container's `comment` tag (read back with the ffmpeg that imageio-ffmpeg ships).
The recipe is the canonical JSON (`Recipe.to_json`, ASCII), so the same recipe still gives the same bytes.
"""

from __future__ import annotations

import html
import re
import struct
import zlib

from serving.errors import InputError

PNG_KEY = b"ganimate-recipe"
XMP = (
    '<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/">'
    '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" '
    'xmlns:ganimate="https://github.com/ganimate"><ganimate:recipe>{}</ganimate:recipe></rdf:Description>'
    '</rdf:RDF></x:xmpmeta><?xpacket end="r"?>'
)
MAGIC = {b"GIF8": "gif", b"\x89PNG": "png", b"RIFF": "webp"}


def kind_of(head: bytes) -> str | None:
    """'gif', 'png', 'webp' or 'mp4' from a file's first bytes; None for anything else (a JSON recipe)."""
    if head[4:8] == b"ftyp":
        return "mp4"
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


def _from_gif(data: bytes) -> str | None:
    pos = _gif_body(data)
    while pos + 2 <= len(data) and data[pos] == 0x21:  # extensions before the first frame
        label, pos = data[pos + 1], pos + 2
        text = b""
        while pos < len(data) and data[pos]:
            text += data[pos + 1 : pos + 1 + data[pos]]
            pos += 1 + data[pos]
        pos += 1
        if label == 0xFE:
            return text.decode("ascii", "replace")
    return None


def _from_png(data: bytes) -> str | None:
    pos = 8
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        if kind == b"tEXt" and data[pos + 8 : pos + 8 + len(PNG_KEY) + 1] == PNG_KEY + b"\x00":
            return data[pos + 9 + len(PNG_KEY) : pos + 8 + length].decode("latin-1")
        if kind in (b"IDAT", b"IEND"):
            return None
        pos += 12 + length
    return None


def _from_webp(data: bytes) -> str | None:
    found = re.search(rb"<ganimate:recipe>(.*?)</ganimate:recipe>", data, re.S)
    return html.unescape(found.group(1).decode("utf-8", "replace")) if found else None


def _from_mp4(path: str) -> str | None:
    import subprocess

    try:
        import imageio_ffmpeg
    except ImportError:
        raise InputError("reading an MP4's recipe needs imageio-ffmpeg (pip install imageio-ffmpeg)") from None
    done = subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", path, "-f", "ffmetadata", "-"],
        capture_output=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
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


def recipe_text(data: bytes, path: str | None = None) -> str:
    """The recipe JSON a ganimate file carries; InputError when it carries none (or is no such file)."""
    kind = kind_of(data[:16])
    try:
        text = (
            {"gif": _from_gif, "png": _from_png, "webp": _from_webp}.get(kind, lambda d: None)(data)
            if kind != "mp4"
            else (_from_mp4(path) if path else None)
        )
    except (IndexError, struct.error):  # a truncated or malformed file
        text = None
    if text is None:
        raise InputError("this file carries no ganimate recipe (GIF, WebP, MP4 and PNG files ganimate writes do)")
    return text
