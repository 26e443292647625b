"""What every request pays before its work: Gradio's per-session state (serving/space/sessions.py) and numpy's
BLAS threads (serving.resize.one_blas_thread), in the Space as built."""

import socket

import pytest


@pytest.fixture(scope="module")
def demo(app):
    from serving.space import build_demo

    return build_demo(app.models, app=app)


def test_a_lean_session_lists_every_block_as_gradios_own_does(demo):
    from gradio.state_holder import SessionState

    from serving.space.sessions import LeanSessionState

    eager, lean = SessionState(demo), LeanSessionState(demo)
    assert not lean.config_values  # nothing built up front
    assert list(lean.components) == list(eager.components)
    assert len(list(eager.components)) > 100  # the whole page, not an empty list twice
    # An update a handler sends back (Gradio's postprocess) lands in both the same way.
    key = next(k for k, c in eager.config_values.items() if c.get("props", {}).get("value") is not None)
    for state in (eager, lean):
        state._update_value_in_config(key, "changed")
    assert list(lean.components) == list(eager.components)
    assert len(lean.config_values) == len(eager.config_values)


def test_api_calls_keep_no_copy_of_the_page(demo):
    """Every REST call is a Gradio session of its own, kept (up to 10,000): each holds only what it changed."""
    import httpx

    from serving.space.layout import launch_options
    from serving.space.sessions import LeanSessionState

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    demo.launch(
        server_name="127.0.0.1",
        server_port=port,
        prevent_thread_lock=True,
        quiet=True,
        **launch_options(requests_per_min=10**6),
    )
    try:
        url = f"http://127.0.0.1:{port}/"
        before = set(demo.state_holder.session_data)
        with httpx.Client(timeout=120) as http:
            for seed in (31, 32, 33):
                event = http.post(
                    url + "gradio_api/call/animate", json={"data": ["mnist-cdcgan", f"{seed},{seed + 1}"]}
                )
                stream = http.get(url + f"gradio_api/call/animate/{event.json()['event_id']}").text
                assert "event: complete" in stream, stream[:300]
        sessions = [demo.state_holder.session_data[k] for k in set(demo.state_holder.session_data) - before]
    finally:
        demo.close()
    assert len(sessions) == 3
    animate = next(fn for fn in demo.fns.values() if fn.api_name == "animate")
    touched = {c._id for c in (*animate.inputs, *animate.outputs)}  # what Gradio updates for the call
    assert len(demo.blocks) > 3 * len(touched)
    for session in sessions:
        assert isinstance(session, LeanSessionState)
        assert set(session.config_values) <= touched


def test_the_space_renders_with_one_blas_thread_on_every_thread():
    """A Space process, built on its main thread, has numpy's BLAS on one thread as its worker threads see it (a
    render's own limit, set from a worker thread, would not take: serving.resize.blas_threads). In a fresh
    process: which thread set OpenBLAS's count first decides whose settings take."""
    import json
    import subprocess
    import sys

    from tests.conftest import REPO

    program = """
import concurrent.futures, json, sys
from threadpoolctl import ThreadpoolController
from serving.space import SpaceApp, load_models
SpaceApp(load_models(sys.argv[1]))
seen = lambda: [lib["num_threads"] for lib in ThreadpoolController().info() if lib["user_api"] == "blas"]
with concurrent.futures.ThreadPoolExecutor(1) as pool:
    print(json.dumps({"worker": pool.submit(seen).result(), "main": seen()}))
"""
    out = subprocess.run(
        [sys.executable, "-c", program, str(REPO / "exported" / "mnist-cdcgan")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen["worker"] and set(seen["worker"]) == {1} and set(seen["main"]) == {1}
