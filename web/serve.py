"""Serve the repository's static files on 127.0.0.1 for the web page: `python web/serve.py [PORT]`.

Any static host works; it must send `.mjs` as JavaScript and `.wasm` as application/wasm, which this does. It also
sends the cross-origin isolation headers (COOP/COEP) that let the live view run the model on several WASM threads;
without them the page runs it on one.
Open http://127.0.0.1:8000/web/?bundle=../exported/mathart-params/
"""

from __future__ import annotations

import functools
import sys
import urllib.parse
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


# Only what the page needs is served: the page itself and the bundles. Never the rest of the checkout (.git,
# virtual environments, node_modules, runs).
SERVED = ("web", "exported")
HIDDEN = ("node_modules",)


def allowed(url_path: str) -> bool:
    """True for a URL path inside SERVED, with no hidden or dot segment (checked before any file is opened)."""
    parts = [p for p in urllib.parse.unquote(url_path.split("?", 1)[0].split("#", 1)[0]).split("/") if p]
    return (
        bool(parts)
        and parts[0] in SERVED
        and not any(p.startswith(".") or p in HIDDEN for p in parts)
        and "\\" not in url_path
    )


class Handler(SimpleHTTPRequestHandler):
    extensions_map = {
        **SimpleHTTPRequestHandler.extensions_map,
        ".mjs": "text/javascript",
        ".js": "text/javascript",
        ".wasm": "application/wasm",
        ".onnx": "application/octet-stream",
    }

    def end_headers(self) -> None:
        # Cross-origin isolation: SharedArrayBuffer, hence onnxruntime-web's WASM threads, needs both headers.
        self.send_header("Cross-Origin-Opener-Policy", "same-origin")
        self.send_header("Cross-Origin-Embedder-Policy", "require-corp")
        super().end_headers()

    def send_head(self):
        if not allowed(self.path):
            self.send_error(404, "not part of the web page")
            return None
        return super().send_head()

    def list_directory(self, path):  # no folder listings: a page names the files it needs
        self.send_error(404, "no listing")
        return None

    def log_message(self, *args) -> None:
        pass


def make_server(port: int = 0, root: Path = ROOT) -> ThreadingHTTPServer:
    """A loopback server for the page and the bundles under `root` (port 0: a free one)."""
    return ThreadingHTTPServer(("127.0.0.1", port), functools.partial(Handler, directory=str(root)))


if __name__ == "__main__":
    server = make_server(int(sys.argv[1]) if len(sys.argv) > 1 else 8000)
    print(f"serving {ROOT} on http://127.0.0.1:{server.server_address[1]}/web/ (Ctrl-C to stop)")
    server.serve_forever()
