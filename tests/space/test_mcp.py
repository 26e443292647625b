"""The Space's tools for AI assistants: Gradio's MCP server on 127.0.0.1, driven by the `mcp` package's own client
(streamable HTTP), as an assistant would: it lists the seven tools and renders an animation through them, and a
tool call takes a turn of its visitor like a click on the page, visitors told apart as on a Hugging Face Space."""

import asyncio
import json
import types
import urllib.request

import pytest

from tests.space.conftest import served

TOOLS = {"animate", "sample", "explore", "compare", "project", "breed", "breed_candidates"}


@pytest.fixture(scope="module")
def space(models):
    """A Space of its own, one running request per visitor and one proxy in front (as hosted: visitors told apart
    by the address the proxy appends to X-Forwarded-For), and its handlers."""
    from serving.space import SpaceApp, build_demo

    app = SpaceApp(models, per_client=1, proxy_hops=1)
    with served(build_demo(app.models, app=app)) as url:
        yield url, app


def session(url: str, work, visitor: str | None = None):
    """Run `work(session)` in an MCP client session with the Space's MCP server; `visitor`: the address the proxy
    appends for it (X-Forwarded-For), else none (the socket's own, loopback)."""
    from mcp import ClientSession
    from mcp.client.streamable_http import streamablehttp_client

    headers = {"X-Forwarded-For": visitor} if visitor else None

    async def run():
        async with streamablehttp_client(f"{url}gradio_api/mcp/", headers=headers) as (read, write, _):
            async with ClientSession(read, write) as s:
                await s.initialize()
                return await work(s)

    return asyncio.run(run())


def test_the_seven_endpoints_are_tools_with_their_descriptions_and_limits(space):
    url, _ = space

    async def work(s):
        return (await s.list_tools()).tools

    tools = {t.name: t for t in session(url, work)}
    assert set(tools) == TOOLS
    animate = tools["animate"].description
    assert "Render a looping latent animation" in animate
    assert "frames between two keyframes, 1..240" in animate and "each side 1..8" in animate
    assert "at most 256" in tools["sample"].description and "-5..5" in tools["explore"].description
    assert "both models" in tools["compare"].description and "at most 1 MB" in tools["project"].description
    assert tools["animate"].inputSchema["properties"]["frames"]["type"] == "integer"


def test_an_assistant_renders_an_animation_through_the_animate_tool(space):
    from serving.files.recipe_file import recipe_text
    from serving.rendering.recipe import Recipe

    url, _ = space

    async def work(s):
        return await s.call_tool("animate", {"seeds": "1,2", "frames": 2, "size": 64, "path": "lerp"})

    result = session(url, work)
    assert not result.isError, result.content
    texts = [c.text for c in result.content if c.type == "text"]
    file_url = next(t for t in texts if "gradio_api/file=" in t)
    file_url = file_url[file_url.index("http://") :].split("'")[0].split('"')[0]
    assert file_url.startswith(url)  # served here, not from anywhere else
    with urllib.request.urlopen(file_url) as answer:
        data = answer.read()
    assert data[:6] == b"GIF89a"
    carried = Recipe.from_json(recipe_text(data))
    assert carried.bundle == "mnist-cdcgan" and carried.seeds == (1, 2) and carried.frames == 2
    assert any('"bundle": "mnist-cdcgan"' in t for t in texts)  # the recipe comes back as text too


def test_a_tool_call_takes_its_visitors_turn_like_the_page(space):
    url, app = space
    busy_one, other_one = "203.0.113.7", "198.51.100.4"  # neither is loopback: each is its own visitor
    holder = types.SimpleNamespace(
        client=types.SimpleNamespace(host="127.0.0.1"), headers={"x-forwarded-for": busy_one}
    )

    async def work(s):
        return await s.call_tool("sample", {"seeds": "0-3"})

    with app.turn(holder):  # this visitor's one running request is taken
        busy = session(url, work, busy_one)
        other = session(url, work, other_one)  # another visitor is served meanwhile
    assert busy.isError and "still running" in json.dumps([c.model_dump() for c in busy.content])
    assert not other.isError, other.content
    done = session(url, work, busy_one)  # and once it is done, the tool answers
    assert not done.isError, done.content
