"""What every request pays before its work: Gradio's per-session state (serving/space/sessions.py) and numpy's
BLAS threads (serving.rendering.resize.one_blas_thread), in the Space as built."""

import pytest

from tests.space.conftest import served


@pytest.fixture(scope="module")
def demo(app):
    from serving.space import build_demo

    return build_demo(app.models, app=app)


def test_a_lean_session_lists_every_block_as_gradios_own_does(demo):
    import gradio as gr

    from serving.space.sessions import LeanSessionState

    gradios = LeanSessionState.__base__  # build_demo made Gradio build lean ones: its own class, by name
    eager, lean = gradios(demo), LeanSessionState(demo)
    assert type(eager) is not LeanSessionState and len(eager.config_values) > 100
    assert not lean.config_values  # nothing built up front
    assert list(lean.components) == list(eager.components)
    assert not lean.config_values  # a deep link's list is not kept
    # What a handler's answer does to a session (Gradio's postprocess): a new value, and a changed component.
    valued = [k for k, c in eager.config_values.items() if c.get("props", {}).get("value") is not None]
    replaced = next(k for k in valued if isinstance(demo.blocks[k], gr.Textbox))
    for state in (eager, lean):
        state._update_value_in_config(valued[0], "changed")
        state[replaced] = gr.Textbox(label="replaced", value="new")
        state._update_config(replaced)
    assert list(lean.components) == list(eager.components)
    assert set(lean.config_values) == {valued[0], replaced}


def test_api_calls_keep_no_copy_of_the_page(demo):
    """Every REST call is a Gradio session of its own, kept (up to 10,000): each keeps the configs of the blocks the
    call touched, not the whole page's."""
    import httpx

    from serving.space.sessions import LeanSessionState

    with served(demo) as url:
        before = set(demo.state_holder.session_data)
        with httpx.Client(timeout=120) as http:
            for seed in (31, 32, 33):
                event = http.post(
                    url + "gradio_api/call/animate", json={"data": ["mnist-cdcgan", f"{seed},{seed + 1}"]}
                )
                stream = http.get(url + f"gradio_api/call/animate/{event.json()['event_id']}").text
                assert "event: complete" in stream, stream[:300]
        sessions = [demo.state_holder.session_data[k] for k in set(demo.state_holder.session_data) - before]
    assert len(sessions) == 3
    animate = next(fn for fn in demo.fns.values() if fn.api_name == "animate")
    touched = {c._id for c in (*animate.inputs, *animate.outputs)}  # what Gradio updates for the call
    assert len(demo.blocks) > 3 * len(touched)
    for session in sessions:
        assert isinstance(session, LeanSessionState)
        assert set(session.config_values) <= touched


def test_the_space_renders_with_one_blas_thread_on_every_thread():
    """A Space process started as main() starts it has numpy's BLAS on one thread, as its worker threads see it (a
    render's own limit, set from a worker thread, would not take: serving.rendering.resize.blas_threads). In a fresh process:
    which thread set OpenBLAS's count first decides whose settings take."""
    import json
    import subprocess
    import sys

    from tests.conftest import REPO

    program = """
import concurrent.futures, json, sys
from threadpoolctl import ThreadpoolController
from serving.space import start
seen = lambda: [lib["num_threads"] for lib in ThreadpoolController().info() if lib["user_api"] == "blas"]
before = seen()
start([sys.argv[1]])  # as main() does: its opening render runs on a loading thread
with concurrent.futures.ThreadPoolExecutor(1) as pool:
    print(json.dumps({"before": before, "worker": pool.submit(seen).result(), "main": seen()}))
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
    if set(seen["before"]) == {1}:
        pytest.skip("numpy's BLAS is on one thread here from the start (one core, or OPENBLAS_NUM_THREADS=1)")
    assert seen["worker"] and set(seen["worker"]) == {1} and set(seen["main"]) == {1}, seen
