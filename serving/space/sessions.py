"""Gradio's per-session state, made lazily: what every API call and page visit pays for before any work runs.

Gradio (6.31) keeps a SessionState per session hash, and every call through the REST API (`/gradio_api/call/...`)
is a session of its own. Each new SessionState copies the config of every block on the page (`config_values`,
for deep links and for updates a handler sends back): here about 150 blocks, 10-17 ms of the event loop's time
(it holds the GIL meanwhile, so the renders beside it wait) and about 240 KB kept per session, up to Gradio's
10,000 sessions. LeanSessionState builds a block's config the first time Gradio reads or updates it; a whole
list (`components`, a deep link's snapshot) is built in full when asked for, equal to Gradio's own
(tests/space/test_sessions.py compares them).

`use_lean_sessions()` makes Gradio build these instead (serving.space.layout.build_demo calls it): Gradio
creates SessionState in two places, StateHolder (every call with a session hash) and route_utils (a call
without one), both by their module's global name.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from gradio import route_utils, state_holder
from gradio.state_holder import SessionState


class _NoBlocks:
    """The page seen with no block of its own: Gradio's SessionState.__init__ then copies the page's config and
    builds the per-block configs of none of them."""

    def __init__(self, blocks: Any) -> None:
        self.default_config = blocks.default_config
        self.blocks: dict = {}


class LeanSessionState(SessionState):
    """SessionState whose per-block configs are built when first needed (see the module's docstring)."""

    def __init__(self, blocks: Any) -> None:
        super().__init__(_NoBlocks(blocks))
        self._page = blocks  # its block ids are the ones Gradio's eager copy covers

    @property
    def components(self) -> Iterator[dict]:
        """Every block's config, in the page's order, as Gradio's own session lists them."""
        for key, block in self.blocks_config.blocks.items():
            if key not in self.config_values:
                if key not in self._page.blocks:
                    continue
                self.config_values[key] = self.blocks_config.config_for_block(key, [], block)
            config = self.config_values[key]
            if config:
                yield config
        # Blocks set on this session that the page's config does not list (Gradio keeps those too).
        for key, config in list(self.config_values.items()):
            if key not in self.blocks_config.blocks and config:
                yield config


def use_lean_sessions() -> None:
    """Make Gradio build LeanSessionState for every new session of this process (idempotent)."""
    state_holder.SessionState = LeanSessionState
    route_utils.SessionState = LeanSessionState
