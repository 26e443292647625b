"""What the Space's API says of itself: each endpoint's description, with one line per parameter and per return
value, through
Gradio's public `api_description`; and the form's values as each endpoint's defaults (for the gate).
"""

from __future__ import annotations

import inspect
import weakref

from serving.space.handlers import SpaceApp

# What each API parameter means and accepts, by component: gathered while the page is built and written into its
# endpoint's description (`api_description`, Gradio's public means), so /gradio_api/info and gradio_client's
# view_api read like documentation.
_DESCRIPTIONS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def described(component, text: str):
    """Note what a component's API parameter accepts (its forms and range) for its endpoint's description.
    Returns the component."""
    _DESCRIPTIONS[component] = text
    return component


def api(app: SpaceApp, name: str, fn, inputs: list, outputs: list) -> dict:
    """An endpoint's public options: its name, and a description made of the handler's first docstring paragraph,
    one line per parameter (its name in the handler, what it accepts) and one per return value (its label, what
    it holds). The parameters and the form's values are noted as the endpoint's defaults (`app.api_defaults`,
    name -> value, in order): the gate gives a positional call that leaves the last out their values, and refuses
    a named call's unknown names."""
    names = list(inspect.signature(fn).parameters)
    app.api_defaults[name] = {p: c.value for p, c in zip(names, inputs)}
    summary = (inspect.getdoc(fn) or "").split("\n\n")[0].replace("\n", " ")
    lines = [f"- {p}: {_DESCRIPTIONS.get(c, getattr(c, 'label', '') or '')}" for p, c in zip(names, inputs)]
    returns = [f"- {c.label}: {_DESCRIPTIONS.get(c, '')}" for c in outputs]
    return {
        "api_name": name,
        "api_description": "\n".join([summary, "", "Parameters:", *lines, "", "Returns:", *returns]),
    }
