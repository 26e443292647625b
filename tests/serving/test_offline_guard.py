"""The test run is offline by construction (tests/conftest.py): beyond loopback, a connection is refused at once."""

import socket
import urllib.request

import pytest


def test_a_connection_beyond_loopback_is_refused_in_one_line():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock, pytest.raises(OSError, match="tests run offline"):
        sock.connect(("192.0.2.1", 443))  # TEST-NET-1: never reached, refused before any packet leaves
    with pytest.raises(OSError, match="tests run offline"):
        urllib.request.urlopen("http://192.0.2.1/", timeout=1)
    with pytest.raises(OSError, match="tests run offline"):
        socket.getaddrinfo("huggingface.co", 443)  # no lookup either: offline it could hang


def test_loopback_still_connects():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        with socket.create_connection(server.getsockname(), timeout=2):
            pass
