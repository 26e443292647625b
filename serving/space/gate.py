"""The Space's front gate: requests refused before Gradio sees them.

No component of the Space takes a file from a visitor, yet Gradio's upload route accepts any file up to
`max_file_size` from anyone, any number of times, and keeps them on disk. Until a component takes uploads, the
route answers 403 with one line and nothing is written. (A pure ASGI middleware: one string compare per request;
a refused upload's body is read and dropped, up to DRAIN_BYTES, so the client sees the answer instead of a broken
pipe; nothing of it is kept.)
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

Scope = dict[str, Any]
ASGIApp = Callable[[Scope, Callable, Callable], Awaitable[None]]

REFUSED_PATHS = ("/gradio_api/upload", "/upload")
MESSAGE = b"this Space takes no uploads: every keyframe is a seed or a recipe\n"
DRAIN_BYTES = 4 * 2**20


class UploadGate:
    """Refuses every POST to Gradio's upload route (any root path prefix) with 403 and one line."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Callable, send: Callable) -> None:
        if scope["type"] == "http" and _is_upload(scope):
            await _drain(receive)
            await send({"type": "http.response.start", "status": 403,
                        "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                                    (b"content-length", str(len(MESSAGE)).encode())]})
            await send({"type": "http.response.body", "body": MESSAGE})
            return
        await self.app(scope, receive, send)


def _is_upload(scope: Scope) -> bool:
    path = scope.get("path", "").rstrip("/")
    return any(path.endswith(p) for p in REFUSED_PATHS)


async def _drain(receive: Callable) -> None:
    """Read and drop the request body, at most DRAIN_BYTES of it."""
    seen = 0
    while seen <= DRAIN_BYTES:
        message = await receive()
        if message["type"] != "http.request":
            return
        seen += len(message.get("body", b""))
        if not message.get("more_body", False):
            return
