"""Gradio's per-session state, made lazily: what every API call and page visit pays for before any work runs.

Gradio (6.31) keeps a SessionState per session hash, and every call through the REST API (`/gradio_api/call/...`)
is a session of its own. Each new SessionState copies the config of every block on the page (`config_values`,
for deep links and for updates a handler sends back): here about 150 blocks, 10-19 ms of the event loop's time
(it holds the GIL meanwhile, so the renders beside it wait) and about 240 KB kept per session, up to Gradio's
10,000 sessions. LeanSessionState builds a block's config the first time Gradio updates it; a whole list
(`components`, a deep link's snapshot) is built when asked for and not kept, equal to Gradio's own
(tests/space/test_sessions.py compares them).

`use_lean_sessions()` (called by serving.space.layout.SpaceBlocks) makes Gradio build these for the calls of a
served app: StateHolder (every call with a session hash, which Gradio gives every queued call) and route_utils (a
call without one) look SessionState up by their module's global name. Gradio's MCP server and a Blocks called as
a function keep their own (this Space serves neither).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from gradio import route_utils, state_holder
from gradio.state_holder import SessionState


class _NoBlocks:
    """The page seen with no block of its own: Gradio's SessionState.__init__ then copies the page's config and
    builds the per-block configs of none of them (tests/space/test_gradio_pins.py pins what it reads)."""

    def __init__(self, blocks: Any) -> None:
        self.default_config = blocks.default_config
        self.blocks: dict = {}


class LeanSessionState(SessionState):
    """SessionState whose per-block configs are built when first needed (see the module's docstring)."""

    def __init__(self, blocks: Any) -> None:
        super().__init__(_NoBlocks(blocks))

    @property
    def components(self) -> Iterator[dict]:
        """Every block's config, in the page's order, as Gradio's own session lists them. What was not updated is
        built here and not kept: a deep link (which reads this on a worker thread) must neither race an update
        on the event loop nor leave the whole page's copy behind."""
        page = self.blocks_config.root_block.blocks  # the blocks Gradio's eager copy covers
        for key, block in self.blocks_config.blocks.items():
            config = self.config_values.get(key)
            if config is None and key in page:
                config = self.blocks_config.config_for_block(key, [], block)
            if config:
                yield config


def use_lean_sessions() -> None:
    """Make Gradio build LeanSessionState for every new session of this process, for every Blocks it serves
    (idempotent; never undone)."""
    state_holder.SessionState = LeanSessionState
    route_utils.SessionState = LeanSessionState
