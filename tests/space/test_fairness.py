"""One greedy client cannot hold the Space: a real server on 127.0.0.1 that tells clients apart by the address a
proxy appends (X-Forwarded-For, as on a Hugging Face Space), with one running request per client."""

import concurrent.futures
import threading
import time

import pytest

from tests.space.conftest import served


@pytest.fixture(scope="module")
def fair_server(models):
    from serving.space import SpaceApp, build_demo

    app = SpaceApp(models, per_client=1, proxy_hops=1)
    with served(build_demo(app.models, app=app)) as url:
        yield url


def _client(url: str, address: str):
    from gradio_client import Client

    return Client(url, headers={"X-Forwarded-For": address}, verbose=False)


def test_a_greedy_client_is_told_to_wait_and_the_others_are_served(fair_server):
    from gradio_client.exceptions import AppError

    greedy = _client(fair_server, "203.0.113.7")
    big = dict(model="mnist-cdcgan", seeds="0-15", grid="4x4", frames=12, size=384, api_name="/animate")

    def greedy_call(i: int) -> str:
        try:
            greedy.predict(**{**big, "seeds": f"{100 * i}-{100 * i + 15}"})  # each its own render
            return "served"
        except AppError as exc:
            return str(exc)

    ordinary = [_client(fair_server, f"198.51.100.{i}") for i in range(3)]
    with concurrent.futures.ThreadPoolExecutor(7) as pool:  # all at once: the greedy four, then three others
        greedy_calls = [pool.submit(greedy_call, i) for i in range(4)]
        others = [
            pool.submit(c.predict, model="mnist-cdcgan", seeds=f"5,{i}", frames=4, size=64, api_name="/animate")
            for i, c in enumerate(ordinary)
        ]
        answers = [f.result() for f in greedy_calls]
        served = [f.result() for f in others]
    assert "served" in answers  # the greedy client gets one at a time ...
    refused = [a for a in answers if a != "served"]
    assert refused and all("still running here; try again when it is done" in a for a in refused)
    assert all(path.endswith(".gif") for path, _ in served)  # ... and nobody else is turned away


def test_a_long_render_goes_through_the_heavy_lane_alone_and_on_one_thread(models, tmp_path):
    """While one long render holds the heavy lane, a second long one waits its turn (and is served after it) and a
    short one is served at once; inside the lane the generator never hands work to its shared pool."""
    import threading

    import numpy as np

    from serving import Recipe
    from serving.rendering.render import render_seconds
    from serving.space import SpaceApp, handlers

    app = SpaceApp(models, out_dir=tmp_path, per_client=10**6)
    gen = app.models["mnist-cdcgan"]
    short = Recipe(seeds=(5, 6), frames=4, size=64, bundle_sha256=gen.config.sha256)
    long = Recipe(seeds=tuple(range(16)), grid=(4, 4), frames=12, size=384, bundle_sha256=gen.config.sha256)
    assert render_seconds(gen, short) < handlers.HEAVY_SECONDS < render_seconds(gen, long)

    entered, leave = threading.Event(), threading.Event()
    real_render = handlers.render
    pool_unused = []

    def held_render(*args, **kwargs):  # the first long render: real, but held open inside the lane
        if not entered.is_set():
            pool_unused.append(gen._pool is None or _pool_unused(gen))  # before anyone else runs
            entered.set()
            leave.wait(60)
        return real_render(*args, **kwargs)

    def _pool_unused(g) -> bool:
        submitted = []
        original = g._pool.submit
        g._pool.submit = lambda *a, **k: submitted.append(a) or original(*a, **k)
        try:
            g(np.zeros((64, g.latent_dim), np.float32), np.eye(g.num_classes, dtype=np.float32)[[0] * 64])
        finally:
            g._pool.submit = original
        return not submitted

    handlers.render = held_render
    try:
        first = threading.Thread(target=app.rendered, args=(gen, long), kwargs={"record": False})
        first.start()
        assert entered.wait(60)
        second = concurrent.futures.ThreadPoolExecutor(1).submit(
            app.rendered, gen, Recipe(**{**long.__dict__, "seeds": tuple(range(100, 116))}), record=False
        )
        while app.lane.waiting() < 2:  # the second long render is in line behind the first, not refused
            assert not second.done(), second.exception()
            time.sleep(0.01)
        assert app.rendered(gen, short, record=False).endswith(".gif")  # short renders are not held
        assert not second.done()
        leave.set()
        first.join(120)
        assert second.result(120).endswith(".gif")  # ... and served once the first is done
    finally:
        handlers.render = real_render
        leave.set()
    assert not first.is_alive() and app.lane.waiting() == 0
    assert pool_unused == [True]


def test_the_lane_serves_visitors_in_the_order_they_came_and_bounds_the_line_and_the_wait():
    from serving.errors import InputError
    from serving.space.lane import FairLane

    lane, order, gate = FairLane(max_waiting=2, max_wait_s=30), [], threading.Event()
    first = threading.Thread(target=lane.run, args=(lambda: gate.wait(30) and order.append("first"),))
    first.start()
    while lane.waiting() < 1:
        time.sleep(0.005)
    waiting = []
    for name in ("second", "third"):
        waiting.append(threading.Thread(target=lane.run, args=(lambda n=name: order.append(n),)))
        waiting[-1].start()
        while lane.waiting() < len(waiting) + 1:
            time.sleep(0.005)
    with pytest.raises(InputError, match="3 long renders are running or waiting here; try again"):
        lane.run(lambda: None)  # the line is full: one line, at once
    gate.set()
    for thread in (first, *waiting):
        thread.join(30)
    assert order == ["first", "second", "third"]
    late = FairLane(max_wait_s=0.05)
    held = threading.Event()
    blocker = threading.Thread(target=late.run, args=(lambda: held.wait(30),))
    blocker.start()
    while late.waiting() < 1:
        time.sleep(0.005)
    with pytest.raises(InputError, match="waited 0.05 s behind others"):
        late.run(lambda: None)
    held.set()
    blocker.join(30)


def test_a_render_past_the_time_cap_is_stopped_between_chunks(models):
    from serving.errors import BudgetError
    from serving.rendering.budget import SPACE
    from serving.rendering.recipe import Recipe
    from serving.rendering.render import render
    from serving.space.lane import Deadline

    gen = models["mnist-cdcgan"]
    deadline = Deadline(0.0)  # already past: the first chunk's progress stops it
    with pytest.raises(BudgetError, match=r"stopped after 0 s with \d+ of \d+ frames made"):
        render(gen, Recipe(seeds=tuple(range(8)), frames=24, size=256), SPACE, progress=deadline)


@pytest.mark.parametrize(
    "environ, hops",
    [
        ({}, 0),
        ({"SPACE_ID": "alice/ganimate"}, 1),
        ({"SPACE_ID": "alice/ganimate", "GANIMATE_PROXY_HOPS": "0"}, 0),
        ({"GANIMATE_PROXY_HOPS": "2"}, 2),
    ],
)
def test_a_hugging_face_space_keys_visitors_on_the_proxys_address_without_a_setting(environ, hops):
    from serving.space.visitors import client_key, proxy_hops

    assert proxy_hops(environ) == hops
    # a visitor may send its own X-Forwarded-For; each proxy appends what it saw, and only those entries count
    chain = "6.6.6.6, 198.51.100.4, 10.1.1.1"
    assert client_key("10.0.0.1", chain, proxy_hops(environ)) == {0: "10.0.0.1", 1: "10.1.1.1", 2: "198.51.100.4"}[hops]


def test_a_bad_proxy_hops_setting_is_one_line():
    from serving.errors import InputError
    from serving.space.visitors import proxy_hops

    with pytest.raises(InputError, match="GANIMATE_PROXY_HOPS"):
        proxy_hops({"GANIMATE_PROXY_HOPS": "one"})


def test_on_a_space_two_visitors_behind_one_proxy_are_served_at_once(models, monkeypatch):
    """SPACE_ID set, nothing else: two visitors (one socket address, different X-Forwarded-For) run at the same
    time; one visitor's second request meanwhile is still told to wait."""
    from gradio_client.exceptions import AppError

    from serving.space import SpaceApp, build_demo

    monkeypatch.setenv("SPACE_ID", "alice/ganimate")
    monkeypatch.delenv("GANIMATE_PROXY_HOPS", raising=False)
    app = SpaceApp(models, per_client=1)
    assert app.proxy_hops == 1
    big = dict(model="mnist-cdcgan", grid="4x4", frames=12, size=384, api_name="/animate")

    def call(address: str, seeds: str) -> str:
        try:
            _client(url, address).predict(**big, seeds=seeds)
            return "served"
        except AppError as exc:
            return str(exc)

    with served(build_demo(app.models, app=app)) as url:
        with concurrent.futures.ThreadPoolExecutor(3) as pool:
            answers = list(pool.map(call, ["198.51.100.1", "198.51.100.2", "198.51.100.1"], ["0-15", "20-35", "40-55"]))
    assert answers[1] == "served"  # another visitor is not the first one
    assert sorted(a == "served" for a in (answers[0], answers[2])) == [False, True]  # the same visitor: one at a time
    assert any("still running here" in a for a in answers)
