"""Publish to the Hugging Face Hub: a bundle as a model repo, and the Space that serves it, one commit each.

The token comes from `HF_TOKEN` or huggingface_hub's stored login and is never printed: every error here is one
line built from the status and the server's message, not from the request. `HF_ENDPOINT` points the client at
another Hub (the tests use a loopback one). Pulling is `Generator.from_pretrained("user/name", revision=SHA)`.
"""

from __future__ import annotations

import re
import shutil
import socket
import tempfile
from dataclasses import dataclass
from pathlib import Path

from serving.errors import HubError, network_errors
from serving.publish.license import license_text
from serving.publish.space_files import space_files


@dataclass(frozen=True)
class PushResult:
    repo_id: str
    repo_type: str
    commit_sha: str
    url: str


def token() -> str:
    """HF_TOKEN, else huggingface_hub's stored login; HubError when there is neither."""
    from huggingface_hub import get_token

    found = get_token()
    if not found:
        raise HubError("no Hugging Face token: set HF_TOKEN or run `hf auth login` (a token with write access)")
    return found


def _call(what: str, fn, *args, **kwargs):
    """Run a Hub call; turn HTTP and network failures into one HubError line."""
    from huggingface_hub.errors import HfHubHTTPError

    try:
        return fn(*args, **kwargs)
    except HfHubHTTPError as exc:
        status = exc.response.status_code if exc.response is not None else "?"
        reason = {401: "the token was refused", 403: "this token cannot write there", 404: "not found"}.get(status, "")
        server = (exc.server_message or "").strip().splitlines()[0][:200] if exc.server_message else ""
        raise HubError(f"{what} failed: HTTP {status} {reason}{': ' + server if server else ''}".rstrip()) from None
    except (*network_errors(), ConnectionError, TimeoutError, socket.gaierror) as exc:
        from huggingface_hub import constants

        raise HubError(f"{what} failed: cannot reach the Hub at {constants.ENDPOINT} ({type(exc).__name__})") from None
    except OSError as exc:  # a local file problem (permissions, a vanished folder), not the network
        where = f" {exc.filename}" if exc.filename else ""
        raise HubError(f"{what} failed: local file error{where}: {exc.strerror or exc}") from None


def bundle_files(bundle: Path) -> list[tuple[str, int]]:
    """(path in repo, bytes) of everything a bundle push uploads, after checking the bundle loads and verifies."""
    from serving.bundle.generator import Generator

    Generator.from_pretrained(bundle)  # never publish a bundle that would be refused on the way back
    return [
        (p.relative_to(bundle).as_posix(), p.stat().st_size)
        for p in sorted(bundle.rglob("*"))
        if p.is_file() and not p.name.startswith(".")
    ]


def push_bundle(
    bundle: Path, repo_id: str, private: bool = False, message: str | None = None, space_id: str = ""
) -> PushResult:
    """Create the model repo if needed and upload the bundle folder as one commit; its card names `space_id` as
    the Space that serves it (without one, the card has no Space section)."""
    from huggingface_hub import HfApi

    from serving.publish.cards import published_card

    files = bundle_files(bundle)
    api = HfApi(token=token())
    _call(f"creating {repo_id}", api.create_repo, repo_id, repo_type="model", private=private, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="ganimate-push-") as tmp:
        # The card's placeholder repo id becomes the real one, so its snippets and links work as published.
        staged = Path(tmp) / bundle.name
        shutil.copytree(bundle, staged, ignore=shutil.ignore_patterns(".*"))
        card = staged / "README.md"
        if card.is_file():
            card.write_text(published_card(card.read_text(encoding="utf-8"), repo_id, space_id), encoding="utf-8")
        if not (staged / "LICENSE").exists():  # a bundle exported before bundles carried their license
            (staged / "LICENSE").write_bytes(license_text())
        info = _call(
            f"uploading to {repo_id}",
            api.upload_folder,
            folder_path=str(staged),
            repo_id=repo_id,
            repo_type="model",
            commit_message=message or f"ganimate bundle {bundle.name} ({len(files)} files)",
        )
    return PushResult(repo_id, "model", info.oid, info.commit_url)


def resolve_revision(model_repo: str) -> tuple[str, str]:
    """'user/name@rev' or 'user/name' -> (repo, commit sha), asking the Hub for the sha of `main` or `rev`."""
    from huggingface_hub import HfApi

    repo, _, rev = model_repo.partition("@")
    if rev and re.fullmatch(r"[0-9a-f]{40}", rev):
        return repo, rev
    info = _call(f"looking up {repo}", HfApi(token=token()).model_info, repo, revision=rev or None)
    return repo, info.sha


def _served_config(repo: str, sha: str):
    """The GeneratorConfig of the model a Space will serve (its config.json at `sha`), for the Space's card."""
    from huggingface_hub import hf_hub_download

    from serving.bundle.config import GeneratorConfig

    path = _call(f"reading {repo}'s config.json", hf_hub_download, repo, "config.json", revision=sha, token=token())
    return GeneratorConfig.from_json(Path(path).read_text(encoding="utf-8"))


def push_space(space_id: str, model_repo: str, private: bool = False, message: str | None = None) -> PushResult:
    """Create the Gradio Space if needed and upload app, serving package, requirements and README as one commit."""
    from huggingface_hub import HfApi

    repo, sha = resolve_revision(model_repo)
    api = HfApi(token=token())
    _call(
        f"creating Space {space_id}",
        api.create_repo,
        space_id,
        repo_type="space",
        space_sdk="gradio",
        private=private,
        exist_ok=True,
    )
    with tempfile.TemporaryDirectory(prefix="ganimate-space-") as tmp:
        for name, data in space_files(repo, sha, space_id, (_served_config(repo, sha),)).items():
            (Path(tmp) / name).parent.mkdir(parents=True, exist_ok=True)
            (Path(tmp) / name).write_bytes(data)
        info = _call(
            f"uploading to Space {space_id}",
            api.upload_folder,
            folder_path=tmp,
            repo_id=space_id,
            repo_type="space",
            commit_message=message or f"ganimate Space serving {repo}@{sha[:12]}",
        )
    return PushResult(space_id, "space", info.oid, info.commit_url)
