"""Training studio: watch a GAN learn. A local Gradio app over `training.train.run_training` (no second loop).

    python -m training.studio [--port 7861] [--runs runs] [--exported exported]

Pick a dataset (including folder:PATH), model, loss and hyperparameters; start, pause and stop a run that trains
in a background thread; watch D and G losses and D's accuracy as live charts and the fixed-seed sample grid
change epoch by epoch; resume an earlier run; export the generator to a verified bundle and animate it at once.
Local only: it binds 127.0.0.1 and can read and write the run and bundle folders.
"""

from __future__ import annotations

import argparse
import csv
import os
import tempfile
import threading
import time
import traceback
from pathlib import Path

import gradio as gr

from serving.atomic import write_atomic
from serving.errors import GanimateError, InputError
from training.data import DATASETS
from training.options import LOSSES, MODELS, TrainOptions, resumed_options
from training.train import Control, run_training

ROOT = Path(__file__).resolve().parents[1]


class Session:
    """The one run this studio drives: its options, thread, control and last error."""

    def __init__(self, runs: Path, exported: Path) -> None:
        self.runs, self.exported = runs, exported
        self.opts: TrainOptions | None = None
        self.thread: threading.Thread | None = None
        self.control = Control()
        self.error = ""
        self.finished = False
        self.lock = threading.Lock()

    @property
    def active(self) -> bool:
        return self.thread is not None and self.thread.is_alive()

    def start(self, opts: TrainOptions, resume: bool) -> str:
        with self.lock:
            if self.active:
                raise gr.Error("a run is already training: stop it first")
            run_dir = Path(opts.out)
            if not resume and run_dir.exists() and any(run_dir.iterdir()):
                raise gr.Error(f"{run_dir} already exists: tick Resume to continue it, or choose another run name")
            if resume and not (run_dir / "options.json").exists():
                raise gr.Error(f"{run_dir} has no run to resume")
            if resume:  # the stored options win, as with --resume; the form's length applies
                opts = resumed_options(run_dir, {"epochs": opts.epochs, "max_steps": opts.max_steps}, strict=False)
            self.opts, self.control, self.error, self.finished = opts, Control(), "", False
            self.thread = threading.Thread(target=self._train, args=(opts, resume), daemon=True, name="studio-train")
            self.thread.start()
        return f"training {run_dir.name}" + (" (resumed)" if resume else "")

    def _train(self, opts: TrainOptions, resume: bool) -> None:
        try:
            run_training(opts, resume=resume, verbose=False, control=self.control)
        except GanimateError as exc:  # a refused option, NaN losses, a checkpoint that does not fit: one line
            self.error = str(exc)
        except Exception as exc:  # shown in the status box; the studio keeps serving
            self.error = f"{type(exc).__name__}: {exc}"
            traceback.print_exc()
        finally:
            self.finished = True


# The one default the studio changes: it opens on class-conditional MNIST, so a learner sees each digit class learn.
STUDIO_CONDITIONAL = True


def parse_options(
    session: Session,
    dataset,
    model,
    conditional,
    loss,
    latent_dim,
    batch_size,
    lr,
    epochs,
    max_steps,
    ema,
    spectral_norm,
    augment,
    width,
    log_every,
    run_name,
) -> TrainOptions:
    """TrainOptions from the form, validated like the CLI; any mistake is one gr.Error."""
    name = str(run_name or "").strip()
    if not name or "/" in name or name.startswith("."):
        raise gr.Error("run name must be a plain folder name, like mnist-studio")
    try:
        opts = TrainOptions(
            dataset=str(dataset).strip(),
            model=str(model),
            conditional=bool(conditional),
            loss=str(loss),
            latent_dim=int(latent_dim),
            batch_size=int(batch_size),
            lr=float(lr),
            epochs=int(epochs),
            max_steps=int(max_steps) if max_steps else None,
            ema=float(ema),
            spectral_norm=bool(spectral_norm),
            augment=bool(augment),
            width=int(width) if width else None,
            log_every=int(log_every),
            sample_every=1,
            checkpoint_every=max(50, int(log_every) * 10),
            out=str(session.runs / name),
        )
        opts.validate()
    except (TypeError, ValueError, InputError) as exc:  # int()/float() of form text, or a refused option
        raise gr.Error(str(exc)) from None
    return opts


def history_rows(run_dir: Path) -> list[dict]:
    path = run_dir / "history.csv"
    if not path.exists():
        return []
    with path.open() as f:
        return [r for r in csv.DictReader(f) if r.get("kind") == "step" or r.get("kind") == "epoch"]


def status(session: Session):
    """(status text, losses chart data, accuracy chart data, latest sample grid, history row count)."""
    import pandas as pd

    if session.opts is None:
        return "idle: choose options and press Start", None, None, None, 0
    run_dir = Path(session.opts.out)
    rows = history_rows(run_dir)
    losses = pd.DataFrame(
        [
            {"step": int(r["step"]), "loss": float(r[k]), "series": k}
            for r in rows
            for k in ("d_loss", "g_loss")
            if r.get(k)
        ]
    )
    accuracy = pd.DataFrame(
        [
            {"step": int(r["step"]), "accuracy": float(r[k]), "series": k}
            for r in rows
            for k in ("d_acc_real", "d_acc_fake")
            if r.get(k)
        ]
    )
    samples = sorted((run_dir / "samples").glob("*.png"), key=lambda p: p.stat().st_mtime)
    state = (
        ("error: " + session.error)
        if session.error
        else (
            "training"
            if session.active and session.control.running.is_set()
            else "paused"
            if session.active
            else ("stopped" if session.control.stop.is_set() else "finished")
            if session.finished
            else "starting"
        )
    )
    last = rows[-1] if rows else {}
    text = f"{run_dir.name}: {state}" + (
        f" · step {last.get('step')} · {float(last.get('images_per_s') or 0):.0f} images/s" if last else ""
    )
    sample = None
    if samples:  # a copy: Gradio serves only its cache and the temp folder, never the run folder itself
        target = Path(tempfile.gettempdir()) / "ganimate-studio" / f"{run_dir.name}-{samples[-1].name}"
        if not target.exists() or target.stat().st_mtime < samples[-1].stat().st_mtime:  # the tick runs every 2 s
            write_atomic(target, samples[-1].read_bytes())
        sample = str(target)
    return text, (losses if len(losses) else None), (accuracy if len(accuracy) else None), sample, len(rows)


def _start_handler(session: Session):
    """Start (or resume) a run from the form; the parameter names are the /start API's."""

    def on_start(
        dataset,
        model,
        conditional,
        loss,
        latent_dim,
        batch_size,
        lr,
        epochs,
        max_steps,
        ema,
        spectral_norm,
        augment,
        width,
        log_every,
        run_name,
        resume,
    ):
        form = (dataset, model, conditional, loss, latent_dim, batch_size, lr, epochs, max_steps, ema, spectral_norm)
        opts = parse_options(session, *form, augment, width, log_every, run_name)
        return session.start(opts, bool(resume))

    return on_start


def _handlers(session: Session):
    """The studio's buttons: start (or resume), pause/continue, stop, export the stopped run and animate it."""

    def on_pause():
        if not session.active:
            raise gr.Error("no run is training")
        (session.control.running.clear if session.control.running.is_set() else session.control.running.set)()
        return "paused" if not session.control.running.is_set() else "continuing"

    def on_stop(timeout_s: float = 120.0):
        if not session.active:
            return "no run is training"
        session.control.stop.set()
        session.thread.join(timeout_s)  # the loop checkpoints before it returns
        return "stopped; checkpoint written" if not session.active else "stopping…"

    def on_export(bundle_name):
        from serving import Generator, Recipe, render
        from training.export import TrainingError, export_run

        if session.opts is None:
            raise gr.Error("start or resume a run first")
        if session.active:
            raise gr.Error("pause is not enough: stop the run before exporting its last checkpoint")
        name = str(bundle_name or "").strip()
        if not name or "/" in name or name.startswith("."):
            raise gr.Error("bundle name must be a plain folder name")
        try:
            out = export_run(Path(session.opts.out), session.exported / name, force=True)
        except TrainingError as exc:
            raise gr.Error(str(exc)) from None
        gen = Generator.from_pretrained(out)
        seeds = (1, 2, 3, 4)
        gif = render(gen, Recipe(seeds=seeds, path="cubic", frames=16, size=256, bundle_sha256=gen.config.sha256))
        path = write_atomic(Path(tempfile.gettempdir()) / "ganimate-studio" / f"{name}-{time.time_ns()}.gif", gif)
        return (
            f"exported {out} (sha256 {gen.config.sha256[:12]}…, parity {gen.config.parity_max_abs_diff:.1e}); "
            f"open it in the Space: GANIMATE_MODEL={out} python space/app.py"
        ), str(path)

    return on_pause, on_stop, on_export


def _progress(session: Session) -> tuple:
    """The studio's right column: status, loss and accuracy charts, the latest samples, export and its animation."""
    state = gr.Textbox(label="Status", interactive=False)
    losses = gr.LinePlot(x="step", y="loss", color="series", label="Losses", height=220)
    accuracy = gr.LinePlot(x="step", y="accuracy", color="series", label="D accuracy", height=220, y_lim=[0, 1])
    sample = gr.Image(label="Fixed-seed samples (latest epoch)", type="filepath", interactive=False)
    rows = gr.Number(label="History rows", visible=False)
    with gr.Row():
        export_name = gr.Textbox("studio-model", label="Bundle name", info=f"folder under {session.exported}")
        export = gr.Button("Export bundle")
    exported_info = gr.Textbox(label="Export", interactive=False)
    animation = gr.Image(label="Animate: the exported bundle", type="filepath", interactive=False)
    return state, losses, accuracy, sample, rows, export_name, export, exported_info, animation


def build(session: Session) -> gr.Blocks:
    d = TrainOptions()  # the trainer's defaults are the studio's: one recipe, whichever way a run starts
    with gr.Blocks(title="ganimate studio") as app:
        gr.Markdown("# ganimate studio\nTrain a GAN and watch it learn. Everything runs on this machine.")
        with gr.Row():
            with gr.Column(scale=1):
                dataset = gr.Dropdown(
                    [k for k, kind in DATASETS.items() if ":" not in kind.shown],
                    value=d.dataset,
                    allow_custom_value=True,
                    label="Dataset",
                    info="or type folder:PATH",
                )
                model = gr.Dropdown(list(MODELS), value=d.model, label="Model")
                conditional = gr.Checkbox(STUDIO_CONDITIONAL, label="Conditional (class labels)")
                loss = gr.Dropdown(list(LOSSES), value=d.loss, label="Loss")
                with gr.Row():
                    latent_dim = gr.Number(d.latent_dim, label="Latent dim", precision=0)
                    batch_size = gr.Number(d.batch_size, label="Batch", precision=0)
                with gr.Row():
                    lr = gr.Number(d.lr, label="Learning rate")
                    ema = gr.Number(d.ema, label="EMA decay")
                with gr.Row():
                    epochs = gr.Number(d.epochs, label="Epochs", precision=0)
                    max_steps = gr.Number(0, label="Max steps (0: no cap)", precision=0)
                with gr.Row():
                    width = gr.Number(0, label="Width (0: default)", precision=0)
                    log_every = gr.Number(d.log_every, label="Chart every N steps", precision=0)
                with gr.Row():
                    spectral_norm = gr.Checkbox(d.spectral_norm, label="Spectral norm")
                    augment = gr.Checkbox(d.augment, label="DiffAugment")
                run_name = gr.Textbox("studio-run", label="Run name", info=f"folder under {session.runs}")
                resume = gr.Checkbox(False, label="Resume this run")
                with gr.Row():
                    start = gr.Button("Start", variant="primary")
                    pause = gr.Button("Pause / continue")
                    stop = gr.Button("Stop", variant="stop")
            with gr.Column(scale=2):
                state, losses, accuracy, sample, rows, export_name, export, exported_info, animation = _progress(
                    session
                )

        form = [dataset, model, conditional, loss, latent_dim, batch_size, lr, epochs, max_steps, ema, spectral_norm]
        form += [augment, width, log_every, run_name]

        on_pause, on_stop, on_export = _handlers(session)
        on_start = _start_handler(session)
        start.click(on_start, [*form, resume], state, api_name="start")
        pause.click(on_pause, None, state, api_name="pause")
        stop.click(on_stop, None, state, api_name="stop")
        export.click(on_export, export_name, [exported_info, animation], api_name="export")
        outputs = [state, losses, accuracy, sample, rows]
        gr.Timer(2.0).tick(lambda: status(session), None, outputs, api_visibility="private", show_progress="hidden")
        gr.Button("Refresh", size="sm").click(lambda: status(session), None, outputs, api_name="status")
    return app


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m training.studio", description=__doc__.splitlines()[0])
    p.add_argument("--port", type=int, default=7861)
    p.add_argument("--runs", default=str(ROOT / "runs"), help="where runs are written")
    p.add_argument("--exported", default=str(ROOT / "exported"), help="where bundles are exported")
    args = p.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    build(Session(Path(args.runs), Path(args.exported))).queue(default_concurrency_limit=4).launch(
        server_name="127.0.0.1", server_port=args.port
    )


if __name__ == "__main__":
    main()
