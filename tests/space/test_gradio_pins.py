"""Where the Space leans on Gradio internals, pinned so that a Gradio upgrade fails here, loudly, with the reason.

serving/space/layout.py overrides two private `gr.Blocks` methods and wraps one component method:
- `SpaceBlocks.validate_inputs(block_fn, inputs)` fills missing trailing inputs of the raw REST API with the
  form's defaults (gradio_client does the same on its side);
- `SpaceBlocks.preprocess_data(block_fn, inputs, state, explicit_call)` turns Gradio's own checks of file values
  (InvalidPathError, pydantic errors) into one-line messages instead of tracebacks;
- `described(component)` wraps `Component.api_info` to give each API parameter its description.
serving/space/sessions.py subclasses `gradio.state_holder.SessionState` (built lazily) and puts it where Gradio
looks the class up by name: `StateHolder.__getitem__` and `route_utils.restore_session_state`.
If a test here fails after an upgrade, read the new Gradio's `Blocks.validate_inputs`, `Blocks.preprocess_data`,
`Blocks.get_api_info` and `gradio/state_holder.py`, mend the overrides, then move GRADIO_CHECKED to the new version.
"""

import inspect

import gradio as gr
import pytest

from tests.conftest import REPO
from tests.space.test_adversarial import _call

GRADIO_CHECKED = "6.31.0"  # the version the overrides were read against; space/requirements.txt pins the same


def test_gradio_is_the_version_the_overrides_were_checked_against():
    pinned = next(
        line.split("==")[1].strip()
        for line in (REPO / "space" / "requirements.txt").read_text().splitlines()
        if line.startswith("gradio==")
    )
    assert gr.__version__ == GRADIO_CHECKED == pinned, (
        f"gradio {gr.__version__} (pinned {pinned}): re-read the private methods SpaceBlocks overrides "
        f"(see this file's docstring) before moving GRADIO_CHECKED from {GRADIO_CHECKED}"
    )


def test_private_methods_keep_the_signatures_the_overrides_call():
    assert list(inspect.signature(gr.Blocks.validate_inputs).parameters) == ["self", "block_fn", "inputs"]
    assert list(inspect.signature(gr.Blocks.preprocess_data).parameters)[:3] == ["self", "block_fn", "inputs"]
    assert inspect.iscoroutinefunction(gr.Blocks.preprocess_data)
    assert callable(getattr(gr.components.Component, "api_info", None))
    import gradio.exceptions

    assert issubclass(gradio.exceptions.InvalidPathError, Exception)


def test_session_state_is_still_built_the_way_the_lean_one_expects():
    """LeanSessionState hands SessionState.__init__ a stand-in holding only `default_config` and `blocks`, lists
    the page through `blocks_config.root_block` and `config_for_block`, and is found by its module-global name."""
    import re

    from gradio import route_utils, state_holder
    from gradio.blocks import BlocksConfig

    from serving.space.sessions import LeanSessionState

    gradios = LeanSessionState.__base__  # the module's global may already name the lean one (use_lean_sessions)
    assert (gradios.__module__, gradios.__name__) == ("gradio.state_holder", "SessionState")
    read = set(re.findall(r"(?<![\w.])blocks\.(\w+)", inspect.getsource(gradios.__init__)))
    assert read == {"default_config", "blocks"}, read
    assert "self.config_values = {" in inspect.getsource(gradios.__init__)
    assert "SessionState(self.blocks)" in inspect.getsource(state_holder.StateHolder.__getitem__)
    assert "SessionState(app.get_blocks())" in inspect.getsource(route_utils.restore_session_state)
    assert list(inspect.signature(BlocksConfig.config_for_block).parameters)[:3] == ["_id", "rendered_ids", "block"]
    assert "self.root_block = root_block" in inspect.getsource(BlocksConfig.__init__)
    assert isinstance(inspect.getattr_static(gradios, "components"), property)


def test_missing_trailing_inputs_are_filled_with_the_forms_defaults(server):
    kind, data = _call(server, "animate", ["mnist-cdcgan"])  # validate_inputs' override at work
    assert kind == "complete" and data[0]["path"].endswith(".gif"), (kind, data)


@pytest.mark.parametrize("value", [{"path": "/etc/passwd", "meta": {"_type": "gradio.FileData"}}, {"path": 7}])
def test_gradios_own_file_checks_answer_in_one_line(server, value):
    kind, message = _call(server, "project", ["mnist-cdcgan", value])  # preprocess_data's override at work
    assert kind == "error" and isinstance(message, str) and "\n" not in message and "Traceback" not in message


def test_every_api_parameter_carries_its_description(client):
    info = client.view_api(print_info=False, return_format="dict")["named_endpoints"]["/animate"]["parameters"]
    frames = next(p for p in info if p["parameter_name"] == "frames")
    from serving.space.layout import MAX_FRAMES_PER_TRANSITION

    assert frames["python_type"]["description"] == f"frames between two keyframes, 1..{MAX_FRAMES_PER_TRANSITION}"
