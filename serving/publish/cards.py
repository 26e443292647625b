"""Hub cards through huggingface_hub's card classes: model cards (bundle README.md) and the Space's README.md.

One place builds, edits and reads card front matter, so YAML is never concatenated, patched line by line or
matched with a regex. `ganimate_model` in the Space card pins the model revision the Space serves.
"""

from __future__ import annotations

from typing import Any

SPACE_MODEL_KEY = "ganimate_model"
MODEL_PLACEHOLDER = "USER/NAME"  # what a model card says before it is published under a real repo id
SPACE_PLACEHOLDER = "USER/SPACE"  # the Space that serves it, named by `python -m serving push --space`
SPACE_START, SPACE_END = "<!-- space -->", "<!-- /space -->"  # the card's Space section, kept only with a Space


def published_card(text: str, repo_id: str, space_id: str = "") -> str:
    """A model card as published: its placeholders made the real repo id and Space id; without a Space its Space
    section is left out (a snippet calling no Space would fail)."""
    text = text.replace(MODEL_PLACEHOLDER, repo_id)
    start, end = text.find(SPACE_START), text.find(SPACE_END)
    if start >= 0 and end > start:
        if space_id:
            text = text[:start] + text[start + len(SPACE_START) : end].strip("\n") + text[end + len(SPACE_END) :]
        else:
            text = text[:start].rstrip("\n") + "\n\n" + text[end + len(SPACE_END) :].lstrip("\n")
    return text.replace(SPACE_PLACEHOLDER, space_id) if space_id else text


def card_text(metadata: dict[str, Any], body: str) -> str:
    """README.md text: `metadata` as the Hub's YAML front matter (ModelCardData), then the markdown body."""
    from huggingface_hub import ModelCardData

    data = ModelCardData(**metadata)
    return f"---\n{data.to_yaml()}\n---\n{body if body.startswith(chr(10)) else chr(10) + body}"


def card_body(text: str) -> str:
    """The markdown of a card without its front matter (what a page shows under the Hub's header)."""
    from huggingface_hub import ModelCard

    return ModelCard(text, ignore_metadata_errors=True).text.lstrip("\n")


def space_card(model_repos: list[str], pinned: str, body: str, metadata: dict[str, Any]) -> str:
    """The Space's README.md: the Space metadata, the model repos it uses, and the pinned `repo@sha` it serves."""
    from huggingface_hub import SpaceCardData

    extra = {SPACE_MODEL_KEY: pinned} if pinned else {}
    data = SpaceCardData(**{**metadata, "models": list(model_repos) or None}, **extra)
    return f"---\n{data.to_yaml()}\n---\n{body if body.startswith(chr(10)) else chr(10) + body}"


def pinned_model(text: str) -> str:
    """The `ganimate_model` a Space card pins, or '' when it pins none."""
    from huggingface_hub import SpaceCard

    value = SpaceCard(text, ignore_metadata_errors=True).data.to_dict().get(SPACE_MODEL_KEY, "")
    return value.strip() if isinstance(value, str) else ""
