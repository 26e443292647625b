"""The Space's tools for AI assistants: Gradio's MCP server on 127.0.0.1, driven by the `mcp` package's own client
(streamable HTTP), as an assistant would: it lists the five tools and renders an animation through them, and a
tool call takes a turn of its visitor like a click on the page."""

import asyncio
import json
import types
import urllib.request

import pytest

from tests.space.conftest import served

TOOLS = {"animate", "sample", "explore", "compare", "project", "breed", "breed_candidates"}


@pytest.fixture(scope="module")
def space(models):
    """A Space of its own, one running request per visitor (as hosted), and its handlers."""
    from serving.space import SpaceApp, build_demo

    app = SpaceApp(models, per_client=1)
    with served(build_demo(app.models, app=app)) as url:
        yield url, app


def session(url: str, work):
    """Run `work(session)` in an MCP client session with the Space's MCP server."""
    from mcp import ClientSession
    from mcp.client.streamable_http import streamablehttp_client

    async def run():
        async with streamablehttp_client(f"{url}gradio_api/mcp/") as (read, write, _):
            async with ClientSession(read, write) as s:
                await s.initialize()
                return await work(s)

    return asyncio.run(run())


def test_the_five_endpoints_are_tools_with_their_descriptions_and_limits(space):
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
    visitor = types.SimpleNamespace(client=types.SimpleNamespace(host="127.0.0.1"), headers={})

    async def work(s):
        return await s.call_tool("sample", {"seeds": "0-3"})

    with app.turn(visitor):  # this visitor's one running request is taken
        busy = session(url, work)
    assert busy.isError and "still running" in json.dumps([c.model_dump() for c in busy.content])
    done = session(url, work)  # and once it is done, the tool answers
    assert not done.isError, done.content
