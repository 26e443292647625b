"""Serve the repository's static files on 127.0.0.1 for the web page: `python web/serve.py [PORT]`.

Any static host works; it must send `.mjs` as JavaScript and `.wasm` as application/wasm, which this does.
Open http://127.0.0.1:8000/web/?bundle=../exported/mathart-params/
"""

from __future__ import annotations

import functools
import sys
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


class Handler(SimpleHTTPRequestHandler):
    extensions_map = {**SimpleHTTPRequestHandler.extensions_map, ".mjs": "text/javascript", ".js": "text/javascript",
                      ".wasm": "application/wasm", ".onnx": "application/octet-stream"}

    def log_message(self, *args) -> None:
        pass


def make_server(port: int = 0) -> ThreadingHTTPServer:
    """A loopback server for the repository root (port 0: a free one)."""
    return ThreadingHTTPServer(("127.0.0.1", port), functools.partial(Handler, directory=str(ROOT)))


if __name__ == "__main__":
    server = make_server(int(sys.argv[1]) if len(sys.argv) > 1 else 8000)
    print(f"serving {ROOT} on http://127.0.0.1:{server.server_address[1]}/web/ (Ctrl-C to stop)")
    server.serve_forever()
