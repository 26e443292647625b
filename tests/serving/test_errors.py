"""One error family: a person's mistake is one line and exit 2; a bug in the code stays a bug (a traceback)."""

import gradio as gr
import pytest

from serving import cli
from serving.commands import render as render_command
from serving.errors import BudgetError, BundleError, GanimateError, HubError, InputError, TrainingError


def test_every_error_is_a_ganimate_error_and_none_is_a_value_error():
    for cls in (InputError, BudgetError, BundleError, HubError, TrainingError):
        assert issubclass(cls, GanimateError) and not issubclass(cls, ValueError)


def test_a_user_mistake_is_one_line_and_exit_2(tiny_bundles, capsys):
    assert cli.main(["render", "--bundle", str(tiny_bundles["gan"]), "--seeds", "5-2", "--out", "x.gif"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "runs backwards" in err and "\n" not in err


@pytest.mark.parametrize("bug", [ZeroDivisionError("division by zero"), ValueError("a real bug"), KeyError("k")])
def test_an_injected_bug_is_not_turned_into_exit_2(tiny_bundles, tmp_path, monkeypatch, bug):
    def broken(*args, **kwargs):
        raise bug

    monkeypatch.setattr(render_command, "render", broken)
    with pytest.raises(type(bug)):
        cli.main(["render", "--bundle", str(tiny_bundles["gan"]), "--seeds", "1,2", "--out", str(tmp_path / "x.gif")])
    assert not (tmp_path / "x.gif").exists()


def test_the_space_shows_user_errors_and_lets_bugs_through(tiny_bundles, tmp_path, monkeypatch):
    from serving.bundle.generator import Generator
    from serving.space import SpaceApp, handlers

    app = SpaceApp({"tiny-gan": Generator.from_pretrained(tiny_bundles["gan"])}, out_dir=tmp_path)
    with pytest.raises(gr.Error, match="frames must be"):
        app.animate(frames="many")

    def broken(*args, **kwargs):
        raise ValueError("a real bug")

    monkeypatch.setattr(handlers, "render", broken)
    with pytest.raises(ValueError, match="a real bug"):
        app.animate(seeds="1,2", frames=2, size=64)


def test_the_cli_outside_its_environment_says_what_to_install():
    import subprocess
    import sys

    from tests.conftest import REPO

    code = (
        "import sys, runpy; sys.modules['onnx'] = None; sys.argv = ['serving', '--help']; "
        "runpy.run_module('serving', run_name='__main__')"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "needs onnx" in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
