"""The Space's disk: one copy of each result, inside Gradio's cache, under a budget held on every write."""

import hashlib
import time
from pathlib import Path

import pytest

from serving.space import disk_budget


def test_a_full_budget_holds_on_every_write(models, tmp_path):
    from gradio.utils import get_upload_folder

    from serving.space import SpaceApp

    budget = 60_000
    app = SpaceApp(models, results_bytes=budget)
    assert Path(get_upload_folder()).resolve() in app.out_dir.resolve().parents  # served where it lies
    newest = None
    for seed in range(12):  # distinct renders, each well under the budget, together far over it
        newest, _ = app.animate(
            "mnist-cdcgan", f"{seed},{seed + 100}", "", "lerp", 6, 12, True, "linear", 1.0, "1x1", 96, "gif", ""
        )
        on_disk = sum(p.stat().st_size for p in app.out_dir.iterdir() if p.is_file())
        assert on_disk <= max(budget, Path(newest).stat().st_size), (seed, on_disk)
        assert Path(newest).is_file()  # the answer itself is never the one removed
    assert app.disk_bytes() <= budget and len(list(app.out_dir.iterdir())) < 12


def test_a_result_is_stored_once_when_served(server):
    from gradio.utils import get_upload_folder

    from tests.space.test_adversarial import _call

    started = time.time() - 1  # files an earlier run left in the shared upload folder are not this server's
    kind, data = _call(
        server, "animate", ["mnist-cdcgan", "41,42", "", "lerp", 4, 12, True, "linear", 1.0, "1x1", 64, "gif", ""]
    )
    assert kind == "complete"
    served = Path(data[0]["path"])  # the raw API: no client download beside it
    digest = hashlib.sha256(served.read_bytes()).hexdigest()
    copies = [
        p
        for p in Path(get_upload_folder()).rglob("*.gif")
        if p.is_file() and p.stat().st_mtime >= started and hashlib.sha256(p.read_bytes()).hexdigest() == digest
    ]
    assert copies == [served], copies  # Gradio served our file from where it was written


@pytest.mark.parametrize(
    "text, want", [("", (512 * 2**20, 512)), ("256", (128 * 2**20, 128)), ("4096", (3584 * 2**20, 512))]
)
def test_the_disk_budget_splits_between_results_and_gallery(text, want):
    assert disk_budget(text) == want


def test_a_bad_disk_budget_is_one_line():
    from serving.errors import InputError

    with pytest.raises(InputError, match="GANIMATE_DISK_MB"):
        disk_budget("lots")
