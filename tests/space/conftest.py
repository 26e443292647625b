"""The Space under test: imported once (models load at import), and served on 127.0.0.1 for client and browser tests."""

import socket

import pytest


@pytest.fixture(scope="session")
def app():
    from space import app as space_app

    return space_app


@pytest.fixture(scope="session")
def server(app):
    """The real app on a free loopback port; yields its URL, closed at the end of the session."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app.demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        app.demo.close()


@pytest.fixture(scope="session")
def client(server):
    from gradio_client import Client

    return Client(server, verbose=False)
