"""The Space through Gradio's public means only: endpoint descriptions, named calls with defaults, file values.

Everything here is asked of Gradio's public surface, so a Gradio upgrade is a version bump: these tests run on two
Gradio releases (make test-gradio-alt).
"""

import json
import urllib.error
import urllib.request

import pytest

from serving.rendering.recipe import MAX_FRAMES_PER_TRANSITION
from tests.space.test_adversarial import _call


def test_every_api_parameter_is_described_in_its_endpoint(client):
    endpoints = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    for name in ("/animate", "/sample", "/explore", "/compare", "/project"):
        description = endpoints[name]["description"]
        for parameter in endpoints[name]["parameters"]:
            line = next(
                (row for row in description.splitlines() if row.startswith(f"- {parameter['parameter_name']}: ")), None
            )
            assert line and len(line) > len(parameter["parameter_name"]) + 6, (name, parameter["parameter_name"])
    assert f"- frames: frames between two keyframes, 1..{MAX_FRAMES_PER_TRANSITION}" in (
        endpoints["/animate"]["description"].splitlines()
    )


def test_every_return_value_is_described_under_a_short_name(client):
    endpoints = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    for name in ("/animate", "/sample", "/explore", "/compare", "/project"):
        lines = endpoints[name]["description"].split("Returns:", 1)[1].splitlines()
        for value in endpoints[name]["returns"]:
            assert len(value["label"]) <= 25, (name, value["label"])
            line = next((row for row in lines if row.startswith(f"- {value['label']}: ")), None)
            assert line and len(line) > len(value["label"]) + 20, (name, value["label"])


def test_grid_is_typed_as_it_is_validated_and_sliders_name_no_one_model(client):
    endpoints = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    grid = next(p for p in endpoints["/animate"]["parameters"] if p["parameter_name"] == "grid")
    choices = grid["type"]["enum"]
    assert len(choices) == 64 and "8x8" in choices and "2x3" in choices and "9x9" not in choices
    explore = endpoints["/explore"]
    sliders = [p for p in explore["parameters"] if p["parameter_name"] in ("d1", "d2", "d3")]
    assert [p["label"] for p in sliders] == ["Direction 1", "Direction 2", "Direction 3"]
    d1 = next(row for row in explore["description"].splitlines() if row.startswith("- d1: "))
    assert "mnist-cdcgan: stroke thickness" in d1 and "mathart-params: a parameter of class A's family" in d1


def _call_named(server: str, name: str, fields: dict) -> tuple[str, object]:
    """Gradio's named REST route (/call/v2/<name>): parameters by name, the rest take their defaults."""
    req = urllib.request.Request(
        f"{server}gradio_api/call/v2/{name}",
        data=json.dumps(fields).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=60) as r:
        event_id = json.loads(r.read())["event_id"]
    with urllib.request.urlopen(f"{server}gradio_api/call/{name}/{event_id}", timeout=120) as r:
        lines = r.read().decode().splitlines()
    kind = next(line.split(": ", 1)[1] for line in lines if line.startswith("event: "))
    return kind, json.loads(next(line.split(": ", 1)[1] for line in lines if line.startswith("data: ")))


def test_a_named_call_takes_the_forms_defaults_for_what_it_leaves_out(server):
    kind, data = _call_named(server, "animate", {"model": "mnist-cdcgan", "seeds": "5,6"})
    assert kind == "complete" and data[0]["path"].endswith(".gif"), (kind, data)
    assert json.loads(data[1])["seeds"] == [5, 6]


@pytest.mark.parametrize(
    "value",
    [
        {"path": "/etc/passwd", "meta": {"_type": "gradio.FileData"}},
        {"path": 7},
        {"path": "http://198.51.100.1/x.png", "url": "http://198.51.100.1/x.png", "meta": {"_type": "gradio.FileData"}},
    ],
)
def test_a_planted_file_value_is_refused_in_one_line(server, value):
    kind, message = _call(server, "project", ["mnist-cdcgan", value, "5,6,7"])
    # refused before any handler runs: by the gate (400, a malformed value) or by Gradio's own check (a path
    # nobody uploaded), in one line either way
    assert kind in ("error", "http") and isinstance(message, str), (kind, message)
    assert "\n" not in message and "Traceback" not in message and "pydantic" not in message


@pytest.mark.parametrize("route", ["call/predict", "call/v2/predict", "run/predict", "api/predict"])
def test_an_unknown_endpoint_is_404_in_one_line(server, route):
    req = urllib.request.Request(
        f"{server}gradio_api/{route}", data=b'{"data": []}', headers={"Content-Type": "application/json"}
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(req, timeout=30)
    said = json.loads(refused.value.read())["error"]
    assert refused.value.code == 404 and said.startswith("no endpoint named /predict; this Space's API: /animate")


def test_a_named_model_is_never_taken_for_the_default(server):
    kind, message = _call_named(server, "animate", {"model": None, "seeds": "1,2"})
    assert kind == "error" and "model must be one of mnist-cdcgan" in str(message), (kind, message)


def test_a_named_call_with_a_field_the_endpoint_does_not_take_is_one_line(server):
    req = urllib.request.Request(
        f"{server}gradio_api/call/v2/compare",
        data=json.dumps({"model_a": "mnist-cdcgan", "grid": "4x4"}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(req, timeout=30)
    said = json.loads(refused.value.read())["error"]
    assert refused.value.code == 400 and said.startswith("/compare takes no grid; it takes model_a, model_b, seeds")
