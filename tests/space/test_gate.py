"""The upload gate as an ASGI middleware in front of a stand-in app that records what reached it (no network)."""

import asyncio
import io
import json

import numpy as np
import pytest
from PIL import Image

from serving.space.gate import MAX_REQUEST_BYTES, UploadGate


def _png(size=(8, 8)) -> bytes:
    buf = io.BytesIO()
    Image.new("L", size, 128).save(buf, format="PNG")
    return buf.getvalue()


def _multipart(files: list[tuple[str, bytes]], boundary: str = "b0undary") -> tuple[bytes, str]:
    body = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{name}"\r\n'
        f"Content-Type: application/octet-stream\r\n\r\n".encode()
        + data
        + b"\r\n"
        for name, data in files
    )
    return body + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def _call(gate, body: bytes, content_type: str, client="10.0.0.1", length: bool = True, path="/gradio_api/upload"):
    headers = [(b"content-type", content_type.encode())] + (
        [(b"content-length", str(len(body)).encode())] if length else []
    )
    scope = {"type": "http", "method": "POST", "path": path, "headers": headers, "client": (client, 1234)}
    chunks = [body[i : i + 65536] for i in range(0, len(body), 65536)] or [b""]
    messages = [{"type": "http.request", "body": c, "more_body": i < len(chunks) - 1} for i, c in enumerate(chunks)]
    sent = []

    async def receive():
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    asyncio.run(gate(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    text = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body").decode()
    return start["status"], text


@pytest.fixture
def reached():
    seen = []

    async def app(scope, receive, send):
        message = await receive()
        seen.append(message["body"])
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"stored"})

    return seen, app


def test_a_small_picture_passes_unchanged(reached):
    seen, app = reached
    body, ctype = _multipart([("me.png", _png())])
    assert _call(UploadGate(app), body, ctype) == (200, "stored") and seen == [body]


@pytest.mark.parametrize(
    "files, status, words",
    [
        ([("evil.html", b"<script>alert(1)</script>")], 415, "only pictures"),
        ([("evil.svg", b"<svg xmlns='http://www.w3.org/2000/svg'/>")], 415, "only pictures"),
        ([("../../escape.png", b"not really a png")], 415, "only pictures"),
        ([("a.png", _png())] * 5, 415, "only pictures"),
        ([("big.png", _png() + b"x" * MAX_REQUEST_BYTES)], 413, "at most 1 MB"),
    ],
)
def test_anything_but_a_few_small_pictures_is_one_line_and_never_reaches_gradio(reached, files, status, words):
    seen, app = reached
    body, ctype = _multipart(files)
    code, text = _call(UploadGate(app), body, ctype)
    assert code == status and words in text and text.count("\n") == 1 and seen == []


def test_an_upload_without_a_length_is_refused(reached):
    seen, app = reached
    body, ctype = _multipart([("me.png", _png())])
    assert _call(UploadGate(app), body, ctype, length=False)[0] == 411 and seen == []


def test_each_client_has_its_own_rate(reached):
    seen, app = reached
    gate = UploadGate(app, rate=3)
    body, ctype = _multipart([("me.png", _png())])
    assert [_call(gate, body, ctype)[0] for _ in range(3)] == [200, 200, 200]
    code, text = _call(gate, body, ctype)
    assert code == 429 and "try again in" in text
    assert _call(gate, body, ctype, client="10.0.0.2")[0] == 200  # another visitor is not held up
    assert len(seen) == 4


def test_other_routes_are_untouched(reached):
    seen, app = reached
    assert _call(UploadGate(app), b"{}", "application/json", path="/gradio_api/call/animate") == (200, "stored")


def test_one_greedy_client_is_held_back_and_the_others_are_not(reached):
    seen, app = reached
    gate = UploadGate(app, requests_per_min=5)
    calls = [
        _call(gate, b'{"data": []}', "application/json", client="10.0.0.9", path="/gradio_api/call/animate")
        for _ in range(7)
    ]
    assert [c[0] for c in calls] == [200] * 5 + [429] * 2 and "try again in" in calls[-1][1]
    # The page's way in and every other API route that starts work.
    for path in (
        "/gradio_api/queue/join",
        "/gradio_api/run/animate",
        "/gradio_api/call/v2/animate",
        "/gradio_api/api/animate",
    ):
        assert _call(gate, b"{}", "application/json", client="10.0.0.9", path=path)[0] == 429, path
    for visitor in ("10.0.0.10", "10.0.0.11", "10.0.0.12"):
        assert _call(gate, b"{}", "application/json", client=visitor, path="/gradio_api/queue/join")[0] == 200
    page = _call(gate, b"", "text/html", client="10.0.0.9", path="/")  # the page itself is never held back
    assert page[0] == 200


@pytest.mark.parametrize("path", ["/gradio_api/deep_link", "/gradio_api/process_recording/"])
def test_routes_that_write_for_anyone_are_closed_and_never_reach_gradio(reached, path):
    seen, app = reached
    body, ctype = _multipart([("clip.mp4", b"\x00" * 1000)])
    assert _call(UploadGate(app), body, ctype, path=path) == (404, '{"error": "not served here"}\n') and seen == []


@pytest.mark.parametrize(
    "content_type, disposition",
    [
        ("multipart/form-data; xboundary=b0undary; boundary=other", 'filename="a.png"'),  # the parser's boundary wins
        ("multipart/form-data; boundary=b0undary", "filename*=UTF-8''evil.html"),
    ],
)
def test_the_gate_reads_multipart_as_gradio_does(reached, content_type, disposition):
    seen, app = reached
    body = (
        f'--b0undary\r\nContent-Disposition: form-data; name="files"; {disposition}\r\n\r\n'
        "<script>alert(1)</script>\r\n--b0undary--\r\n"
    ).encode()
    code, _ = _call(UploadGate(app), body, content_type)
    assert code in (415,) and seen == []


def test_a_strange_length_is_one_line(reached):
    seen, app = reached
    scope_body, ctype = _multipart([("me.png", _png())])
    gate = UploadGate(app)
    import asyncio as _asyncio

    sent = []

    async def receive():
        return {"type": "http.request", "body": scope_body, "more_body": False}

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/gradio_api/upload",
        "client": ("10.0.0.1", 1),
        "headers": [(b"content-type", ctype.encode()), (b"content-length", "²³".encode())],
    }
    _asyncio.run(gate(scope, receive, send))
    assert sent[0]["status"] == 411 and seen == []


def test_a_song_of_up_to_10_mb_passes_and_a_picture_stays_at_1_mb(reached):
    from tests.tracks import wav_bytes

    seen, app = reached
    song = wav_bytes(np.zeros(9 * 2**20 // 2))  # 9 MB of 16-bit silence: a song may be that big
    body, ctype = _multipart([("song.wav", song)])
    assert _call(UploadGate(app), body, ctype) == (200, "stored") and seen == [body]
    for files in ([("big.png", _png() + b"\0" * (2 * 2**20))], [("huge.wav", song + b"\0" * 2**20)]):
        body, ctype = _multipart(files)
        code, text = _call(UploadGate(app), body, ctype)
        assert code == 413 and "a picture may be at most 1 MB, a song at most 10 MB" in text
    assert len(seen) == 1


def _starlette_files(body: bytes, content_type: str) -> int | None:
    """How many files Starlette's multipart parser (the one Gradio's is vendored from) stores from `body`."""
    from starlette.datastructures import Headers, UploadFile
    from starlette.formparsers import MultiPartException, MultiPartParser

    async def stream():
        yield body

    async def parse():
        parser = MultiPartParser(Headers({"content-type": content_type}), stream(), max_files=10**6, max_fields=10**6)
        form = await parser.parse()
        return sum(isinstance(v, UploadFile) for _, v in form.multi_items())

    try:
        return asyncio.run(parse())
    except MultiPartException:
        return None


@pytest.mark.parametrize(
    "body",
    [
        b"".join(
            b'--B\r\nContent-Disposition: form-data; name="files"; filename="a.png"\r\n\r\nx\r\n' for _ in range(1000)
        )
        + b"--B--\r\n",
        b"--B\r\nContent-Disposition: form-data; name=\"files\"; filename*=utf-8''a.png\r\n\r\n\x89PNG\r\n--B--\r\n",
        b'--B\r\nContent-Disposition: form-data; name="files"; filename="a.png"\r\n\r\n--B\r\n\r\n--B--\r\n',
        b'preamble --B\r\n--B\r\nContent-Disposition: form-data; name="x"\r\n\r\nfilename\r\n--B--\r\n',
        b'--B\nContent-Disposition: form-data; name="files"; filename="a.png"\n\nxx\n--B--\n',
    ],
)
def test_the_gate_counts_the_files_gradios_parser_would_store(body):
    from serving.space.gate import file_parts

    parts = file_parts(body, b"B")
    assert (None if parts is None else len(parts)) == _starlette_files(body, "multipart/form-data; boundary=B")


def test_a_named_calls_path_parameter_is_not_a_file_value(reached):
    """/animate and /compare take a `path` ("cubic"): a named call's parameters are values, not one file value."""
    seen, app = reached
    gate = UploadGate(app, api_defaults={"animate": {"model": "m", "path": "cubic"}})
    body = b'{"model": "mnist-cdcgan", "path": "slerp"}'
    assert _call(gate, body, "application/json", path="/gradio_api/call/v2/animate") == (200, "stored")


@pytest.mark.parametrize(
    "body",
    [
        b'{"data": [{"path": "/tmp/x\\u0000y", "meta": {"_type": "gradio.FileData"}}]}',  # a NUL: resolve() raises
        b'{"data": [{"path": "/etc/passwd"}]}',
        b'{"data": [{"path": 7}]}',
        b"[" * 200_000,  # past the parser's recursion limit
    ],
)
def test_a_hostile_call_body_is_one_line_and_never_reaches_gradio(reached, body):
    seen, app = reached
    code, text = _call(UploadGate(app), body, "application/json", path="/gradio_api/queue/join")
    if body.startswith(b"[["):
        assert code == 400 and "nested too deep" in text
    else:
        assert code == 400 and "a file value must be" in json.loads(text)["error"]
    assert seen == [] and text.count("\n") == 1


def test_event_data_is_not_checked_as_a_call_value(reached):
    """A gallery's selection names the gallery's own files (served in place): it is event data, not a value."""
    seen, app = reached
    body = json.dumps(
        {"data": [None], "event_data": {"index": 0, "value": {"image": {"path": "/srv/gallery/abc.gif"}}}}
    ).encode()
    assert _call(UploadGate(app), body, "application/json", path="/gradio_api/queue/join") == (200, "stored")
