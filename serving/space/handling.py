"""What every Space handler shares: the form's defaults, the caps, one-line errors (`user_errors`), the visitor's
page address and the heavy lane's thread rules.
"""

from __future__ import annotations

import dataclasses
import functools
import html
import logging
from collections.abc import Callable
from typing import Any, TypeVar

import gradio as gr

from serving.errors import GanimateError
from serving.rendering.budget import SPACE
from serving.rendering.recipe import Recipe

log = logging.getLogger(__name__)

PARTNER = "its partner"  # Compare's right model by default: chosen for the left one (compare_partner)
DEFAULT = Recipe()  # the one source of defaults for the form, the API and the examples
DEFAULT_SEEDS = ",".join(map(str, DEFAULT.seeds))
DEFAULT_GRID = "x".join(map(str, DEFAULT.grid))
MAX_SAMPLE_SEEDS = 256
# A render estimated to take longer than this here goes through the heavy lane (SpaceApp._render). R1-sized
# renders (0.1 s) never do; the largest allowed ones (about 10 s, serving.rendering.cost) always do.
HEAVY_SECONDS = 1.0
# A handler's `model` when a Python caller leaves it out: the first model served. A client that sends a value
# (null included) must name a model; nothing it sends is silently taken for the default.
FIRST_MODEL = "<the first model>"
# The page's own renders (the example thumbnails): fixed recipes, made ahead, so no visitor's time cap applies.
PAGE = dataclasses.replace(SPACE, where="this page's examples", seconds=None)
RESULTS_BYTES = 384 * 2**20  # the results' share of the default 1 GB disk budget (serving.space.disk_budget)
UPLOADS_BYTES = 128 * 2**20  # uploads' and Gradio's copies' share of it (serving.space.disk)
GALLERY_SHOWN = 24
THUMBNAIL_SIZE = 128
# The examples shown as animated thumbnails under the form; clicking one fills the form (Animate's field order).
EXAMPLES = (
    (
        "4 seeds, cubic",
        (
            DEFAULT_SEEDS,
            "",
            DEFAULT.path,
            DEFAULT.frames,
            DEFAULT.fps,
            True,
            "linear",
            DEFAULT.truncation,
            DEFAULT_GRID,
            DEFAULT.size,
            DEFAULT.format,
        ),
    ),
    ("3x3 lissajous", ("10,20", "", "lissajous", 48, 24, True, "linear", 0.8, "3x3", 384, "gif")),
    ("4x4, slerp", ("0-15", "", "slerp", 12, 20, True, "ease-in-out", 0.8, "4x4", 512, "gif")),
)
API_USAGE = """```python
from gradio_client import Client, handle_file

client = Client("http://127.0.0.1:7860/")           # or the Space id, e.g. "user/ganimate"
gif, recipe = client.predict(api_name="/animate")    # every parameter has a default
gif, recipe = client.predict(model="{model}", seeds="1,2,3,4", classes="", path="cubic", frames=24,
                             fps=24, loop=True, easing="linear", truncation=1.0, grid="1x1", size=256,
                             format="gif", recipe="", api_name="/animate")
png, npz, stats = client.predict(model="{model}", seeds="0-31", api_name="/sample")
image = client.predict(model="{model}", seed=7, d1=1.5, api_name="/explore")
gif, recipes = client.predict(model_a="{model}", seeds="1,2,3,4", api_name="/compare")   # beside its partner
{project}mp4, recipe = client.predict(model="{model}", music=handle_file("song.wav"), beats_per_key=4,
                           api_name="/animate")            # a walk that follows the song, with its sound
```
The same inputs give byte-identical files. `recipe` is the JSON to paste back (or keep) to reproduce a render."""
PROJECT_USAGE = """# your own picture, as the first keyframe:
pair, latent, gif, recipe, verdict = client.predict(model="{model}", picture=handle_file("me.png"), api_name="/project")
"""

F = TypeVar("F", bound=Callable[..., Any])


def _page_url(request: Any) -> str:
    """The address the visitor opened (scheme, host and path, no query), from the request behind an event."""
    try:
        url = request.request.url if hasattr(request, "request") else request.url
        headers = request.headers
    except AttributeError:
        return ""
    from urllib.parse import urlsplit

    page = urlsplit(headers.get("referer") or "")  # an event's request is the queue's; the page is its referer
    if page.scheme in ("http", "https") and page.netloc:
        return f"{page.scheme}://{page.netloc}{page.path}"
    host = headers.get("x-forwarded-host")  # behind a proxy (a Hugging Face Space): the address the visitor used
    scheme = headers.get("x-forwarded-proto", "https") if host else url.scheme
    return f"{scheme}://{host or url.netloc}{url.path.split('/gradio_api')[0] or '/'}"


def plain(text: object) -> str:
    """A message that may repeat a visitor's value, as text: Gradio shows error and warning messages as HTML, so
    markup a visitor sent (a share link, a field) must not become elements of the page."""
    return html.escape(str(text), quote=False)


def user_errors(fn: F) -> F:
    """Our errors become gr.Error: one sentence for the user, no traceback, and the server goes on."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except GanimateError as exc:  # a visitor's mistake: no traceback in the server log either
            raise gr.Error(plain(exc), print_exception=False) from None

    return wrapper  # type: ignore[return-value]
