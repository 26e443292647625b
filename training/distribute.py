"""Which tf.distribute strategy a run uses: one device, several devices of one machine, or several machines.

- `TF_CONFIG` set (the standard way to describe a cluster) with two or more workers: `MultiWorkerMirroredStrategy`.
  Worker 0 is the chief: only it writes the run folder. A worker that stops answering makes the others fail
  after `--worker-timeout` seconds with a clear message instead of waiting forever.
- `--devices N` on a machine with GPUs: `MirroredStrategy` over the first N GPUs. Without GPUs, the CPU is split
  into N logical devices, so the distributed path runs (and is tested) anywhere; on a 2-core CPU that is not
  faster, only the same maths.
- Neither: every GPU when there are several, else the default single-device strategy.

The global batch stays `--batch-size`: each of N replicas takes batch / N, gradients are summed across replicas,
and losses are divided by N, so a step means what it means on one device (same learning rate).

`python -m training.distribute --workers host1:2222,host2:2222` prints the `TF_CONFIG` for each host.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass

from serving.errors import InputError
from serving.inputs import load_json


@dataclass(frozen=True)
class Cluster:
    workers: tuple[str, ...]
    index: int

    @property
    def is_chief(self) -> bool:
        return self.index == 0


def parse_tf_config(text: str) -> Cluster:
    """The cluster in a TF_CONFIG value, or InputError naming what is wrong with it."""
    raw = load_json(text, "TF_CONFIG")
    if not isinstance(raw, dict):
        raise InputError("TF_CONFIG must be a JSON object with 'cluster' and 'task'")
    cluster, task = raw.get("cluster"), raw.get("task")
    if not isinstance(cluster, dict) or set(cluster) - {"worker", "chief"}:
        raise InputError("TF_CONFIG 'cluster' must hold a 'worker' list of host:port (a 'chief' is not used)")
    if "chief" in cluster:
        raise InputError("TF_CONFIG: give every host as a 'worker' (worker 0 is the chief) instead of a 'chief'")
    workers = cluster.get("worker")
    if not isinstance(workers, list) or not workers or not all(isinstance(w, str) and ":" in w for w in workers):
        raise InputError("TF_CONFIG 'cluster.worker' must be a non-empty list of 'host:port' strings")
    if not isinstance(task, dict) or task.get("type") != "worker" or not isinstance(task.get("index"), int):
        raise InputError('TF_CONFIG \'task\' must be {"type": "worker", "index": N}')
    if not 0 <= task["index"] < len(workers):
        raise InputError(f"TF_CONFIG task index {task['index']} is not one of the {len(workers)} workers")
    return Cluster(tuple(workers), task["index"])


def tf_configs(workers: list[str]) -> list[str]:
    """The TF_CONFIG value for each worker, in order (worker 0 is the chief)."""
    return [
        json.dumps({"cluster": {"worker": workers}, "task": {"type": "worker", "index": i}})
        for i in range(len(workers))
    ]


def cluster_from_env() -> Cluster | None:
    text = os.environ.get("TF_CONFIG", "").strip()
    return parse_tf_config(text) if text else None


def make_strategy(devices: int | None, worker_timeout_s: int):
    """The strategy for this process; call before TensorFlow runs anything (it fixes the device layout)."""
    import tensorflow as tf

    cluster = cluster_from_env()
    if cluster is not None and len(cluster.workers) > 1:
        if devices is not None:
            raise InputError("--devices and TF_CONFIG do not mix: each worker uses its own devices")
        options = tf.distribute.experimental.CommunicationOptions(timeout_seconds=worker_timeout_s)
        return tf.distribute.MultiWorkerMirroredStrategy(communication_options=options)
    gpus = tf.config.list_physical_devices("GPU")
    if devices is None:
        return tf.distribute.MirroredStrategy() if len(gpus) > 1 else tf.distribute.get_strategy()
    if gpus:
        if devices > len(gpus):
            raise InputError(f"--devices {devices}: this machine has {len(gpus)} GPU{'s' * (len(gpus) != 1)}")
        return tf.distribute.MirroredStrategy([f"/gpu:{i}" for i in range(devices)])
    cores = os.cpu_count() or 1
    if devices > cores:
        raise InputError(f"--devices {devices}: this machine has no GPU and {cores} CPU cores to split into devices")
    if devices == 1:
        return tf.distribute.get_strategy()
    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * devices)
    except RuntimeError:
        raise InputError(
            "--devices on a CPU must be set before TensorFlow starts: train in a fresh process "
            "(python -m training.train)"
        ) from None
    return tf.distribute.MirroredStrategy([f"/cpu:{i}" for i in range(devices)])


class Watchdog:
    """Stops a multi-worker run whose step has not finished within `timeout_s`: when a peer dies, TensorFlow's
    collectives can wait forever inside C++ where no exception reaches Python, so the only way out is to end the
    process, with one clear line on stderr and exit code 1. Armed after the first step (tracing and the cluster's
    start-up may legitimately take longer); `tick()` after every step."""

    def __init__(self, timeout_s: float, step_label) -> None:
        import threading
        import time

        self.timeout_s, self.step_label = timeout_s, step_label
        self._clock = time.monotonic
        self._last = self._clock()
        self._armed = False
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="ganimate-worker-watchdog", daemon=True)
        self._thread.start()

    def tick(self) -> None:
        self._last = self._clock()
        self._armed = True

    def stop(self) -> None:
        self._done.set()

    def _watch(self) -> None:
        while not self._done.wait(1.0):
            if self._armed and self._clock() - self._last > self.timeout_s:
                print(
                    f"error: no step finished for {self.timeout_s:.0f} s after step {self.step_label()}: a worker "
                    "of the cluster stopped answering. The run stopped; restart every worker with --resume to "
                    "continue from the last checkpoint",
                    file=sys.stderr,
                    flush=True,
                )
                os._exit(1)


def is_chief(strategy) -> bool:
    """Whether this process writes the run folder: always, except on workers other than 0 of a cluster."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not getattr(resolver, "task_type", None):
        return True
    return resolver.task_type in ("chief", None) or (resolver.task_type == "worker" and resolver.task_id == 0)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m training.distribute",
        description="Print the TF_CONFIG each host of a training cluster needs.",
        epilog="example:\n  python -m training.distribute --workers gpu1:2222,gpu2:2222\n"
        "then on each host: TF_CONFIG='...' python -m training.train ... --out runs/x",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--workers", required=True, help="host:port of every worker, comma-separated; the first is the chief"
    )
    args = p.parse_args(argv)
    workers = [w.strip() for w in args.workers.split(",") if w.strip()]
    bad = [w for w in workers if w.count(":") != 1 or not w.split(":")[1].isdigit()]
    if len(workers) < 2 or bad:
        print(
            f"error: --workers needs two or more host:port entries{', not ' + repr(bad[0]) if bad else ''}",
            file=sys.stderr,
        )
        return 2
    for host, config in zip(workers, tf_configs(workers)):
        print(f"# on {host}\nexport TF_CONFIG='{config}'")
    return 0


if __name__ == "__main__":
    sys.exit(main())
