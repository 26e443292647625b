"""The Space under test: built by the factory over the shipped bundles, and served on 127.0.0.1."""

import contextlib
import socket
from collections.abc import Iterator

import pytest

from tests.conftest import REPO


@pytest.fixture(scope="session")
def models():
    from serving.space import load_models, model_sources

    return load_models(model_sources("", None, REPO / "exported"))


@pytest.fixture(scope="session")
def app(models, tmp_path_factory):
    """The Space's handlers, called directly as the UI and the API call them."""
    from serving.space import SpaceApp

    # Its results in Gradio's cache, as the Space keeps them. Every test client is 127.0.0.1, so the per-client
    # limit is lifted here; test_fairness.py runs its own Space with it, telling clients apart by X-Forwarded-For.
    return SpaceApp(models, per_client=10**6)


@contextlib.contextmanager
def served(demo) -> Iterator[str]:
    """`demo` launched as the Space launches it, on a free loopback port; yields its URL, closed when done."""
    from serving.space.layout import launch_options

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    demo.launch(
        server_name="127.0.0.1",
        server_port=port,
        prevent_thread_lock=True,
        quiet=True,
        **launch_options(demo.ganimate_app, requests_per_min=10**6),
    )
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        demo.close()


@pytest.fixture(scope="session")
def server(app):
    """The real app on a free loopback port; yields its URL, closed at the end of the session."""
    from serving.space import build_demo

    with served(build_demo(app.models, app=app)) as url:
        yield url


@pytest.fixture(scope="session")
def client(server):
    from gradio_client import Client

    return Client(server, verbose=False)
