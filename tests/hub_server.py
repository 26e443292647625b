"""A loopback stand-in for the Hugging Face Hub: the part of its HTTP API that `huggingface_hub` uses to create
repos, commit files (NDJSON with base64 and LFS uploads) and resolve them again. Tests only; never shipped.

State lives in memory: repos with an ordered commit list and a `main` branch, and an LFS object store. Write
calls need `Authorization: Bearer <token>` for the namespace the token owns. `tamper` flips one byte of a file as
served, to test that a pull refuses it. Xet storage is not spoken: clients must run with HF_HUB_DISABLE_XET=1.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlparse

LFS_SUFFIXES = (".onnx", ".png", ".gif", ".webp", ".npz", ".bin")


@dataclass
class Repo:
    repo_type: str
    repo_id: str
    private: bool
    sdk: str | None = None
    commits: list[dict] = field(default_factory=list)  # {"sha", "message", "files": {path: bytes}}
    branches: dict[str, str] = field(default_factory=dict)

    def files_at(self, revision: str) -> tuple[str, dict[str, bytes]] | None:
        sha = self.branches.get(revision, revision)
        for commit in self.commits:
            if commit["sha"] == sha:
                return sha, commit["files"]
        return None


class HubState:
    def __init__(self, tokens: dict[str, str]) -> None:
        self.tokens = tokens  # token -> user name (the namespace it may write)
        self.repos: dict[tuple[str, str], Repo] = {}
        self.lfs: dict[str, bytes] = {}
        self.tamper: set[tuple[str, str]] = set()  # (repo_id, path) served with one byte flipped
        self.requests: list[str] = []
        self.lock = threading.Lock()


def hub_env(endpoint: str, home, token: str | None = None, **extra: str) -> dict:
    """The environment a child process needs to use the loopback Hub at `endpoint` (and nothing of the real one):
    this machine's variables without any HF_*, a fresh HF_HOME, no Xet, no telemetry, and the token if given."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    env.update(HF_ENDPOINT=endpoint, HF_HOME=str(home), HF_HUB_DISABLE_XET="1", HF_HUB_DISABLE_TELEMETRY="1", **extra)
    if token:
        env["HF_TOKEN"] = token
    return env


def _git_blob_sha(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


class Handler(BaseHTTPRequestHandler):
    state: HubState  # set on the subclass made by serve()
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:  # quiet
        pass

    # ---- plumbing ----
    def _send(self, status: int, body: bytes = b"", headers: dict | None = None, head: bool = False) -> None:
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _json(self, status: int, obj, headers: dict | None = None) -> None:
        self._send(status, json.dumps(obj).encode(), {"Content-Type": "application/json", **(headers or {})})

    def _error(self, status: int, message: str) -> None:
        self._json(status, {"error": message}, {"X-Error-Message": message})

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _user(self) -> str | None:
        auth = self.headers.get("Authorization", "")
        return self.state.tokens.get(auth[7:]) if auth.startswith("Bearer ") else None

    def _can_write(self, repo_id: str) -> bool:
        user = self._user()
        if user is None:
            self._error(401, "Invalid credentials in Authorization header")
            return False
        if repo_id.split("/")[0] != user:
            self._error(403, f"You don't have the rights to write to {repo_id}")
            return False
        return True

    def _repo(self, repo_type: str, repo_id: str) -> Repo | None:
        repo = self.state.repos.get((repo_type, repo_id))
        if repo is None or (repo.private and self._user() != repo_id.split("/")[0]):
            self._error(404, "Repository not found")
            return None
        return repo

    # ---- routes ----
    def do_POST(self) -> None:  # noqa: N802
        path = unquote(urlparse(self.path).path)
        self.state.requests.append(f"POST {path}")
        if path == "/api/repos/create":
            return self._create_repo(json.loads(self._body()))
        if path == "/api/validate-yaml":
            return self._validate_yaml(json.loads(self._body()))
        m = re.fullmatch(r"/api/(model|space|dataset)s/([^/]+/[^/]+)/(preupload|commit)/(.+)", path)
        if m:
            repo_type, repo_id, action, revision = m.groups()
            return (
                self._preupload(repo_type, repo_id)
                if action == "preupload"
                else self._commit(repo_type, repo_id, revision)
            )
        m = re.fullmatch(r"/(?:(spaces|datasets)/)?([^/]+/[^/]+)\.git/info/lfs/objects/batch", path)
        if m:
            return self._lfs_batch(m.group(2))
        self._error(404, f"no route POST {path}")

    def do_PUT(self) -> None:  # noqa: N802
        path = urlparse(self.path).path
        m = re.fullmatch(r"/lfs-upload/([0-9a-f]{64})", path)
        if not m:
            return self._error(404, "no route")
        data = self._body()
        if hashlib.sha256(data).hexdigest() != m.group(1):
            return self._error(400, "sha256 mismatch")
        with self.state.lock:
            self.state.lfs[m.group(1)] = data
        self._send(200)

    def do_GET(self) -> None:  # noqa: N802
        self._read(head=False)

    def do_HEAD(self) -> None:  # noqa: N802
        self._read(head=True)

    def _read(self, head: bool) -> None:
        path = unquote(urlparse(self.path).path)
        self.state.requests.append(f"{'HEAD' if head else 'GET'} {path}")
        m = re.fullmatch(r"/api/(model|space|dataset)s/([^/]+/[^/]+)/tree/([^/]+)(?:/(.+))?", path)
        if m:  # snapshot_download lists the files it will fetch
            return self._tree(m.group(1), m.group(2), m.group(3), m.group(4) or "")
        m = re.fullmatch(r"/api/(model|space|dataset)s/([^/]+/[^/]+?)(?:/revision/(.+))?", path)
        if m:
            return self._info(m.group(1), m.group(2), m.group(3) or "main")
        m = re.fullmatch(r"/(?:(spaces|datasets)/)?([^/]+/[^/]+)/resolve/([^/]+)/(.+)", path)
        if m:
            repo_type = {"spaces": "space", "datasets": "dataset"}.get(m.group(1) or "", "model")
            return self._resolve(repo_type, m.group(2), m.group(3), m.group(4), head)
        self._error(404, f"no route {path}")

    def _create_repo(self, payload: dict) -> None:
        repo_id = f"{payload.get('organization') or self.state.tokens.get(self.headers.get('Authorization', '')[7:], '')}/{payload['name']}"
        if not self._can_write(repo_id):
            return
        repo_type = payload.get("type") or "model"
        with self.state.lock:
            if (repo_type, repo_id) in self.state.repos:
                return self._error(409, "You already created this repo")
            repo = Repo(
                repo_type,
                repo_id,
                payload.get("visibility") == "private" or bool(payload.get("private")),
                payload.get("sdk"),
            )
            first = {
                "sha": hashlib.sha1(f"init {repo_type} {repo_id}".encode()).hexdigest(),
                "message": "initial commit",
                "files": {".gitattributes": b"*.onnx filter=lfs diff=lfs merge=lfs -text\n"},
            }
            repo.commits.append(first)
            repo.branches["main"] = first["sha"]
            self.state.repos[(repo_type, repo_id)] = repo
        prefix = "" if repo_type == "model" else f"{repo_type}s/"
        self._json(200, {"url": f"http://{self.headers['Host']}/{prefix}{repo_id}", "name": repo_id})

    def _validate_yaml(self, payload: dict) -> None:
        """The README's front matter must be YAML mapping, as the Hub requires of model cards and Space configs."""
        import yaml

        match = re.match(r"\A---\n(.*?)\n---\n", payload.get("content", ""), flags=re.S)
        try:
            meta = yaml.safe_load(match.group(1)) if match else None
        except yaml.YAMLError as exc:
            return self._error(400, f"Invalid YAML in README.md: {exc}")
        if not isinstance(meta, dict):
            return self._json(200, {"warnings": [{"message": "empty or missing metadata"}]})
        self._json(200, {"warnings": []})

    def _preupload(self, repo_type: str, repo_id: str) -> None:
        payload = json.loads(self._body())
        if self._repo(repo_type, repo_id) is None or not self._can_write(repo_id):
            return
        files = [
            {
                "path": f["path"],
                "uploadMode": "lfs" if f["path"].endswith(LFS_SUFFIXES) or f["size"] > 10_000_000 else "regular",
                "shouldIgnore": False,
            }
            for f in payload["files"]
        ]
        self._json(200, {"files": files, "commitOid": None})

    def _lfs_batch(self, repo_id: str) -> None:
        payload = json.loads(self._body())
        if not self._can_write(repo_id):
            return
        host = f"http://{self.headers['Host']}"
        objects = []
        for obj in payload["objects"]:
            entry = {"oid": obj["oid"], "size": obj["size"]}
            if obj["oid"] not in self.state.lfs:  # already stored: no action, the client skips the upload
                entry["actions"] = {"upload": {"href": f"{host}/lfs-upload/{obj['oid']}"}}
            objects.append(entry)
        self._json(200, {"transfer": "basic", "objects": objects}, {"Content-Type": "application/vnd.git-lfs+json"})

    def _commit(self, repo_type: str, repo_id: str, revision: str) -> None:
        lines = [json.loads(line) for line in self._body().splitlines() if line.strip()]
        repo = self._repo(repo_type, repo_id)
        if repo is None or not self._can_write(repo_id):
            return
        with self.state.lock:
            base = repo.files_at(revision)
            if base is None:
                return self._error(404, f"Revision {revision} not found")
            files = dict(base[1])
            header = {}
            for item in lines:
                key, value = item["key"], item["value"]
                if key == "header":
                    header = value
                elif key == "file":
                    files[value["path"]] = base64.b64decode(value["content"])
                elif key == "lfsFile":
                    if value["oid"] not in self.state.lfs:
                        return self._error(422, f"LFS object {value['oid']} was never uploaded")
                    files[value["path"]] = self.state.lfs[value["oid"]]
                elif key in ("deletedFile", "deletedFolder"):
                    files = {
                        p: d
                        for p, d in files.items()
                        if not (p == value["path"] or p.startswith(value["path"].rstrip("/") + "/"))
                    }
            digest = hashlib.sha1(
                json.dumps(sorted((p, _git_blob_sha(d)) for p, d in files.items())).encode()
                + base[0].encode()
                + header.get("summary", "").encode()
            ).hexdigest()
            repo.commits.append({"sha": digest, "message": header.get("summary", ""), "files": files})
            repo.branches[revision if revision in repo.branches else "main"] = digest
        prefix = "" if repo_type == "model" else f"{repo_type}s/"
        self._json(
            200,
            {
                "success": True,
                "commitOid": digest,
                "commitUrl": f"http://{self.headers['Host']}/{prefix}{repo_id}/commit/{digest}",
            },
        )

    def _snapshot(self, repo_type: str, repo_id: str, revision: str) -> tuple[Repo, str, dict[str, bytes]] | None:
        """(repo, commit sha, files) at `revision`, or None after answering 404 for the repo or the revision."""
        repo = self._repo(repo_type, repo_id)
        if repo is None:
            return None
        found = repo.files_at(revision)
        if found is None:
            self._error(404, f"Invalid rev id: {revision}")
            return None
        return repo, *found

    def _info(self, repo_type: str, repo_id: str, revision: str) -> None:
        snapshot = self._snapshot(repo_type, repo_id, revision)
        if snapshot is None:
            return
        repo, sha, files = snapshot
        self._json(
            200,
            {
                "id": repo_id,
                "sha": sha,
                "private": repo.private,
                "sdk": repo.sdk,
                "siblings": [{"rfilename": p} for p in sorted(files)],
            },
        )

    def _tree(self, repo_type: str, repo_id: str, revision: str, folder: str) -> None:
        """Every file under `folder` (recursive, one page), as the Hub's tree listing describes it."""
        snapshot = self._snapshot(repo_type, repo_id, revision)
        if snapshot is None:
            return
        prefix = folder.rstrip("/") + "/" if folder else ""
        entries = []
        for path, data in sorted(snapshot[2].items()):
            if not path.startswith(prefix):
                continue
            entry = {"type": "file", "path": path, "size": len(data), "oid": _git_blob_sha(data)}
            if path.endswith(LFS_SUFFIXES):
                entry["lfs"] = {"oid": hashlib.sha256(data).hexdigest(), "size": len(data), "pointerSize": 134}
            entries.append(entry)
        self._json(200, entries)

    def _resolve(self, repo_type: str, repo_id: str, revision: str, file_path: str, head: bool) -> None:
        snapshot = self._snapshot(repo_type, repo_id, revision)
        if snapshot is None:
            return
        _, sha, files = snapshot
        if file_path not in files:
            return self._send(404, b"", {"X-Error-Code": "EntryNotFound", "X-Repo-Commit": sha}, head)
        data = files[file_path]
        is_lfs = file_path.endswith(LFS_SUFFIXES)
        etag = hashlib.sha256(data).hexdigest() if is_lfs else _git_blob_sha(data)
        if (repo_id, file_path) in self.state.tamper:
            data = bytes([data[0] ^ 0xFF]) + data[1:]  # the same size and ETag: only the content check can tell
        headers = {"X-Repo-Commit": sha, "ETag": f'"{etag}"', "Content-Type": "application/octet-stream"}
        if is_lfs:
            headers["X-Linked-Etag"] = f'"{etag}"'
            headers["X-Linked-Size"] = str(len(data))
        self._send(200, data, headers, head)


def serve(tokens: dict[str, str]) -> tuple[ThreadingHTTPServer, HubState, str]:
    """Start the server on 127.0.0.1 on a free port in a daemon thread; returns (server, state, endpoint URL)."""
    state = HubState(tokens)
    handler = type("BoundHandler", (Handler,), {"state": state})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, state, f"http://127.0.0.1:{server.server_address[1]}"
