"""One greedy client cannot hold the Space: a real server on 127.0.0.1 that tells clients apart by the address a
proxy appends (X-Forwarded-For, as on a Hugging Face Space), with one running request per client."""

import concurrent.futures

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
    """While one long render holds the heavy lane, a second long one is told to try again at once and a short one
    is served; inside the lane the generator never hands work to its shared pool."""
    import threading

    import numpy as np

    from serving import Recipe
    from serving.errors import InputError
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
        with pytest.raises(InputError, match="another long render is running here; try again"):
            app.rendered(gen, Recipe(**{**long.__dict__, "seeds": tuple(range(100, 116))}), record=False)
        assert app.rendered(gen, short, record=False).endswith(".gif")  # short renders are not held
        leave.set()
        first.join(120)
    finally:
        handlers.render = real_render
        leave.set()
    assert not first.is_alive() and not app._heavy.locked()
    assert pool_unused == [True]
