"""Who a visitor is, and how often they may ask: the key every per-visitor limit of the Space counts by.

On a Hugging Face Space every request arrives from the Hub's proxy, so the socket's address would make every
visitor one; `proxy_hops` says how many proxies' X-Forwarded-For entries to believe, and `client_key` reads the
visitor's address from them. `Window` counts a visitor's events in the last minute (the gate's rates).
"""

from __future__ import annotations

import os
import threading
import time
from collections import defaultdict, deque


def proxy_hops(environ: dict | None = None) -> int:
    """How many reverse proxies stand between visitors and this server, each appending the address it saw to
    X-Forwarded-For: `GANIMATE_PROXY_HOPS` (0-9) where set; on a Hugging Face Space (the Hub sets `SPACE_ID`) 1,
    the Hub's proxy; elsewhere 0, the socket's address. A bad value is one InputError line at start."""
    from serving import inputs as check

    environ = os.environ if environ is None else environ
    text = environ.get("GANIMATE_PROXY_HOPS", "").strip()
    if text:
        return check.whole("GANIMATE_PROXY_HOPS", text, 0, 9)
    return 1 if environ.get("SPACE_ID", "").strip() else 0


def client_key(peer: str, forwarded: str | None, hops: int) -> str:
    """Who a request is from: the socket's address, or with `hops` the address that many proxies back in
    X-Forwarded-For. Each proxy appends the address it saw on the right, so the right-most `hops` entries are the
    proxies' own words and a client cannot forge them (whatever it sends goes to their left). A request with
    fewer entries than `hops` did not come through the proxies: its socket's address."""
    if hops and forwarded:
        seen = [h.strip() for h in forwarded.split(",") if h.strip()]
        return seen[-hops] if len(seen) >= hops else peer
    return peer


def client_of(scope: dict, hops: int) -> str:
    """Who an ASGI request is from (client_key of its socket and its X-Forwarded-For)."""
    forwarded = next(
        (v.decode("latin-1") for k, v in scope.get("headers", []) if k.lower() == b"x-forwarded-for"), None
    )
    return client_key((scope.get("client") or ("?", 0))[0], forwarded, hops)


class Window:
    """At most `limit` events per client in any 60 s; the table of clients stays bounded."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._seen: dict[str, deque] = defaultdict(deque)
        self._lock = threading.Lock()

    def wait(self, client: str) -> int:
        """Seconds `client` must wait before its next event (0: go on, and it is counted)."""
        now = time.monotonic()
        with self._lock:
            seen = self._seen[client]
            while seen and now - seen[0] > 60:
                seen.popleft()
            if len(seen) >= self.limit:
                return max(1, int(61 - (now - seen[0])))
            seen.append(now)
            if len(self._seen) > 10_000:  # forget idle clients
                for key in [k for k, v in self._seen.items() if not v or now - v[-1] > 60]:
                    del self._seen[key]
        return 0
