"""tf.distribute on this machine: the CPU split into two devices, two worker processes on loopback, a killed worker.

Each run is a fresh process (tests/training/distributed_run.py): devices and clusters must be set up before
TensorFlow starts. Tolerance: the first steps' losses of a 2-replica run equal the 1-replica run's within 1e-4
(relative): same global batch, same noise (sliced per replica), synchronised batch norm; only the order of
floating-point sums differs.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from tests.conftest import REPO
from training.distribute import parse_tf_config, tf_configs

pytestmark = pytest.mark.slow
TOLERANCE = 1e-4


def _run(out, *args, env=None, timeout=240):
    proc = subprocess.run(
        [sys.executable, "-m", "tests.training.distributed_run", str(out), *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _close(a, b):
    assert [s for s, *_ in a] == [s for s, *_ in b]
    for (_, d1, g1), (_, d2, g2) in zip(a, b):
        assert abs(d1 - d2) <= TOLERANCE * abs(d1) and abs(g1 - g2) <= TOLERANCE * abs(g1), (a, b)


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="needs two CPU cores to split into two devices")
def test_two_cpu_devices_match_one_and_resume_under_the_strategy(tmp_path):
    one = _run(tmp_path / "one", "--steps", "4")
    two = _run(tmp_path / "two", "--devices", "2", "--steps", "4")
    assert (one["replicas"], two["replicas"]) == (1, 2)
    _close(one["losses"], two["losses"])
    # Interrupted at step 2 and resumed under the strategy: it continues from its checkpoint to step 4. (The
    # resumed steps come within 1% of the uninterrupted run's, not to 1e-4: see docs/training.md, GPUs and several machines.)
    _run(tmp_path / "split", "--devices", "2", "--steps", "2")
    resumed = _run(tmp_path / "split", "--devices", "2", "--steps", "4", "--resume")
    assert resumed["step"] == 4 and [s for s, *_ in resumed["losses"]] == [1, 2, 3, 4]
    _close(resumed["losses"][:2], two["losses"][:2])
    for (_, d1, g1), (_, d2, g2) in zip(resumed["losses"][2:], two["losses"][2:]):
        assert abs(d1 - d2) <= 0.01 * abs(d2) and abs(g1 - g2) <= 0.01 * abs(g2)
    assert sorted(p.name for p in (tmp_path / "split" / "checkpoints").iterdir())[-1] == "ckpt-00000004.npz"


def _free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def _workers(out, steps, timeout=300):
    hosts = [f"127.0.0.1:{p}" for p in _free_ports(2)]
    procs = []
    for config in tf_configs(hosts):
        procs.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "tests.training.distributed_run",
                    str(out),
                    "--steps",
                    str(steps),
                    "--timeout",
                    str(timeout),
                ],
                cwd=REPO,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env={**os.environ, "TF_CONFIG": config, "TF_CPP_MIN_LOG_LEVEL": "3"},
            )
        )
    return procs


def test_two_workers_on_loopback_agree_and_only_the_chief_writes(tmp_path):
    chief, worker = _workers(tmp_path / "run", 6)
    outs = []
    for p in (chief, worker):
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err[-2000:]
        outs.append(json.loads(out.strip().splitlines()[-1]))
    assert outs[0]["chief"] and not outs[1]["chief"] and outs[0]["replicas"] == 2
    assert outs[0]["weights_sha256"] == outs[1]["weights_sha256"]  # the workers' weights agree
    single = _run(tmp_path / "single", "--steps", "6")
    _close(outs[0]["losses"], single["losses"])  # two workers, one global batch: the single-process maths
    written = sorted(p.name for p in (tmp_path / "run").iterdir())
    assert written == ["checkpoints", "dataset.json", "history.csv", "loss.png", "options.json", "samples"]


def test_a_killed_worker_stops_the_run_with_a_clear_message(tmp_path):
    timeout = 15
    chief, worker = _workers(tmp_path / "run", 100_000, timeout=timeout)
    history = tmp_path / "run" / "history.csv"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and not (history.exists() and len(history.read_text().splitlines()) > 5):
        time.sleep(0.5)
    assert history.exists(), "the cluster never started training"
    worker.send_signal(signal.SIGKILL)
    killed_at = time.monotonic()
    try:
        _, err = chief.communicate(timeout=timeout + 90)
    finally:
        chief.kill()
        worker.communicate()
    assert chief.returncode == 1 and time.monotonic() - killed_at < timeout + 90
    assert "a worker of the cluster stopped answering" in err and "--resume" in err


@pytest.mark.parametrize(
    "text, message",
    [
        ("{not json", "TF_CONFIG is not valid JSON"),
        ('{"cluster": {"worker": ["a:1", "b:2"]}, "task": {"type": "worker", "index": 5}}', "task index 5"),
        ('{"cluster": {"ps": ["a:1"]}, "task": {"type": "ps", "index": 0}}', "'worker' list"),
    ],
)
def test_malformed_tf_config_is_one_line_and_exit_2(tmp_path, text, message):
    from serving.errors import InputError

    with pytest.raises(InputError, match=message):
        parse_tf_config(text)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "training.train",
            "--dataset",
            "mnist-sample",
            "--max-steps",
            "1",
            "--out",
            str(tmp_path / "r"),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "TF_CONFIG": text},
    )
    assert proc.returncode == 2 and message in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_more_devices_than_the_machine_has_is_exit_2(tmp_path):
    too_many = (os.cpu_count() or 1) + 1
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "training.train",
            "--dataset",
            "mnist-sample",
            "--max-steps",
            "1",
            "--batch-size",
            str(16 * too_many),
            "--devices",
            str(too_many),
            "--out",
            str(tmp_path / "r"),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "CUDA_VISIBLE_DEVICES": ""},
    )
    assert proc.returncode == 2 and f"--devices {too_many}" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
