"""A training run on tiny random data in a fresh process, for the tf.distribute tests (devices must be set up
before TensorFlow starts, so each configuration gets its own process).

    python -m tests.training.distributed_run OUT --devices N --steps S [--resume] [--timeout T]

Prints one JSON line: the report of run_training (step, replicas, chief, weights sha256) and, for the chief, the
per-step losses from history.csv. Exits like the trainer: 1 with one line when the run fails its own checks.
"""

import argparse
import csv
import json
import sys
from pathlib import Path

from tests.training.tiny import tiny_data


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("--devices", type=int, default=None)
    p.add_argument("--steps", type=int, default=4)
    p.add_argument("--resume", action="store_true")
    p.add_argument("--timeout", type=int, default=300)
    args = p.parse_args()
    from serving.errors import GanimateError
    from training.options import TrainOptions
    from training.train import run_training

    opts = TrainOptions(
        dataset="mnist-sample",
        latent_dim=8,
        width=4,
        batch_size=16,
        conditional=True,
        out=args.out,
        max_steps=args.steps,
        epochs=100_000,
        log_every=1,
        checkpoint_every=2,
        sample_every=1000,
        devices=args.devices,
        worker_timeout=args.timeout,
    )
    report: dict = {}
    try:
        run_training(opts, resume=args.resume, data=tiny_data(1, 4, 64), verbose=False, report=report)
    except GanimateError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    history = Path(args.out) / "history.csv"
    if report.get("chief") and history.exists():
        with open(history) as fh:
            report["losses"] = [
                (int(r["step"]), float(r["d_loss"]), float(r["g_loss"]))
                for r in csv.DictReader(fh)
                if r["kind"] == "step"
            ]
    print(json.dumps(report), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
