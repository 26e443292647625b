"""A real reverse proxy in front of a Space on loopback, as the Hub's is: Debian's nginx, started and stopped here.

It reaches the Space from 127.0.0.2 (`proxy_bind`): uvicorn trusts X-Forwarded-For from 127.0.0.1 by default, and
the Hub's proxy is no trusted local address, so a proxy on 127.0.0.1 would hide the very fault a rehearsal looks
for (every visitor seen as the proxy). Visitors connect from addresses of their own (`visitor`). Used by
bench.hosted_load and tests/space/test_hosted.py.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

NGINX_CONF = """
worker_processes 1;
daemon off;
pid {run}/nginx.pid;
error_log {run}/error.log warn;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {run}/body;
  proxy_temp_path {run}/proxy;
  fastcgi_temp_path {run}/fastcgi;
  uwsgi_temp_path {run}/uwsgi;
  scgi_temp_path {run}/scgi;
  client_max_body_size 12m;
  client_body_buffer_size 12m;  # bodies stay in memory: its workers (nobody) may not write our temp folder
  server {{
    listen 127.0.0.1:{listen};
    location / {{
      proxy_pass http://127.0.0.1:{space};
      proxy_bind 127.0.0.2;
      proxy_http_version 1.1;
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection "upgrade";
      proxy_buffering off;
      proxy_request_buffering off;
      proxy_read_timeout 300s;
    }}
  }}
}}
"""


def nginx() -> str | None:
    """nginx's path, or None where it is not installed (make nginx installs Debian's)."""
    return shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if os.path.exists(p)), None)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def front(space_port: int) -> Iterator[str]:
    """nginx on a free loopback port in front of the Space on `space_port`; yields the proxy's URL, stopped after."""
    import httpx

    binary = nginx()
    if binary is None:
        raise RuntimeError("nginx is not installed (make nginx installs it: apt-get install nginx-light)")
    with tempfile.TemporaryDirectory(prefix="ganimate-nginx-") as run:
        port = free_port()
        conf = Path(run) / "nginx.conf"
        conf.write_text(NGINX_CONF.format(run=run, listen=port, space=space_port))
        proxy = subprocess.Popen(
            [binary, "-p", run, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        try:
            for _ in range(100):  # bounded: about 10 s for nginx to listen
                if proxy.poll() is not None:
                    raise RuntimeError(f"nginx stopped: {proxy.stderr.read().decode(errors='replace')[-300:]}")
                with contextlib.suppress(httpx.HTTPError):
                    httpx.get(f"http://127.0.0.1:{port}/", timeout=5)
                    break
                time.sleep(0.1)
            else:
                raise RuntimeError(f"nginx did not answer on 127.0.0.1:{port} within 10 s")
            yield f"http://127.0.0.1:{port}/"
        finally:
            stop(proxy)


def stop(process: subprocess.Popen, seconds: float = 30.0) -> None:
    """Ask a child process to end, and kill it if it has not within `seconds`."""
    process.terminate()
    try:
        process.wait(seconds)
    except subprocess.TimeoutExpired:
        process.kill()


def visitor(address: str, timeout: float = 300.0):
    """An HTTP client whose connections leave from `address` (127.0.0.x): a visitor of its own to the proxy."""
    import httpx

    return httpx.Client(transport=httpx.HTTPTransport(local_address=address), timeout=timeout)
