"""The Space's disk: one copy of each result, inside Gradio's cache, under a budget held on every write."""

import hashlib
import json
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
    "text, want",
    [
        ("", (384 * 2**20, 512, 128 * 2**20)),
        ("256", (96 * 2**20, 128, 32 * 2**20)),
        ("4096", (3072 * 2**20, 512, 512 * 2**20)),
    ],
)
def test_the_disk_budget_splits_between_results_and_gallery(text, want):
    assert disk_budget(text) == want


def test_a_bad_disk_budget_is_one_line():
    from serving.errors import InputError

    with pytest.raises(InputError, match="GANIMATE_DISK_MB"):
        disk_budget("lots")


def test_the_janitor_holds_uploads_and_copies_to_their_budget_oldest_first(tmp_path):
    import os
    import time

    from serving.space.disk import RESULTS_PREFIX, Janitor

    results = tmp_path / f"{RESULTS_PREFIX}abc"
    results.mkdir()
    (results / "ours.gif").write_bytes(b"r" * 5000)  # results: held by SpaceApp's own budget, never swept here
    now = time.time()
    for i in range(6):  # six 1 KB uploads, oldest first
        path = tmp_path / f"up{i}" / "song.wav"
        path.parent.mkdir()
        path.write_bytes(b"u" * 1000)
        os.utime(path, (now - 60 + i, now - 60 + i))
    janitor = Janitor(tmp_path, budget_bytes=3500)
    assert janitor.used() == 6000
    assert janitor.sweep() == 3000  # the three oldest went
    assert sorted(p.parent.name for p in tmp_path.glob("up*/song.wav")) == ["up3", "up4", "up5"]
    assert (results / "ours.gif").is_file()
    assert janitor.fits(500) and not janitor.fits(4000)  # room is made oldest first; never past the budget
    old = tmp_path / "up5" / "song.wav"
    os.utime(old, (now - 10_000, now - 10_000))
    Janitor(tmp_path, budget_bytes=10**9, max_age_s=900).sweep()
    assert not old.exists()  # an upload nobody used is gone once it is old, whatever the room
    fresh = tmp_path / "in-flight.tmp"
    fresh.write_bytes(b"f" * 3000)  # an upload Gradio is storing right now
    assert not Janitor(tmp_path, budget_bytes=100).fits(50) and fresh.exists()  # never taken to make room


def test_an_upload_past_the_uploads_budget_is_refused_in_one_line(tmp_path):
    import asyncio
    import os
    import time

    from serving.space.disk import Janitor
    from serving.space.gate import UploadGate
    from tests.space.test_gate import _multipart, _png

    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "big.bin").write_bytes(b"x" * 4000)  # an upload nobody used, two minutes ago
    os.utime(tmp_path / "old" / "big.bin", (time.time() - 120, time.time() - 120))
    body, ctype = _multipart([("me.png", _png())])

    def upload(budget: int) -> tuple[int, list]:
        reached, sent = [], []

        async def app(scope, receive, send):
            reached.append(await receive())
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"stored"})

        async def receive():
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message):
            sent.append(message)

        headers = [(b"content-type", ctype.encode()), (b"content-length", str(len(body)).encode())]
        scope = {"type": "http", "method": "POST", "path": "/gradio_api/upload", "client": ("10.0.0.1", 1)}
        asyncio.run(
            UploadGate(app, janitor=Janitor(tmp_path, budget_bytes=budget))(
                {**scope, "headers": headers}, receive, send
            )
        )
        return sent[0]["status"], [
            b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body"),
            reached,
        ]

    status, (said, reached) = upload(len(body) - 1)  # could never fit: refused, and nobody's file is swept for it
    assert status == 507 and "room for uploads is full" in json.loads(said)["error"] and not reached
    assert (tmp_path / "old" / "big.bin").exists()
    status, (_, reached) = upload(len(body) + 100)  # fits once the oldest upload is swept
    assert status == 200 and reached and not (tmp_path / "old" / "big.bin").exists()


def test_the_gallery_tab_shows_the_gallerys_own_files(models, tmp_path):
    from serving.galleries.gallery import Gallery
    from serving.space import SpaceApp

    app = SpaceApp(models, Gallery(tmp_path / "g.db", tmp_path / "files"), out_dir=tmp_path / "out")
    app.animate(seeds="1,2", frames=2, size=32)
    items, _ = app.gallery_items()
    assert items and all(Path(path).resolve().parent == (tmp_path / "files").resolve() for path, _ in items)
    assert not list((tmp_path / "out").glob("gallery-*"))  # no copy among the results


def test_two_visitors_uploading_the_same_picture_each_get_to_use_it(server):
    """Gradio stores an upload under its content's hash: the first visitor's projection must not remove the
    second visitor's (identical) upload before the second has used it; the last one out removes it."""
    import httpx

    from bench.space_load import digit_photo

    picture = digit_photo()  # a digit as a person would photograph it
    stored = []
    for address in ("198.51.100.71", "198.51.100.72"):
        answer = httpx.post(
            server + "gradio_api/upload",
            files=[("files", ("same.png", picture))],
            headers={"X-Forwarded-For": address},
            timeout=30,
        )
        assert answer.status_code == 200, answer.text
        stored.append(answer.json()[0])
    assert stored[0] == stored[1]  # one file for both
    from tests.space.test_adversarial import _call

    value = {"path": stored[0], "meta": {"_type": "gradio.FileData"}}
    first = _call(server, "project", ["mnist-cdcgan", value, "5,6,7"])
    assert first[0] == "complete" and Path(stored[0]).exists()  # the other visitor's upload is still there
    second = _call(server, "project", ["mnist-cdcgan", value, "5,6,7"])
    assert second[0] == "complete" and not Path(stored[0]).exists()  # used by both: removed
