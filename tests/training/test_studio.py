"""The studio on 127.0.0.1 through gradio_client: start a tiny run, watch history grow, stop, export a valid bundle."""

import socket
import time

import pytest

from serving import Generator


@pytest.fixture(scope="module")
def studio(tmp_path_factory):
    from gradio_client import Client

    from training.studio import Session, build

    root = tmp_path_factory.mktemp("studio")
    session = Session(root / "runs", root / "exported")
    app = build(session).queue(default_concurrency_limit=4)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    try:
        yield Client(f"http://127.0.0.1:{port}/", verbose=False), session, root
    finally:
        session.control.stop.set()
        app.close()


# Long enough that Stop always finds it training (stop checkpoints; the test never waits for the end).
FORM = dict(
    dataset="mnist-sample",
    model="dcgan",
    conditional=True,
    loss="bce",
    latent_dim=8,
    batch_size=16,
    lr=2e-4,
    epochs=50,
    max_steps=20000,
    ema=0.9,
    spectral_norm=False,
    augment=False,
    width=4,
    log_every=2,
    run_name="tiny",
)


def _rows(client) -> int:
    return int(client.predict(api_name="/status")[-1])


@pytest.mark.slow
def test_start_watch_stop_export(studio):
    client, session, root = studio
    assert "training tiny" in client.predict(**FORM, resume=False, api_name="/start")
    deadline, seen = time.monotonic() + 240, []
    while time.monotonic() < deadline and len(seen) < 3:  # bounded wait for the history to grow
        rows = _rows(client)
        if rows and (not seen or rows > seen[-1]):
            seen.append(rows)
        time.sleep(1.0)
    assert len(seen) >= 3 and seen == sorted(seen), seen
    text, losses, accuracy, sample, _ = client.predict(api_name="/status")
    assert "tiny" in text and losses is not None and accuracy is not None
    assert "stopped" in client.predict(api_name="/stop")
    assert not session.active and (root / "runs" / "tiny" / "checkpoints").is_dir()
    info, gif = client.predict(bundle_name="tiny-bundle", api_name="/export")
    assert "exported" in info and gif.endswith(".gif")
    gen = Generator.from_pretrained(root / "exported" / "tiny-bundle")  # sha256, operators and contract verified
    assert gen.latent_dim == 8 and gen.num_classes == 10


def test_bad_form_and_double_start_are_clear_errors(studio):
    from gradio_client.exceptions import AppError

    client, session, root = studio
    with pytest.raises(AppError, match="run name"):
        client.predict(**{**FORM, "run_name": "../escape"}, resume=False, api_name="/start")
    with pytest.raises(AppError, match="batch-size must be positive"):
        client.predict(**{**FORM, "batch_size": 0, "run_name": "x"}, resume=False, api_name="/start")
    with pytest.raises(AppError, match="no run to resume"):
        client.predict(**{**FORM, "run_name": "never"}, resume=True, api_name="/start")
