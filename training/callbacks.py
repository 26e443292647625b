"""Side effects of a run, as Keras callbacks: history.csv + loss.png, fixed-seed sample grids, checkpoints.

The training loop calls them through `keras.callbacks.CallbackList`, passing the global step as `batch`.
"""

from __future__ import annotations

import csv
import io
import time
from pathlib import Path

import keras
import numpy as np

from serving.atomic import write_atomic
from serving.files.grid import sample_sheet, to_uint8
from training import checkpoint


def tanh_to_unit(raw: np.ndarray, y: np.ndarray | None) -> np.ndarray:
    """A pixel generator's tanh output in [-1, 1] -> images in [0, 1] (the default `decode`)."""
    return (np.asarray(raw) + 1.0) / 2.0


def _keras_generate(generator: keras.Model, decode=tanh_to_unit):
    """Adapt a Keras generator to sample_sheet's generate(z, y) -> uint8 images; `decode(raw, y)` makes pictures."""

    def generate(z, y):
        # A direct call, not predict(): under a distribution strategy predict() splits and re-joins the batch.
        raw = np.asarray(generator([z, y] if y is not None else z, training=False))
        return to_uint8(decode(raw, y))

    return generate


def _atomic_save_png(image, path: Path) -> None:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    write_atomic(path, buf.getvalue())


class SampleGrid(keras.callbacks.Callback):
    """samples/epoch_NNNN.png at milestone epochs (1, 2, 5, then every `every`), and samples/final.png."""

    def __init__(
        self, run_dir: Path, latent_dim: int, class_names: list[str], conditional: bool, every: int, decode=tanh_to_unit
    ):
        super().__init__()
        self.run_dir, self.latent_dim, self.every = Path(run_dir), latent_dim, every
        self.class_names, self.conditional, self.decode = class_names, conditional, decode

    def _write(self, name: str) -> None:
        names = self.class_names if self.conditional else []
        sheet = sample_sheet(_keras_generate(self.model.sampling_generator, self.decode), self.latent_dim, names)
        _atomic_save_png(sheet, self.run_dir / "samples" / name)

    def on_epoch_end(self, epoch, logs=None):
        number = epoch + 1
        if number in (1, 2, 5) or number % self.every == 0:
            self._write(f"epoch_{number:04d}.png")

    def on_train_end(self, logs=None):
        self._write("final.png")


class HistoryLogger(keras.callbacks.Callback):
    """Appends a row to history.csv every `every` steps and at each epoch's end; redraws loss.png per epoch."""

    def __init__(
        self, run_dir: Path, every: int, batch_size: int, steps_per_epoch: int, start_step: int = 0, printer=print
    ):
        super().__init__()
        self.path = Path(run_dir) / "history.csv"
        self.plot_path = Path(run_dir) / "loss.png"
        self.every, self.batch_size, self.steps_per_epoch = every, batch_size, steps_per_epoch
        self.printer = printer
        self.start_step = start_step
        self.columns: list[str] | None = None
        self._wall_start = time.perf_counter()
        self._last: tuple[int, dict] | None = None  # the last step seen, and its logs
        self._last_row_step = -1

    def on_train_begin(self, logs=None):
        # Throughput is measured separately for step rows and epoch rows (they may fall on the same step).
        self._marks = {kind: (time.perf_counter(), self.start_step) for kind in ("step", "epoch")}
        self._wall_offset = self._previous_wall()

    def _previous_wall(self) -> float:
        """A resumed run continues the wall clock of the rows already written."""
        if not self.path.exists():
            return 0.0
        with open(self.path, newline="") as fh:
            rows = list(csv.DictReader(fh))
        return float(rows[-1]["wall_s"]) if rows else 0.0

    def _row(self, kind: str, step: int, logs: dict) -> None:
        now = time.perf_counter()
        mark_time, mark_step = self._marks[kind]
        images_per_s = (step + 1 - mark_step) * self.batch_size / max(now - mark_time, 1e-9)
        self._marks[kind] = (now, step + 1)
        row = {"kind": kind, "step": step + 1, "epoch": round((step + 1) / self.steps_per_epoch, 3)}
        row.update({k: round(float(v), 6) for k, v in logs.items()})
        row["images_per_s"] = round(images_per_s, 1)
        row["wall_s"] = round(self._wall_offset + now - self._wall_start, 2)
        new_file = not self.path.exists()
        if self.columns is None:
            self.columns = list(row)
        with open(self.path, "a", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=self.columns, extrasaction="ignore")
            if new_file:
                writer.writeheader()
            writer.writerow(row)
        self.printer(row)
        self._last_row_step = step

    def on_train_batch_end(self, batch, logs=None):
        self._last = (batch, dict(logs or {}))
        if (batch + 1) % self.every == 0:
            self._row("step", batch, logs or {})

    def on_epoch_end(self, epoch, logs=None):
        self._row("epoch", (epoch + 1) * self.steps_per_epoch - 1, logs or {})
        plot_history(self.path, self.plot_path)

    def on_train_end(self, logs=None):
        # A run that stopped between rows (--max-steps 10 with rows every 50, a Stop) still records where it got.
        if self._last is not None and self._last[0] != self._last_row_step:
            self._row("step", *self._last)
        plot_history(self.path, self.plot_path)


def plot_history(csv_path: Path, png_path: Path) -> None:
    """Losses (top) and D accuracy on real and fake (bottom) against steps, from the per-step rows."""
    if not csv_path.exists():
        return
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with open(csv_path, newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["kind"] == "step"]
    if not rows:
        return
    steps = [int(r["step"]) for r in rows]
    losses = [k for k in rows[0] if k.endswith("loss")]
    accs = [k for k in rows[0] if k.startswith("d_acc")]
    fig, axes = plt.subplots(2 if accs else 1, 1, figsize=(8, 6 if accs else 3.5), sharex=True, squeeze=False)
    for key in losses:
        axes[0, 0].plot(steps, [float(r[key]) for r in rows], label=key)
    axes[0, 0].set_ylabel("loss")
    axes[0, 0].legend()
    if accs:
        for key in accs:
            axes[1, 0].plot(steps, [float(r[key]) for r in rows], label=key)
        axes[1, 0].set_ylim(-0.05, 1.05)
        axes[1, 0].set_ylabel("D accuracy")
        axes[1, 0].legend()
    axes[-1, 0].set_xlabel("step")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, dpi=90, format="png")
    plt.close(fig)
    write_atomic(png_path, buf.getvalue())


class Checkpointer(keras.callbacks.Callback):
    """Checkpoint every `every` steps and at the end; `save_now` serves Ctrl-C. With `keep_every` (the probe
    interval) a checkpoint is also written and kept at each of its multiples, so any probed step can be exported."""

    def __init__(self, run_dir: Path, every: int, keep_every: int | None = None):
        super().__init__()
        self.run_dir, self.every, self.keep_every = Path(run_dir), every, keep_every
        self.last_step: int | None = None

    def save_now(self, step: int) -> Path | None:
        if self.last_step == step:
            return None
        path = checkpoint.save(self.run_dir, step, self.model.state_variables(), self.keep_every)
        self.last_step = step
        return path

    def on_train_batch_end(self, batch, logs=None):
        step = batch + 1
        if step % self.every == 0 or (self.keep_every and step % self.keep_every == 0):
            self.save_now(step)
