"""Shared test setup (no TensorFlow here: the serving and Space tests run without it): paths, browser, tiny bundles."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# Offline by construction: every test process refuses to open a connection beyond this machine, so a test that
# would reach the internet fails in one line here instead of passing on a networked machine and hanging offline.
# Child processes started by tests are not patched; they inherit the telemetry switches and are pointed at loopback
# servers (the Hub, the Space), which still work.
os.environ.update(GRADIO_ANALYTICS_ENABLED="False", HF_HUB_DISABLE_TELEMETRY="1", DO_NOT_TRACK="1")


def _loopback_only(connect):
    import ipaddress
    import socket

    def guarded(sock, address, *args):
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            host = address[0]
            try:
                local = host == "localhost" or ipaddress.ip_address(host).is_loopback
            except ValueError:  # a name: only "localhost" is local by definition
                local = False
            if not local:
                raise OSError(f"tests run offline: a connection to {host} was refused (use a loopback server)")
        return connect(sock, address, *args)

    return guarded


def _go_offline() -> None:
    import socket

    socket.socket.connect = _loopback_only(socket.socket.connect)
    socket.socket.connect_ex = _loopback_only(socket.socket.connect_ex)
    lookup = socket.getaddrinfo

    def local_lookup(host, *args, **kwargs):  # a name lookup can hang offline before any connect is tried
        if isinstance(host, bytes):
            host = host.decode()
        if host not in (None, "", "localhost") and not _is_address(host):
            raise OSError(f"tests run offline: no name lookup for {host} (use a loopback server)")
        return lookup(host, *args, **kwargs)

    socket.getaddrinfo = local_lookup


def _is_address(host: str) -> bool:
    import ipaddress

    try:
        ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        return False
    return True


_go_offline()
# Debian's Chromium for the browser tests (driven by Playwright, no browser download). As root on an offline machine
# it needs no sandbox and none of its background network calls.
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """tests/artifacts/: screenshots for a person to look at (not checked in)."""
    path = REPO / "tests" / "artifacts"
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def tiny_bundles(tmp_path_factory) -> dict[str, Path]:
    """Tiny ONNX bundles made with onnx.helper (no TensorFlow): unconditional gray, conditional gray, conditional RGB."""
    from tests.tiny_onnx import make_bundle

    root = tmp_path_factory.mktemp("bundles")
    return {
        "gan": make_bundle(root / "gan", "tiny-gan"),
        "cgan": make_bundle(root / "cgan", "tiny-cgan", num_classes=4, seed=1),
        "vae": make_bundle(root / "vae", "tiny-vae", num_classes=3, channels=3, seed=2),
    }
