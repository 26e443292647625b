"""Publish to the Hugging Face Hub: a bundle as a model repo, and the Space that serves it, one commit each.

The token comes from `HF_TOKEN` or huggingface_hub's stored login and is never printed: every error here is one
line built from the status and the server's message, not from the request. `HF_ENDPOINT` points the client at
another Hub (the tests use a loopback one). Pulling is `Generator.from_pretrained("user/name", revision=SHA)`.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

SPACE_DIR = Path(__file__).resolve().parents[1] / "space"
SERVING_DIR = Path(__file__).resolve().parent
SPACE_MODEL_KEY = "ganimate_model"  # Space README front matter: the pinned model the app loads


class HubError(RuntimeError):
    """A push or pull that cannot go on; one line, never containing the token."""


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


def _network_errors() -> tuple[type[BaseException], ...]:
    """The HTTP client's transport errors: huggingface_hub 2.x uses httpx2, earlier releases httpx."""
    import importlib

    found = []
    for name in ("httpx2", "httpx"):
        try:
            found.append(importlib.import_module(name).HTTPError)
        except ImportError:
            pass
    return tuple(found)


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
    except (*_network_errors(), OSError) as exc:
        from huggingface_hub import constants

        raise HubError(f"{what} failed: cannot reach the Hub at {constants.ENDPOINT} ({type(exc).__name__})") from None


def bundle_files(bundle: Path) -> list[tuple[str, int]]:
    """(path in repo, bytes) of everything a bundle push uploads, after checking the bundle loads and verifies."""
    from serving.generator import Generator

    Generator.from_pretrained(bundle)  # never publish a bundle that would be refused on the way back
    return [(p.relative_to(bundle).as_posix(), p.stat().st_size) for p in sorted(bundle.rglob("*"))
            if p.is_file() and not p.name.startswith(".")]


def push_bundle(bundle: Path, repo_id: str, private: bool = False, message: str | None = None) -> PushResult:
    """Create the model repo if needed and upload the bundle folder as one commit."""
    from huggingface_hub import HfApi

    files = bundle_files(bundle)
    api = HfApi(token=token())
    _call(f"creating {repo_id}", api.create_repo, repo_id, repo_type="model", private=private, exist_ok=True)
    info = _call(f"uploading to {repo_id}", api.upload_folder, folder_path=str(bundle), repo_id=repo_id,
                 repo_type="model", commit_message=message or f"ganimate bundle {bundle.name} ({len(files)} files)",
                 ignore_patterns=[".*"])
    return PushResult(repo_id, "model", info.oid, info.commit_url)


def resolve_revision(model_repo: str) -> tuple[str, str]:
    """'user/name@rev' or 'user/name' -> (repo, commit sha), asking the Hub for the sha of `main` or `rev`."""
    from huggingface_hub import HfApi

    repo, _, rev = model_repo.partition("@")
    if rev and re.fullmatch(r"[0-9a-f]{40}", rev):
        return repo, rev
    info = _call(f"looking up {repo}", HfApi(token=token()).model_info, repo, revision=rev or None)
    return repo, info.sha


def space_readme(model_repo: str, revision: str) -> str:
    """space/README.md with front matter that names the model repo and pins the model revision."""
    text = (SPACE_DIR / "README.md").read_text()
    match = re.match(r"\A---\n(.*?)\n---\n", text, flags=re.S)
    if not match:
        raise HubError("space/README.md has no front matter")
    lines, out, skipping = match.group(1).splitlines(), [], False
    for line in lines:
        if skipping and line.startswith("  - "):
            continue
        skipping = False
        if line.startswith("models:"):
            out += ["models:", f"  - {model_repo}"]
            skipping = True
        elif not line.startswith(f"{SPACE_MODEL_KEY}:"):
            out.append(line)
    out.append(f"{SPACE_MODEL_KEY}: {model_repo}@{revision}")
    return "---\n" + "\n".join(out) + "\n---\n" + text[match.end():]


def space_files(model_repo: str, revision: str) -> dict[str, bytes]:
    """Everything the Space needs to run as it is: app, the serving package, requirements, README."""
    files = {"app.py": (SPACE_DIR / "app.py").read_bytes(),
             "requirements.txt": (SPACE_DIR / "requirements.txt").read_bytes(),
             "README.md": space_readme(model_repo, revision).encode()}
    for path in sorted(SERVING_DIR.glob("*.py")):
        files[f"serving/{path.name}"] = path.read_bytes()
    return files


def push_space(space_id: str, model_repo: str, private: bool = False, message: str | None = None) -> PushResult:
    """Create the Gradio Space if needed and upload app, serving package, requirements and README as one commit."""
    from huggingface_hub import HfApi

    repo, sha = resolve_revision(model_repo)
    api = HfApi(token=token())
    _call(f"creating Space {space_id}", api.create_repo, space_id, repo_type="space", space_sdk="gradio",
          private=private, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="ganimate-space-") as tmp:
        for name, data in space_files(repo, sha).items():
            (Path(tmp) / name).parent.mkdir(parents=True, exist_ok=True)
            (Path(tmp) / name).write_bytes(data)
        info = _call(f"uploading to Space {space_id}", api.upload_folder, folder_path=tmp, repo_id=space_id,
                     repo_type="space", commit_message=message or f"ganimate Space serving {repo}@{sha[:12]}")
    return PushResult(space_id, "space", info.oid, info.commit_url)
