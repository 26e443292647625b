"""Time to quality: the evaluation figures measured during training, and when the run first meets its targets.

`--eval-every N` measures FCD (as a ratio to the real-data floor), precision, recall and class accuracy every N
steps on the sampling generator (the EMA copy), with the same judge as `python -m training.evaluate` but on the
validation part of the data and the probe seeds, never the test part or the evaluation's seeds: these rows are
what a checkpoint is chosen by (`python -m training.export --step N`). 2,000 samples, so a probe costs seconds.
Rows go to quality.csv;
the first time every target holds, the trainer prints the step and the training minutes it took, and records them
in quality.json. Training minutes exclude the probes themselves and the one-off classifier training.
"""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path

import keras
import numpy as np

from serving.atomic import write_atomic
from serving.errors import InputError
from serving.latent.latents import one_hot, z_batch
from training import metrics
from training.checks import failed_checks, parse_checks
from training.evaluate import probe_seeds, reference
from training.options import DEFAULT_QUALITY as DEFAULT_TARGETS

PROBE_SAMPLES = 2000


class QualityProbe(keras.callbacks.Callback):
    """Every `every` steps: figures of the sampling generator; prints and records when `targets` first hold."""

    def __init__(
        self,
        run_dir: Path,
        data,
        spec: str,
        every: int,
        targets: str = DEFAULT_TARGETS,
        latent_dim: int = 64,
        conditional: bool = False,
        printer=print,
    ) -> None:
        super().__init__()
        self.run_dir, self.data, self.spec, self.every = Path(run_dir), data, spec, every
        self.checks = parse_checks(targets)
        self.latent_dim, self.conditional, self.printer = latent_dim, conditional, printer
        self.state_path = self.run_dir / "quality.json"
        self.state = json.loads(self.state_path.read_text()) if self.state_path.exists() else {}

    def on_train_begin(self, logs=None):
        from training.judge import judge_for

        size = self.data.image_shape[0]
        try:
            self.judge = judge_for(self.data, self.spec, size, retrain=False)
        except InputError:  # data with no shipped judge (a folder, a table of one's own): train one for this run
            self.printer(
                "notice: no shipped judge for this data; training one for the probes (a judge of its own, "
                "so these figures compare only within this run's data)"
            )
            self.judge = judge_for(self.data, self.spec, size, retrain=True, verbose=False)
        train_x, _, val_x, _ = reference(self.data, self.spec, size, "val")
        self.f_train = self.judge(train_x)[0]
        self.size = min(len(val_x), PROBE_SAMPLES)
        self.fcd_floor = metrics.frechet_distance(self.f_train, self.judge(val_x[: self.size])[0])
        n = PROBE_SAMPLES
        self.z = z_batch(probe_seeds(n), self.latent_dim)
        self.labels = np.arange(n) % self.data.num_classes
        self.y = one_hot(self.labels, self.data.num_classes) if self.conditional else None
        self.started = time.perf_counter()
        self.probe_s = 0.0
        self.train_s_before = float(self.state.get("train_s_at_last_probe", 0.0))  # a resumed run adds on

    def train_seconds(self) -> float:
        return self.train_s_before + time.perf_counter() - self.started - self.probe_s

    def figures(self) -> dict[str, float]:
        gen = self.model.sampling_generator
        images = np.concatenate(
            [  # direct calls: predict() would split the batch over a strategy's replicas
                np.asarray(
                    gen(
                        [self.z[i : i + 500], self.y[i : i + 500]] if self.conditional else self.z[i : i + 500],
                        training=False,
                    ),
                    np.float32,
                )
                for i in range(0, len(self.z), 500)
            ]
        )
        feats, probs = self.judge(images)
        fcd = float(metrics.at_size(metrics.frechet_distance, self.f_train, feats, self.size))
        precision, recall = metrics.at_size(metrics.precision_recall, self.f_train, feats, self.size)
        out = {"fcd_ratio": fcd / max(self.fcd_floor, 1e-12), "precision": float(precision), "recall": float(recall)}
        if self.conditional:
            out["class_accuracy"] = float((probs.argmax(1) == self.labels).mean())
        return out

    def on_train_batch_end(self, batch, logs=None):
        step = batch + 1
        if step % self.every:
            return
        train_s = self.train_seconds()
        probe_started = time.perf_counter()
        figures = self.figures()
        row = {"step": step, "train_min": round(train_s / 60, 2), **{k: round(v, 4) for k, v in figures.items()}}
        path = self.run_dir / "quality.csv"
        new = not path.exists()
        with open(path, "a", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(row))
            if new:
                writer.writeheader()
            writer.writerow(row)
        self.state["train_s_at_last_probe"] = round(train_s, 2)
        met = not failed_checks({"figures": {k: {"model": v} for k, v in figures.items()}}, self.checks)
        if met and "reached_step" not in self.state:
            self.state.update(
                reached_step=step,
                reached_train_min=round(train_s / 60, 2),
                figures=row,
                targets=", ".join(f"{n}{op}{v:g}" for n, op, v in self.checks),
            )
            self.printer(
                f"quality reached at step {step} after {train_s / 60:.1f} min of training: "
                + ", ".join(f"{k} {v:.3g}" for k, v in figures.items())
            )
        write_atomic(self.state_path, (json.dumps(self.state, indent=2) + "\n").encode())
        self.probe_s += time.perf_counter() - probe_started


def best_probe(run_dir: Path, targets: str = DEFAULT_TARGETS) -> dict[str, float]:
    """The validation probe row a checkpoint is chosen by: among the rows whose figures meet every target but
    FCD, the one with the lowest FCD ratio (all rows when none meets them). KeyError when the run has no probes."""
    path = Path(run_dir) / "quality.csv"
    if not path.is_file():
        raise KeyError(f"{run_dir} has no quality.csv: train with --eval-every to probe on validation")
    with open(path, newline="") as fh:
        rows = [{k: float(v) for k, v in r.items()} for r in csv.DictReader(fh)]
    others = [c for c in parse_checks(targets) if c[0] != "fcd_ratio"]
    passing = [r for r in rows if not failed_checks({"figures": {k: {"model": v} for k, v in r.items()}}, others)]
    return min(passing or rows, key=lambda r: r["fcd_ratio"])


def main(argv: list[str] | None = None) -> int:
    import argparse
    import sys

    p = argparse.ArgumentParser(
        prog="python -m training.quality",
        description="Choose a run's checkpoint on its validation probes (quality.csv).",
    )
    p.add_argument("--run", required=True, help="run folder trained with --eval-every")
    p.add_argument("--quality", default=DEFAULT_TARGETS, help=f"targets (default {DEFAULT_TARGETS})")
    args = p.parse_args(argv)
    try:
        row = best_probe(Path(args.run), args.quality)
    except KeyError as exc:
        print(f"error: {exc.args[0]}", file=sys.stderr)
        return 2
    step = int(row["step"])
    print(
        f"best validation probe: step {step} ("
        + ", ".join(f"{k} {v:g}" for k, v in row.items() if k != "step")
        + f")\nexport it: python -m training.export --run {args.run} --step {step} --out exported/NAME"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
