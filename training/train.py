"""Train a GAN or VAE generator into a run folder.

    python -m training.train --dataset mnist --model dcgan --conditional --epochs 50 --batch-size 128 \
        --latent-dim 64 --loss bce --seed 0 --out runs/mnist-cdcgan

The run folder holds options.json, checkpoints/ (the last 3 and every --eval-every step), history.csv, loss.png and samples/. `--resume`
continues from the last checkpoint and ends where an uninterrupted run would; Ctrl-C checkpoints first.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from serving.atomic import write_atomic
from serving.errors import GanimateError, InputError
from training.data import Dataset
from training.options import TrainOptions, build_parser, resolve

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def _check_out_dir(opts: TrainOptions, resume: bool) -> None:
    out = Path(opts.out)
    if not resume and out.exists() and any(out.iterdir()):
        raise InputError(f"run folder {out} already exists; use --resume to continue it or choose another --out")
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / f".write-test-{os.getpid()}"
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        raise InputError(f"cannot write to --out {out}: {exc.strerror or exc}") from None


class Control:
    """Pause and stop a run from another thread (the studio): checked between steps; stop checkpoints first."""

    def __init__(self) -> None:
        import threading

        self.stop = threading.Event()
        self.running = threading.Event()  # cleared = paused
        self.running.set()

    def wait_while_paused(self) -> None:
        while not self.running.wait(0.2) and not self.stop.is_set():
            pass


def run_training(
    opts: TrainOptions,
    resume: bool = False,
    data: Dataset | None = None,
    verbose: bool = True,
    control: Control | None = None,
    report: dict | None = None,
) -> Path:
    """Train per `opts` into `opts.out`; returns the run folder. `data` overrides loading (tests use it);
    `control` lets another thread pause or stop the run between steps; `report`, when given, receives the final
    step, the replica count, whether this process is the chief, and a sha256 of the generator's weights."""
    from training.tf_setup import import_tensorflow

    tf = import_tensorflow()  # first: quiet, and set up as every run expects
    from training.build import build_model, resolved_microbatches
    from training.distribute import is_chief, make_strategy
    from training.tf_setup import configure_threads

    configure_threads(resolved_microbatches(opts) if opts.model != "vae" else 1)  # before TensorFlow runs anything
    strategy = make_strategy(opts.devices, opts.worker_timeout)
    chief = is_chief(strategy)  # only the chief writes the run folder
    run_dir = Path(opts.out)
    data, steps_per_epoch, total_steps = _prepare_data(opts, data, strategy.num_replicas_in_sync, run_dir, chief)
    with strategy.scope():
        model = build_model(opts, data.image_shape[2], data.num_classes, total_steps=total_steps)
    start_step = _restore(model, run_dir, verbose) if resume else 0

    # The compiled step; the data stream skips what the checkpointed run already consumed.
    from training.data import make_pipeline

    dataset = make_pipeline(data, opts.batch_size, opts.seed, start_step)
    if strategy.num_replicas_in_sync > 1:
        dataset = strategy.experimental_distribute_dataset(dataset)

    def one_step(batch):
        per_replica = strategy.run(model.train_step, args=(batch,))
        return {k: strategy.reduce(tf.distribute.ReduceOp.MEAN, v, axis=None) for k, v in per_replica.items()}

    loop = _Loop(
        tf.function(one_step, jit_compile=opts.jit, reduce_retracing=True),
        iter(dataset),
        model,
        *_callbacks(opts, data, run_dir, chief, model, steps_per_epoch, total_steps, start_step, verbose),
        steps_per_epoch,
        total_steps,
        chief,
        strategy.extended._in_multi_worker_mode(),
    )  # noqa: SLF001
    step = _train_loop(loop, start_step, opts.worker_timeout, control, verbose)
    if report is not None:  # what every worker can compare: the generator's weights after the last step
        report.update(
            step=step,
            weights_sha256=weights_sha256(model.sampling_generator),
            chief=chief,
            replicas=strategy.num_replicas_in_sync,
        )
    return run_dir


def _prepare_data(
    opts: TrainOptions, data: Dataset | None, replicas: int, run_dir: Path, chief: bool
) -> tuple[Dataset, int, int]:
    """(dataset, steps per epoch, total steps) after the checks that need the data; the chief writes
    options.json and dataset.json into the run folder."""
    from training.data import dataset_sha256, load_dataset

    if data is None:
        data = load_dataset(opts.dataset, opts.image_size, opts.dataset_size)
    if opts.batch_size > len(data.images):
        raise InputError(f"--batch-size {opts.batch_size} is larger than the dataset ({len(data.images)} images)")
    if opts.conditional and data.num_classes < 2:
        raise InputError(f"--conditional needs class labels, but dataset {opts.dataset} has none")
    if opts.batch_size % replicas:
        raise InputError(f"--batch-size {opts.batch_size} must split evenly over {replicas} replicas")
    steps_per_epoch = len(data.images) // opts.batch_size
    total_steps = opts.epochs * steps_per_epoch
    if opts.max_steps:
        total_steps = min(total_steps, opts.max_steps)
    if chief:
        run_dir.mkdir(parents=True, exist_ok=True)
        write_atomic(run_dir / "options.json", (opts.to_json() + "\n").encode())
        facts = {
            "name": data.name,
            "spec": opts.dataset,
            "sha256": dataset_sha256(data),
            "source": data.source,
            "class_names": data.class_names,
            "image_shape": data.image_shape,
            "train_images": len(data.images),
            "val_images": len(data.val_images),
            "test_images": len(data.test_images),
            "notes": data.notes,
        }
        write_atomic(run_dir / "dataset.json", (json.dumps(facts, indent=2) + "\n").encode())
    return data, steps_per_epoch, total_steps


def _restore(model, run_dir: Path, verbose: bool) -> int:
    """The step of the run's last checkpoint, its exact state (model, optimizers, RNG) restored into `model`."""
    from training import checkpoint

    found = checkpoint.latest_checkpoint(run_dir)
    if found is None:
        raise InputError(f"--resume: {run_dir} has no checkpoint yet; start it again without --resume")
    start_step = checkpoint.restore(found[1], model.state_variables())
    if verbose:
        print(f"resumed {run_dir} at step {start_step}")
    return start_step


def _callbacks(
    opts: TrainOptions,
    data: Dataset,
    run_dir: Path,
    chief: bool,
    model,
    steps_per_epoch: int,
    total_steps: int,
    start_step: int,
    verbose: bool,
) -> tuple:
    """(Keras callback list, checkpointer, progress bar or None): what the chief writes as the run goes."""
    import keras

    from training.callbacks import Checkpointer, HistoryLogger, SampleGrid

    def printer(row):
        if verbose and not sys.stdout.isatty():
            print(_format_row(row), flush=True)

    saver = Checkpointer(run_dir, opts.checkpoint_every, opts.eval_every)
    side_effects = [
        HistoryLogger(run_dir, opts.log_every, opts.batch_size, steps_per_epoch, start_step, printer),
        SampleGrid(
            run_dir,
            opts.latent_dim,
            data.class_names,
            opts.conditional,
            opts.sample_every,
            **({"decode": draw_params} if opts.model == "params" else {}),
        ),
        saver,
    ]
    if opts.eval_every and chief:
        from training.checks import parse_checks
        from training.quality import QualityProbe

        if data.num_classes < 2:
            raise InputError(f"--eval-every needs class labels for its domain classifier; {opts.dataset} has none")
        parse_checks(opts.quality)  # a malformed target is a usage error before any training
        side_effects.append(
            QualityProbe(
                run_dir,
                data,
                opts.dataset,
                opts.eval_every,
                opts.quality,
                opts.latent_dim,
                opts.conditional,
                printer=lambda line: print(line, flush=True),
            )
        )
    callbacks = keras.callbacks.CallbackList(side_effects if chief else [], model=model)
    progress = keras.utils.Progbar(total_steps, stateful_metrics=None) if verbose and sys.stdout.isatty() else None
    return callbacks, saver, progress


@dataclass
class _Loop:
    """What the training loop turns: the compiled step, its data, the model and what watches it."""

    step_fn: Any
    batches: Any
    model: Any
    callbacks: Any
    saver: Any
    progress: Any
    steps_per_epoch: int
    total_steps: int
    chief: bool
    multi_worker: bool


def _train_loop(loop: _Loop, step: int, worker_timeout: float, control: Control | None, verbose: bool) -> int:
    """Run steps from `step` to the end (or until `control` stops it); the last step is checkpointed. Steps are
    global, so epoch boundaries and milestones match an uninterrupted run. Returns the step reached."""
    import tensorflow as tf

    from training.checkpoint import TrainingError
    from training.distribute import Watchdog

    watchdog = Watchdog(worker_timeout, lambda: step) if loop.multi_worker else None
    loop.callbacks.on_train_begin()
    try:
        while step < loop.total_steps:
            if control is not None:
                control.wait_while_paused()
                if control.stop.is_set():
                    break
            step = _advance(loop, step)
            if watchdog is not None:
                watchdog.tick()
    except tf.errors.OpError as exc:
        # A collective that lost its peer fails in the step, or in the next TensorFlow call that reads its
        # results ("the error could be from a previous operation"): either way, one clear line.
        if not loop.multi_worker:
            raise
        raise TrainingError(
            f"a worker of the cluster stopped answering near step {step + 1} ({type(exc).__name__}); the run "
            "stopped. Restart every worker with --resume to continue from the last checkpoint"
        ) from None
    except KeyboardInterrupt:
        path = loop.saver.save_now(step) if loop.chief else None
        print(f"\ninterrupted at step {step}; checkpoint {path or 'already current'}; continue with --resume")
        raise
    finally:
        if watchdog is not None:
            watchdog.stop()
    if loop.chief:
        loop.saver.save_now(step)
    loop.callbacks.on_train_end()
    return step


def _advance(loop: _Loop, step: int) -> int:
    """One training step with its epoch bookkeeping and callbacks; refuses non-finite losses. Returns step + 1."""
    import numpy as np

    from training.checkpoint import TrainingError

    epoch = step // loop.steps_per_epoch
    if step % loop.steps_per_epoch == 0:
        for tracker in loop.model.metrics:
            tracker.reset_state()
        loop.callbacks.on_epoch_begin(epoch)
    logs = {k: float(v) for k, v in loop.step_fn(next(loop.batches)).items()}
    bad = [k for k, v in logs.items() if not np.isfinite(v)]
    if bad:
        raise TrainingError(
            f"{', '.join(bad)} became non-finite at step {step + 1}; training stopped and no checkpoint was "
            "written from these weights. Try a lower --lr, --loss hinge or --spectral-norm, or --resume from "
            "the last checkpoint"
        )
    running = {t.name: float(t.result()) for t in loop.model.metrics}
    loop.callbacks.on_train_batch_end(step, running)
    if loop.progress is not None:
        loop.progress.update(step + 1, list(logs.items()))
    if (step + 1) % loop.steps_per_epoch == 0:
        loop.callbacks.on_epoch_end(epoch, running)
    return step + 1


def weights_sha256(model) -> str:
    """sha256 of a Keras model's weights, in order: equal on every worker of a run that stayed in step."""
    import numpy as np

    digest = hashlib.sha256()
    for w in model.weights:
        digest.update(np.ascontiguousarray(w.numpy()).tobytes())
    return digest.hexdigest()


def draw_params(raw, y):
    """Sample grids of the parameter GAN: its unit parameters drawn by the numpy renderer at 64x64."""
    import numpy as np

    from serving.art import mathart
    from training.data import from_unit_params

    return mathart.render_batch(from_unit_params(raw), np.argmax(y, axis=1), 64)


def _format_row(row: dict) -> str:
    keys = [k for k in row if k not in ("kind",)]
    return " ".join(f"{k}={row[k]}" for k in keys)


def _interrupt_on_signals() -> None:
    """SIGTERM (kill, a scheduler's preemption) and SIGINT both checkpoint and stop, like Ctrl-C.

    Setting SIGINT explicitly matters for runs started in the background, where the shell ignores it.
    """
    import signal

    def handler(signum, frame):
        raise KeyboardInterrupt

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, handler)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        opts = resolve(args)
        if args.dry_run:
            print(opts.to_json())
            return 0
        from training.data import preflight
        from training.distribute import cluster_from_env
        from training.tf_setup import import_tensorflow

        cluster = cluster_from_env()  # a malformed TF_CONFIG is a usage error, before TensorFlow starts
        import_tensorflow()  # before anything else imports it: its start-up lines are noise for a user

        preflight(opts.dataset)
        if cluster is None or cluster.is_chief:  # other workers write nothing into the run folder
            _check_out_dir(opts, args.resume)
        _interrupt_on_signals()
        started = time.perf_counter()
        report: dict = {}
        run_dir = run_training(opts, resume=args.resume, verbose=not args.quiet, report=report)
    except InputError as exc:  # the person can fix the command: usage exit code
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except GanimateError as exc:  # the run itself failed (NaN losses, checkpoint mismatch): one line, exit 1
        print(f"error: {exc}", file=sys.stderr)
        return 1
    where = f"samples in {run_dir / 'samples'}" if report.get("chief", True) else "a worker: the chief writes the run"
    print(
        f"done: {run_dir} in {time.perf_counter() - started:.0f}s ({where}); step {report.get('step')}, "
        f"{report.get('replicas')} replica(s), generator weights sha256 {report.get('weights_sha256', '')[:16]}"
    )
    reached = _quality_reached(run_dir)
    if reached:
        print(reached)
    return 0


def _quality_reached(run_dir: Path) -> str:
    """The line saying when --eval-every's targets were first met (empty when they were not, or not measured)."""
    path = run_dir / "quality.json"
    if not path.is_file():
        return ""
    state = json.loads(path.read_text())
    if "reached_step" not in state:
        return f"quality targets not reached yet (see {run_dir / 'quality.csv'})"
    return (
        f"quality ({state['targets']}) reached at step {state['reached_step']} after "
        f"{state['reached_train_min']:.1f} min of training"
    )


if __name__ == "__main__":
    sys.exit(main())
