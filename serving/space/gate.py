"""The Space's front gate for uploads: what reaches Gradio's upload route, checked before Gradio stores a byte.

Gradio's upload route accepts any file up to `max_file_size` from anyone, any number of times, and keeps it on
disk. The components that take a file are "Your picture" and Animate's music, so an upload passes only when
- it declares its length, and the whole request is at most MAX_REQUEST_BYTES (a 10 MB song and its form);
- every file in it is a picture by its first bytes (PNG, JPEG, WebP, GIF, BMP) of at most 1 MB, or a song (WAV,
  MP3, OGG, FLAC) of at most 10 MB, at most MAX_FILES of them (a sketchpad sends its layers beside its flattened
  picture);
- its client has sent at most RATE uploads in the last minute;
- it fits in the uploads' share of the disk budget (serving/space/disk.py), swept to make room.
Anything else gets one line of JSON, {"error": ...} (405, 411, 413, 415, 429 with Retry-After, or 507), which the
page shows as "Upload failed: ...", and nothing is written. The body of a checked request is held in memory
(bounded) and handed to Gradio unchanged; the paths Gradio answers with are counted, so an upload two visitors
share (Gradio stores a file under its content's hash) is removed once both have used it.

Every request that starts work (the page's queue joins, the REST API's /call, /call/v2 and /run, and /api, which
the Space answers only for events outside the queue: none) counts toward its client's `requests_per_min`
(GANIMATE_REQUESTS_PER_MIN, default 120: a person clicking fast sends a few a minute, each click two or three
events): past it, 429 "try again in N s", so one greedy client cannot fill the queue that everyone shares. Such a
request's JSON is held (at most MAX_CALL_BYTES) and checked, each refusal one line: an unknown endpoint (404), a
named call's unknown field, a file value that is not a file in Gradio's upload folder, JSON nested past the
parser's depth (400); a positional call that leaves out its last values gets the form's values for them.

Two routes of Gradio's this page never uses are closed (404), because each writes to the Space's disk for anyone
who asks: /gradio_api/deep_link (a snapshot of the session's whole page, about 170 KB, a new file for every
session whose values differ) and /gradio_api/process_recording (a screen recording's post-processing: the upload
is copied to disk and handed to ffmpeg). A pure ASGI middleware.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from serving.space.visitors import Window, client_of, proxy_hops

Scope = dict[str, Any]
ASGIApp = Callable[[Scope, Callable, Callable], Awaitable[None]]

UPLOAD_PATHS = ("/gradio_api/upload", "/upload")
MAX_PICTURE_BYTES = 2**20
MAX_SONG_BYTES = 10 * 2**20  # 30 s of 48 kHz 24-bit stereo WAV (8.6 MB); longer songs are cut to 30 s
MAX_REQUEST_BYTES = MAX_SONG_BYTES + 64 * 2**10
MAX_FILES = 4
MAX_CALL_BYTES = 2**20  # a call's JSON (its values and a recipe; files go by upload): far above the page's own
BAD_FILE_VALUE = 'a file value must be {"path": "<a file uploaded to this page>"}'
MAX_FILE_VALUES = 64
TOO_BIG = "a picture may be at most 1 MB, a song at most 10 MB"
NOT_TAKEN = "only pictures (PNG, JPEG, WebP, GIF or BMP, at most 1 MB) and songs (WAV, MP3, OGG or FLAC, at most 10 MB) are taken"
RATE = 30  # uploads per client per minute
REQUESTS_PER_MIN = 120
WORK_PATHS = re.compile(r"/gradio_api/(queue/join|call/(v2/)?[\w-]+|run/[\w-]+|api/[\w-]+)/?$")
NAMED_CALL = re.compile(r"/gradio_api/(?:call/(?:v2/)?|run/|api/)([\w-]+)/?$")
NAMED_V2 = re.compile(r"/gradio_api/call/v2/([\w-]+)/?$")
POSITIONAL_CALL = re.compile(r"/gradio_api/call/([\w-]+)/?$")
CLOSED_PATHS = re.compile(r"/gradio_api/(deep_link|process_recording)/?$")
# A refused body is read and dropped up to this much, so a client sending a song a little over its cap (the
# usual mistake) reads the one-line answer instead of a reset connection; past it the connection just closes.
DRAIN_BYTES = 2 * MAX_REQUEST_BYTES
MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"BM")


def file_values_well_formed(values: Any, root: Path | None = None) -> bool:
    """Whether every file value among a call's `values` (its "data" list, or a named call's parameters) is one
    Gradio will take: a dict with a "path" holds a string there (and a string or null "url") naming a file under
    `root`, Gradio's upload folder, where every upload and every result of this Space lies; at most
    MAX_FILE_VALUES of them. Gradio refuses the others too, but with pydantic's report over several lines, or a
    path it will not move with a traceback in the log; here each is one line (BAD_FILE_VALUE) before Gradio sees
    it. A call's event data (a gallery's selection names the gallery's own files) is not among its values."""
    from serving.space.disk import under

    stack, found = [values], 0
    while stack:  # iterative: the JSON parser bounds the nesting, the body's size bounds the walk
        value = stack.pop()
        if isinstance(value, dict):
            if "path" in value:
                found += 1
                if found > MAX_FILE_VALUES or not isinstance(value.get("url"), (str, type(None))):
                    return False
                if root is None and not isinstance(value["path"], str):
                    return False
                if root is not None and under(root, value["path"]) is None:
                    return False
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return True


def call_values(path: str, call: Any) -> Any:
    """What a work request's JSON passes as values: a named call's parameters (their values: a parameter may well
    be called "path"), else its "data"."""
    if NAMED_V2.search(path) and isinstance(call, dict):
        return list(call.values())
    return call.get("data") if isinstance(call, dict) else call


def is_picture(head: bytes) -> bool:
    """A picture, by its first bytes (MP4s are not taken: reading one back would run ffmpeg on a stranger's file)."""
    return head.startswith(MAGIC) or (head[:4] == b"RIFF" and head[8:12] == b"WEBP")


def file_cap(head: bytes) -> int:
    """The most bytes a file starting with `head` may have: a picture 1 MB, a song 10 MB, anything else 0."""
    from serving.music.audio import audio_kind

    if is_picture(head):
        return MAX_PICTURE_BYTES
    return MAX_SONG_BYTES if audio_kind(head) else 0


def file_parts(body: bytes, boundary: bytes) -> list[tuple[bytes, int]] | None:
    """(first bytes, size) of every part Gradio's parser stores as a file, or None when the body is not one it
    reads. Parsed by the parser Gradio's own uses (python-multipart's MultipartParser, a part being a file when its
    Content-Disposition has a filename, as GradioMultiPartParser decides), so the parts checked here are exactly
    the parts Gradio stores: no split of our own that a crafted body could read differently."""
    from python_multipart.exceptions import MultipartParseError
    from python_multipart.multipart import MultipartParser, parse_options_header

    parts: list[list] = []  # [content-disposition, first bytes, size] of each part
    header = [b"", b""]  # the header being read: name, value

    def on_part_begin() -> None:
        parts.append([b"", b"", 0])

    def on_header_field(data: bytes, start: int, end: int) -> None:
        header[0] += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        header[1] += data[start:end]

    def on_header_end() -> None:
        if header[0].lower() == b"content-disposition":
            parts[-1][0] = header[1]
        header[0] = header[1] = b""

    def on_part_data(data: bytes, start: int, end: int) -> None:
        part = parts[-1]
        if len(part[1]) < 16:
            part[1] += data[start : min(end, start + 16 - len(part[1]))]
        part[2] += end - start

    callbacks = {"on_part_begin": on_part_begin, "on_part_data": on_part_data, "on_header_field": on_header_field}
    callbacks.update(on_header_value=on_header_value, on_header_end=on_header_end)
    try:
        parser = MultipartParser(boundary, callbacks)
        parser.write(body)
        parser.finalize()
    except (MultipartParseError, ValueError):
        return None
    files = []
    for disposition, head, size in parts:
        _, options = parse_options_header(disposition)
        if b"name" not in options:  # Gradio refuses the whole body for such a part
            return None
        if b"filename" in options:
            files.append((head, size))
    return files


class UploadGate:
    """Lets only small pictures, at a bounded rate per client, through to Gradio's upload route."""

    def __init__(
        self,
        app: ASGIApp,
        rate: int = RATE,
        requests_per_min: int = REQUESTS_PER_MIN,
        api_defaults: dict[str, dict] | None = None,
        hops: int | None = None,
        janitor: Any = None,
    ) -> None:
        self.app = app
        self.janitor = janitor  # serving.space.disk.Janitor: the uploads' share of the disk budget
        self.hops = proxy_hops() if hops is None else hops
        from gradio.utils import get_upload_folder  # where Gradio keeps uploads and this Space's results

        self.upload_root = Path(get_upload_folder()).resolve()
        self.api_defaults = api_defaults or {}
        self.rate = rate
        self.uploads = Window(rate)
        self.work = Window(requests_per_min)

    async def __call__(self, scope: Scope, receive: Callable, send: Callable) -> None:
        if scope["type"] == "http" and CLOSED_PATHS.search(scope.get("path", "")):
            await _drain(receive)
            await _answer(send, 404, "not served here")
            return
        if scope["type"] == "http" and scope.get("method") == "POST" and WORK_PATHS.search(scope.get("path", "")):
            wait = self.work.wait(client_of(scope, self.hops))
            if wait:
                await _drain(receive)
                await _answer(
                    send,
                    429,
                    f"too many requests from you; try again in {wait} s",
                    [(b"retry-after", str(wait).encode())],
                )
                return
            checked = await self._checked_call(scope, receive, send)
            if checked is None:
                return
            scope, receive = checked
        if scope["type"] != "http" or not _is_upload(scope):
            await self.app(scope, receive, send)
            return
        if scope.get("method") != "POST":
            await _answer(send, 405, "uploads are POST requests")
            return
        wait = self._wait(scope)
        if wait:
            await _drain(receive)
            await _answer(
                send, 429, f"too many uploads from you; try again in {wait} s", [(b"retry-after", str(wait).encode())]
            )
            return
        headers: dict[str, str] = {}
        for k, v in scope.get("headers", []):  # the first of each, as Starlette and Gradio read them
            headers.setdefault(k.decode("latin-1").lower(), v.decode("latin-1"))
        length = headers.get("content-length", "")
        if not re.fullmatch(r"[0-9]{1,10}", length):
            await _drain(receive)
            await _answer(send, 411, "an upload must declare its length")
            return
        if int(length) > MAX_REQUEST_BYTES:
            await _drain(receive)
            await _answer(send, 413, TOO_BIG)
            return
        body = await _read(receive, MAX_REQUEST_BYTES)
        boundary = _boundary(headers.get("content-type", ""))
        heads = await asyncio.to_thread(file_parts, body, boundary) if boundary and body is not None else None
        if body is None:
            await _answer(send, 413, TOO_BIG)
            return
        caps = [file_cap(head) for head, _ in heads or []]
        if not heads or len(heads) > MAX_FILES or not all(caps):
            await _answer(send, 415, NOT_TAKEN)
            return
        if any(size > cap for (_, size), cap in zip(heads, caps)):
            await _answer(send, 413, TOO_BIG)
            return
        if self.janitor is None:
            await self.app(scope, _replay(body, receive), send)
            return
        if not await asyncio.to_thread(self.janitor.fits, len(body)):
            await _answer(send, 507, "the Space's room for uploads is full just now; try again in a minute")
            return
        try:
            await self.app(scope, _replay(body, receive), self._counting(send))
        finally:
            self.janitor.settle(len(body))

    def _counting(self, send: Callable) -> Callable:
        """`send`, telling the janitor which paths Gradio stored the upload at (its JSON answer lists them)."""
        status, chunks = [0], []

        async def counted(message: dict) -> None:
            if message["type"] == "http.response.start":
                status[0] = message.get("status", 0)
            elif message["type"] == "http.response.body" and status[0] == 200:
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    stored = _json(b"".join(chunks))
                    if isinstance(stored, list):  # off the event loop: the janitor's lock may be in a sweep
                        await asyncio.to_thread(self.janitor.took, [p for p in stored if isinstance(p, str)])
            await send(message)

        return counted

    async def _checked_call(self, scope: Scope, receive: Callable, send: Callable) -> tuple[Scope, Callable] | None:
        """A work request's name, body and file values checked (None: refused here, in one line), its missing
        trailing values filled in; the (scope, receive) that hand Gradio the body read."""
        path = scope.get("path", "")
        named = NAMED_CALL.search(path)
        if named and self.api_defaults and named.group(1) not in self.api_defaults:
            await _drain(receive)  # Gradio answers an unknown name with 500 and a traceback in the log
            known = ", ".join(f"/{name}" for name in self.api_defaults)
            await _answer(send, 404, f"no endpoint named /{named.group(1)}; this Space's API: {known}")
            return None
        body = await _read(receive, MAX_CALL_BYTES)
        if body is None:
            await _answer(send, 413, f"a request may be at most {MAX_CALL_BYTES // 2**10} KB")
            return None
        call = _json(body)  # None: not JSON, left to Gradio's own answer (a call is a few KB: parsed at once)
        if call is NESTED_TOO_DEEP:  # Gradio's parser would raise out of its route: a 500 and a traceback
            await _answer(send, 400, "the request's JSON is nested too deep")
            return None
        if not file_values_well_formed(call_values(path, call), self.upload_root):
            await _answer(send, 400, BAD_FILE_VALUE)
            return None
        unknown = self._unknown_names(scope, call)
        if unknown:
            await _answer(send, 400, unknown)
            return None
        scope, body = self._filled(scope, call, body)
        return scope, _replay(body, receive)

    def _unknown_names(self, scope: Scope, call: Any) -> str:
        """For a named call (/call/v2/<name>), one line naming the fields the endpoint does not take (Gradio
        answers them with 500 and a traceback in the log); "" when every name is known."""
        found = NAMED_V2.search(scope.get("path", ""))
        params = self.api_defaults.get(found.group(1)) if found else None
        if params is None or not isinstance(call, dict):
            return ""
        unknown = sorted(str(k)[:40] for k in call if k not in params)[:8]
        if not unknown:
            return ""
        return f"/{found.group(1)} takes no {', '.join(unknown)}; it takes {', '.join(params)}"

    def _filled(self, scope: Scope, call: Any, body: bytes) -> tuple[Scope, bytes]:
        """A positional call (/gradio_api/call/<name>) that leaves out its last values gets the form's values for
        them, as gradio_client and Gradio's named route (/call/v2/<name>) do; Gradio itself would refuse it with a
        multi-line message. Anything else passes unchanged."""
        found = POSITIONAL_CALL.search(scope.get("path", ""))
        defaults = self.api_defaults.get(found.group(1)) if found else None
        values = list(defaults.values()) if defaults else []
        if not values or not isinstance(call, dict) or not isinstance(call.get("data"), list):
            return scope, body
        if len(call["data"]) >= len(values):
            return scope, body
        call["data"] = call["data"] + values[len(call["data"]) :]
        body = json.dumps(call).encode()
        headers = [(k, v) for k, v in scope.get("headers", []) if k.lower() != b"content-length"]
        return {**scope, "headers": [*headers, (b"content-length", str(len(body)).encode())]}, body

    def _wait(self, scope: Scope) -> int:
        return self.uploads.wait(client_of(scope, self.hops))


NESTED_TOO_DEEP = object()  # _json's answer for a body nested past the parser's recursion limit


def _json(body: bytes) -> Any:
    """A request's JSON, None when it is not JSON (left to Gradio's own answer), NESTED_TOO_DEEP when it is nested
    past Python's recursion limit (a 1 MB body of '[' would otherwise raise out of the middleware)."""
    try:
        return json.loads(body)
    except ValueError:
        return None
    except RecursionError:
        return NESTED_TOO_DEEP


def _boundary(content_type: str) -> bytes | None:
    """The multipart boundary exactly as Gradio's parser (python-multipart) reads it, so the parts checked here are
    the parts it stores; None when the header names none."""
    from python_multipart.multipart import parse_options_header

    kind, params = parse_options_header(content_type)
    boundary = params.get(b"boundary")
    return boundary if kind == b"multipart/form-data" and boundary else None


def _is_upload(scope: Scope) -> bool:
    path = scope.get("path", "").rstrip("/")
    return any(path.endswith(p) for p in UPLOAD_PATHS)


async def _answer(send: Callable, status: int, text: str, extra: list | None = None) -> None:
    """One line of JSON, {"error": text}: the page's upload shows it as "Upload failed: <text>" (Gradio's client
    reads `error` from a JSON answer, and says only "Upload failed." otherwise), and API clients read it alike."""
    body = (json.dumps({"error": text}) + "\n").encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *(extra or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _read(receive: Callable, limit: int) -> bytes | None:
    """The whole body, or None once it passes `limit` (a client that lied about its length)."""
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            await _drain(receive)
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes, receive: Callable) -> Callable:
    """A receive that gives the held body once, then whatever the client sends next (its disconnect)."""
    sent = False

    async def replayed() -> dict:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed


async def _drain(receive: Callable) -> None:
    """Read and drop the request body, at most DRAIN_BYTES of it, so the client sees the answer."""
    seen = 0
    while seen <= DRAIN_BYTES:
        message = await receive()
        if message["type"] != "http.request":
            return
        seen += len(message.get("body", b""))
        if not message.get("more_body", False):
            return
