"""Hub cards through huggingface_hub's card classes: model cards (bundle README.md) and the Space's README.md.

One place builds, edits and reads card front matter, so YAML is never concatenated, patched line by line or
matched with a regex. `ganimate_model` in the Space card pins the model revision the Space serves.
"""

from __future__ import annotations

from typing import Any

SPACE_MODEL_KEY = "ganimate_model"


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
