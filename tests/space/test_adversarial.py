"""An attacker on loopback: malformed requests of every kind at the running Space, over its raw REST API.

Every one must be answered with one line of error (never a traceback, never {"error": null}), and afterwards the
server still renders a valid request, with its memory grown by less than 300 MB.
"""

import json
import math
import urllib.error
import urllib.request
from pathlib import Path

import pytest

NUMBERS_BAD = [
    None,
    "",
    "abc",
    math.nan,
    math.inf,
    -math.inf,
    1e300,
    -(10**30),
    10**30,
    10**400,
    [],
    {},
    [1, 2],
    {"a": 1},
]
TEXT_BAD = [5, 2.5, True, [], {"x": 1}, ["1,2"], "x" * 30_000, "\ud800", "1-99999999999", "0-1000000"]
CHOICE_BAD = [None, 7, "", "../../etc/passwd", "/etc/passwd", "NaN", ["gif"], "\x00", "x" * 5000]
MODEL_BAD = CHOICE_BAD[1:2] + CHOICE_BAD[3:]  # an empty model (None or "") means the default one
ANIMATE = [
    "model",
    "seeds",
    "classes",
    "path",
    "frames",
    "fps",
    "loop",
    "easing",
    "truncation",
    "grid",
    "size",
    "format",
    "recipe",
]
VALID = ["mnist-cdcgan", "1,2", "", "lerp", 2, 12, True, "linear", 1.0, "1x1", 64, "gif", ""]
BAD_FIELDS = {
    "model": MODEL_BAD,
    "seeds": TEXT_BAD,
    "classes": [5, [], {}, "banana", "99", "\ud800", "x" * 3000],
    "path": CHOICE_BAD,
    "frames": NUMBERS_BAD + [0, 241, 2.5],
    "fps": NUMBERS_BAD + [0, 61],
    "loop": [None, "maybe", 2, [], {}],
    "easing": CHOICE_BAD,
    "truncation": NUMBERS_BAD + [-0.1, 2.5],
    "grid": [None, 5, "9x9", "0x1", "axb", "1x1x1", [2, 2], "x" * 100],
    "size": NUMBERS_BAD + [8, 5000],
    "format": CHOICE_BAD,
    "recipe": [
        5,
        "{not json",
        "[]",
        '{"frames": "24"}',
        '{"seeds": 5}',
        '{"grid": [2]}',
        '{"truncation": "0.5"}',
        '{"evil": 1}',
        '{"seeds": [' + "9" * 400 + "]}",
        '{"name": 7}',
        '{"lissajous": [1]}',
        "[" * 5_000,
        "[" * 50_000,
        '{"seeds": [' + ",".join(["1"] * 65) + "]}",
    ],
}
SAMPLE_BAD = {
    "model": MODEL_BAD[:4],
    "seeds": ["0-999", "abc", 5, None, "\ud800"],
    "classes": ["banana", 5],
    "truncation": [math.nan, "x", 9],
}
EXPLORE_BAD = {
    "model": MODEL_BAD[:3],
    "seed": [-1, 2**33, "x", math.inf, None, 10**400],
    "d1": [math.nan, 99, "x", -(10**400)],
    "class_a": ["banana", 5],
    "mix": [2, math.nan],
    "size": [1, 10**9],
}
SAMPLE = ["model", "seeds", "classes", "truncation"]
EXPLORE = ["model", "seed", "d1", "d2", "d3", "class_a", "class_b", "mix", "truncation", "size"]


def _rss_mb() -> float:
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith("VmRSS")) / 1024


def _call(server: str, name: str, data: list) -> tuple[str, object]:
    """POST the raw API, then read its event stream: ("complete", data) or ("error", message)."""
    body = json.dumps({"data": data}).encode()  # NaN and Infinity go as the bare tokens a hostile client sends
    req = urllib.request.Request(
        f"{server}gradio_api/call/{name}", data=body, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            event_id = json.loads(r.read())["event_id"]
    except urllib.error.HTTPError as exc:
        return "http", f"{exc.code} {exc.read()[:200]!r}"
    with urllib.request.urlopen(f"{server}gradio_api/call/{name}/{event_id}", timeout=120) as r:
        lines = r.read().decode().splitlines()
    kind = next(line.split(": ", 1)[1] for line in lines if line.startswith("event: "))
    payload = json.loads(next(line.split(": ", 1)[1] for line in lines if line.startswith("data: ")))
    return kind, (payload.get("error") if kind == "error" and isinstance(payload, dict) else payload)


def _requests():
    for field, values in BAD_FIELDS.items():
        for value in values:
            yield "animate", [value if f == field else v for f, v in zip(ANIMATE, VALID)]
    sample_valid = ["mnist-cdcgan", "0-3", "", 1.0]
    for field, values in SAMPLE_BAD.items():
        for value in values:
            yield "sample", [value if f == field else v for f, v in zip(SAMPLE, sample_valid)]
    explore_valid = ["mnist-cdcgan", 7, 0.0, 0.0, 0.0, "", "", 0.0, 1.0, 64]
    for field, values in EXPLORE_BAD.items():
        for value in values:
            yield "explore", [value if f == field else v for f, v in zip(EXPLORE, explore_valid)]
    planted = {"path": "/etc/passwd", "meta": {"_type": "gradio.FileData"}}  # a file value naming a server path
    yield "animate", VALID + [planted]  # as the song
    yield "project", ["mnist-cdcgan", planted]  # as the picture
    yield "animate", [None] * 20  # too many, all null
    yield "animate", "not a list"


@pytest.mark.slow
def test_malformed_requests_get_one_line_each_and_the_server_goes_on(server, capfd):
    capfd.readouterr()
    before = _rss_mb()
    requests = list(_requests())
    assert len(requests) >= 100
    failures = []
    for name, data in requests:
        kind, message = _call(server, name, data)
        one_line = isinstance(message, str) and message.strip() and "\n" not in message and "Traceback" not in message
        if kind == "complete" or not (kind == "http" or one_line):
            failures.append((name, str(data)[:120], kind, str(message)[:200]))
    assert not failures, f"{len(failures)} of {len(requests)} not refused in one line: {failures[:5]}"
    # Each was refused by our checks (gr.Error, no traceback logged), not by an exception nobody planned for.
    log = capfd.readouterr()
    assert "Traceback" not in log.err + log.out, (log.err + log.out)[-3000:]
    kind, data = _call(server, "animate", VALID)
    assert kind == "complete" and data[0]["path"].endswith(".gif")
    assert _rss_mb() - before < 300


def _files_under(folder) -> int:
    return sum(1 for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else 0


@pytest.mark.parametrize(
    "name, size, head",
    [
        ("evil.html", 100, b""),
        ("evil.svg", 100, b""),
        ("../../escape.txt", 10, b""),
        ("small.bin", 1000, b""),
        ("big.bin", 11 * 2**20, b""),
        ("big.png", 2 * 2**20, b"\x89PNG\r\n\x1a\n"),
        ("big.wav", 11 * 2**20, b"RIFF\0\0\0\0WAVE"),
    ],
)
def test_uploads_that_are_not_small_pictures_are_one_line_and_nothing_is_kept(server, name, size, head):
    from pathlib import Path

    from gradio.utils import get_upload_folder

    folder = Path(get_upload_folder())
    before = _files_under(folder)
    boundary = "ganimateboundary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{name}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + head
        + b"x" * size
        + f"\r\n--{boundary}--\r\n".encode()
    )
    for route in ("gradio_api/upload", "gradio_api/upload/"):
        req = urllib.request.Request(
            f"{server}{route}", data=body, headers={"Content-Type": f"multipart/form-data; boundary={boundary}"}
        )
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(req, timeout=60)
        message = refused.value.read().decode()
        assert refused.value.code == (413 if size > 2**20 else 415), (route, refused.value.code)
        assert message.count("\n") == 1 and (
            "only pictures" in message or "at most 1 MB, a song at most 10 MB" in message
        )
    assert _files_under(folder) == before


def test_too_few_values_on_the_raw_api_take_the_form_defaults(server):
    kind, data = _call(server, "animate", ["mnist-cdcgan"])
    assert kind == "complete" and data[0]["path"].endswith(".gif")
    kind, message = _call(server, "explore", ["mnist-cdcgan", 7, "far"])
    assert kind == "error" and message == "d1 must be a number in -5..5, got 'far'"


@pytest.mark.slow
def test_private_ui_events_called_directly_log_no_traceback(server, capfd):
    """UI-only events are not in the API, but the page calls them, so a client can too: hostile values must get
    a clean answer (or a one-line error), never an unplanned exception."""
    config = json.loads(urllib.request.urlopen(f"{server}config", timeout=30).read())
    private = [d for d in config["dependencies"] if d.get("api_visibility") == "private" and d.get("backend_fn")]
    assert private
    capfd.readouterr()
    planted = {"path": "/etc/passwd", "meta": {"_type": "gradio.FileData"}}  # Gradio itself refuses to move it
    hostile = [None, "../../etc/passwd", {"path": "/etc/passwd"}, planted, 10**400, ["x"], {"index": "a"}]
    for dep in private:
        for value in hostile:
            body = json.dumps(
                {"data": [value] * len(dep["inputs"]), "fn_index": dep["id"], "session_hash": "adversary"}
            ).encode()
            req = urllib.request.Request(
                f"{server}gradio_api/run/predict", data=body, headers={"Content-Type": "application/json"}
            )
            try:
                urllib.request.urlopen(req, timeout=60).read()
            except urllib.error.HTTPError as exc:
                message = json.loads(exc.read() or b"{}").get("error")
                assert message is None or "\n" not in str(message), message
    log = capfd.readouterr()
    assert "Traceback" not in log.err + log.out, (log.err + log.out)[-3000:]
    assert "/etc/passwd" not in json.dumps(config)
    assert _call(server, "animate", VALID)[0] == "complete"


def test_the_real_space_refuses_the_api_beside_the_queue_and_writes_no_page_snapshot(server):
    """/api/<name> would run a queued event past the queue's limits; /deep_link would write a file per session."""
    from gradio.utils import get_upload_folder

    snapshots = Path(get_upload_folder()) / "deep_links"
    before = set(snapshots.iterdir()) if snapshots.is_dir() else set()
    request = urllib.request.Request(
        server + "gradio_api/api/animate", data=b'{"data": ["mnist-cdcgan", "1,2"]}', method="POST"
    )
    request.add_header("Content-Type", "application/json")
    for url, req in (
        (server + "gradio_api/api/animate", request),
        (server + "gradio_api/deep_link?session_hash=x", None),
    ):
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(req or url, timeout=60)
        assert refused.value.code == 404, url
    assert (set(snapshots.iterdir()) if snapshots.is_dir() else set()) == before
