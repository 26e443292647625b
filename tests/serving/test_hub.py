"""Push and pull through the real huggingface_hub client against a loopback Hub (tests/hub_server.py).

Every client runs in a subprocess with HF_ENDPOINT pointed at the loopback server and its own HF_HOME, the way a
user runs the CLI; nothing here reaches the internet.
"""

import json
import shutil
import subprocess
import sys

import pytest
from huggingface_hub import SpaceCard

from tests.conftest import REPO
from tests.hub_server import hub_env, serve

TOKEN = "hf_loopback_secret_token_123"


@pytest.fixture(scope="module")
def hub():
    server, state, endpoint = serve({TOKEN: "alice", "hf_other_user_token": "bob"})
    yield state, endpoint
    server.shutdown()


def _env(endpoint: str, home, token: str | None = TOKEN, **extra) -> dict:
    return hub_env(endpoint, home, token, **extra)


def _run(args: list[str], env: dict, cwd=REPO, code: str | None = None) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-c", code] if code else [sys.executable, "-m", "serving", *args]
    out = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=300)
    assert TOKEN not in out.stdout + out.stderr, "the token must never be printed"
    return out


PULL = """
import sys
from serving import Generator, Recipe, render
gen = Generator.from_pretrained(sys.argv[1], revision=sys.argv[2] if len(sys.argv) > 2 else None)
# The recipe the CLI would make for the same flags (a file carries its recipe, bundle name and sha256 included).
sys.stdout.buffer.write(render(gen, Recipe(seeds=(1, 2), classes=(0, 3), frames=3, size=32,
                                           bundle_sha256=gen.config.sha256, bundle=gen.config.name)))
"""


def _pull(endpoint, home, repo, revision=None, **extra):
    args = [repo] + ([revision] if revision else [])
    cmd = [sys.executable, "-c", PULL, *args]
    return subprocess.run(cmd, env=_env(endpoint, home, **extra), cwd=REPO, capture_output=True, timeout=300)


@pytest.mark.slow
def test_push_pull_space_tamper_offline(hub, tiny_bundles, tmp_path):
    state, endpoint = hub
    bundle = tiny_bundles["cgan"]
    home = tmp_path / "home"

    # 1. Push the bundle: one commit on top of the repo's first, with every file.
    out = _run(["push", "--bundle", str(bundle), "--repo", "alice/tiny-cgan"], _env(endpoint, home))
    assert out.returncode == 0, out.stderr
    sha = out.stdout.split("commit ")[1].split()[0]
    repo = state.repos[("model", "alice/tiny-cgan")]
    assert len(repo.commits) == 2 and repo.branches["main"] == sha
    assert repo.commits[-1]["files"]["model.onnx"] == (bundle / "model.onnx").read_bytes()
    assert {"config.json", "README.md", "samples.png", "interpolation.gif"} <= set(repo.commits[-1]["files"])
    assert repo.commits[-1]["files"]["LICENSE"] == (REPO / "LICENSE").read_bytes()  # the license travels with it
    published = repo.commits[-1]["files"]["README.md"].decode()
    assert "`alice/tiny-cgan`" in published and "USER/NAME" not in published  # the placeholder became the repo
    assert "USER/NAME" in (bundle / "README.md").read_text()  # the local bundle is left as it was

    # 2. Pull it back by revision and render: byte-identical to rendering the local bundle.
    pulled = _pull(endpoint, home, "alice/tiny-cgan", sha)
    assert pulled.returncode == 0, pulled.stderr.decode()[-2000:]
    local = subprocess.run([sys.executable, "-c", PULL, str(bundle)], cwd=REPO, capture_output=True, timeout=300)
    assert pulled.stdout == local.stdout and pulled.stdout[:6] == b"GIF89a"

    # 3. Offline, from the cache alone: the server is not even asked.
    asked = len(state.requests)
    offline = _pull("http://127.0.0.1:9", home, "alice/tiny-cgan", sha, HF_HUB_OFFLINE="1")
    assert offline.returncode == 0, offline.stderr.decode()[-2000:]
    assert offline.stdout == local.stdout and len(state.requests) == asked

    _tampered_pull_is_refused_then_mended(state, endpoint, tmp_path, sha, local.stdout)
    _pushed_space_runs_from_a_bare_folder(state, endpoint, home, tmp_path, bundle, sha)


def _tampered_pull_is_refused_then_mended(state, endpoint, tmp_path, sha, local_gif):
    # 4. One flipped byte in the served model: the pull is refused (a fresh cache, so it really downloads).
    state.tamper.add(("alice/tiny-cgan", "model.onnx"))
    try:
        bad = _pull(endpoint, tmp_path / "home2", "alice/tiny-cgan", sha)
    finally:
        state.tamper.clear()
    assert bad.returncode != 0 and b"sha256" in bad.stderr
    # 4b. The Hub is fixed, but that cache still holds the tampered file: the refusal names the file and the fix,
    # and --force-download fetches it again.
    again = _pull(endpoint, tmp_path / "home2", "alice/tiny-cgan", sha)
    assert again.returncode != 0 and b"--force-download" in again.stderr and b"model.onnx" in again.stderr
    args = [
        "render",
        "--bundle",
        f"alice/tiny-cgan@{sha}",
        "--seeds",
        "1,2",
        "--classes",
        "0,3",
        "--frames",
        "3",
        "--size",
        "32",
        "--out",
        str(tmp_path / "fixed.gif"),
    ]
    assert _run(args, _env(endpoint, tmp_path / "home2")).returncode == 2  # still refused without the flag
    fixed = _run([*args, "--force-download"], _env(endpoint, tmp_path / "home2"))
    assert fixed.returncode == 0, fixed.stderr
    assert (tmp_path / "fixed.gif").read_bytes() == local_gif


def _pushed_space_runs_from_a_bare_folder(state, endpoint, home, tmp_path, bundle, sha):
    # 5. Push the Space pinned to that commit, then run the pushed files as they are, from a bare folder.
    out = _run(["push-space", "--space", "alice/ganimate", "--model-repo", "alice/tiny-cgan"], _env(endpoint, home))
    assert out.returncode == 0, out.stderr
    space = state.repos[("space", "alice/ganimate")]
    files = space.commits[-1]["files"]
    assert len(space.commits) == 2 and space.sdk == "gradio"
    assert {
        "app.py",
        "requirements.txt",
        "README.md",
        "serving/bundle/generator.py",
        "serving/rendering/render.py",
    } <= set(files)
    assert files["LICENSE"] == (REPO / "LICENSE").read_bytes()
    readme = files["README.md"].decode()
    card = SpaceCard(readme).data.to_dict()
    assert card["sdk"] == "gradio" and card["models"] == ["alice/tiny-cgan"]
    assert card["ganimate_model"] == f"alice/tiny-cgan@{sha}"
    # Its text is made for the model it serves (read from the Hub) and names the Space, never a local address.
    assert "`tiny-cgan`" in readme and 'Client("alice/ganimate")' in readme and "127.0.0.1" not in readme
    site = tmp_path / "space"
    for name, data in files.items():
        (site / name).parent.mkdir(parents=True, exist_ok=True)
        (site / name).write_bytes(data)
    run_space = (
        "import json, runpy, sys\n"
        "runpy.run_path('app.py')  # the uploaded launcher puts this folder on sys.path\n"
        "import serving\n"
        "from serving.space import SpaceApp, load_models, model_sources\n"
        "app = SpaceApp(load_models(model_sources('', open('README.md').read(), None)))\n"
        "path, recipe = app.animate(seeds='1,2', frames=2, size=64)\n"
        "print(list(app.models), serving.__file__, json.loads(recipe)['bundle_sha256'])\n"
    )
    env = _env(endpoint, tmp_path / "home3", token=None)
    env.pop("PYTHONPATH", None)
    out = subprocess.run(
        [sys.executable, "-c", run_space], env=env, cwd=site, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr[-3000:]
    config = json.loads((bundle / "config.json").read_text())
    assert out.stdout.split()[-1] == config["sha256"] and str(site) in out.stdout


def test_push_errors_are_one_line_exit_2(hub, tiny_bundles, tmp_path):
    state, endpoint = hub
    bundle = str(tiny_bundles["gan"])
    cases = [
        (_env(endpoint, tmp_path, token=None), ["--repo", "alice/x"], "no Hugging Face token"),
        (_env(endpoint, tmp_path, token="hf_wrong"), ["--repo", "alice/x"], "HTTP 401"),
        (_env(endpoint, tmp_path), ["--repo", "bob/x"], "HTTP 403"),
        (_env("http://127.0.0.1:9", tmp_path), ["--repo", "alice/x"], "cannot reach the Hub"),
    ]
    for env, args, message in cases:
        out = _run(["push", "--bundle", bundle, *args], env)
        assert out.returncode == 2 and message in out.stderr, (args, out.stderr)
        assert len(out.stderr.strip().splitlines()) == 1 and "Traceback" not in out.stderr
    assert ("model", "bob/x") not in state.repos


def test_dry_run_contacts_nothing(hub, tiny_bundles, tmp_path):
    state, endpoint = hub
    asked = len(state.requests)
    out = _run(
        ["push", "--bundle", str(tiny_bundles["gan"]), "--repo", "alice/dry", "--dry-run"], _env(endpoint, tmp_path)
    )
    assert out.returncode == 0 and "model.onnx" in out.stdout and "nothing was contacted" in out.stdout
    out = _run(
        ["push-space", "--space", "alice/s", "--model-repo", "alice/dry@" + "a" * 40, "--dry-run"],
        _env(endpoint, tmp_path),
    )
    assert out.returncode == 0 and "serving/rendering/render.py" in out.stdout
    assert len(state.requests) == asked


def test_a_broken_bundle_is_never_pushed(hub, tiny_bundles, tmp_path):
    state, endpoint = hub
    broken = tmp_path / "broken"
    shutil.copytree(tiny_bundles["gan"], broken)
    data = bytearray((broken / "model.onnx").read_bytes())
    data[-5] ^= 0xFF
    (broken / "model.onnx").write_bytes(bytes(data))
    out = _run(["push", "--bundle", str(broken), "--repo", "alice/broken"], _env(endpoint, tmp_path))
    assert out.returncode == 2 and "sha256" in out.stderr
    assert ("model", "alice/broken") not in state.repos


def test_local_file_errors_are_not_reported_as_network_errors():
    from serving.errors import HubError
    from serving.publish import hub

    def local(*args, **kwargs):
        raise PermissionError(13, "Permission denied", "/data/bundle/model.onnx")

    def network(*args, **kwargs):
        raise ConnectionRefusedError(111, "Connection refused")

    with pytest.raises(HubError, match="local file error /data/bundle/model.onnx: Permission denied") as caught:
        hub._call("uploading to alice/x", local)
    assert "cannot reach" not in str(caught.value)
    with pytest.raises(HubError, match="cannot reach the Hub"):
        hub._call("uploading to alice/x", network)


@pytest.mark.slow
def test_force_download_repairs_a_cache_pointer_sent_elsewhere(hub, tiny_bundles, tmp_path):
    state, endpoint = hub
    home = tmp_path / "home"
    out = _run(["push", "--bundle", str(tiny_bundles["cgan"]), "--repo", "alice/pointer"], _env(endpoint, home))
    assert out.returncode == 0, out.stderr
    sha = out.stdout.split("commit ")[1].split()[0]
    assert _pull(endpoint, home, "alice/pointer", sha).returncode == 0
    pointers = [p for p in (home / "hub").rglob("model.onnx") if p.is_symlink()]
    assert pointers, "the pull left a cache pointer"
    for pointer in pointers:
        pointer.unlink()
        pointer.symlink_to("/dev/zero")  # someone sends the cached model elsewhere
    args = [
        "render",
        "--bundle",
        f"alice/pointer@{sha}",
        "--seeds",
        "1,2",
        "--frames",
        "2",
        "--size",
        "32",
        "--out",
        str(tmp_path / "x.gif"),
    ]
    refused = _run(args, _env(endpoint, home))
    assert refused.returncode == 2 and "--force-download" in refused.stderr and "Traceback" not in refused.stderr
    fixed = _run([*args, "--force-download"], _env(endpoint, home))
    assert fixed.returncode == 0, fixed.stderr
    assert all(p.resolve().is_file() and "blobs" in str(p.resolve()) for p in pointers)
