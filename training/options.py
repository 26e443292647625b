"""Training options: one dataclass, parsed from the command line, stored as `options.json` in the run folder."""

from __future__ import annotations

import argparse
import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

from serving.errors import InputError
from training.data import DEFAULT_SIZES, PARAM_KINDS, SUPPORTED_SIZES, dataset_kind, dataset_names

# The registries a model family or a loss is added to (datasets: training/data.py DATASETS). The CLI's choices
# and help, the studio's menus and the exported config's model_family all read these.
# --model name -> (what it is, for --help; model_family in config.json)
MODELS: dict[str, tuple[str, str]] = {
    "dcgan": ("a DCGAN generator (the default)", "dcgan"),
    "vae": ("a variational autoencoder's decoder", "vae"),
    "params": ("a GAN of math-art parameters, drawn inside model.onnx", "params-gan"),
}

# What --eval-every checks by default: the shipped MNIST card's figures (training/quality.py measures them).
DEFAULT_QUALITY = "fcd_ratio<=2,recall>=0.6"

# Compute precision of training: float32, or Keras' mixed_bfloat16 (bf16 maths, float32 weights), which CPUs with
# AVX-512 BF16 or AMX and recent GPUs run natively. Export always writes a float32 model.
PRECISIONS = ("float32", "mixed_bfloat16")

# How a GAN step updates D and G: both from one pass (simultaneous, fastest); D first, then G on fresh noise
# (alternating, the classic step); or D first, then G scoring the fakes D's update saw (reuse: one G pass fewer).
UPDATES = ("simultaneous", "alternating", "reuse")

# The class head's loss with --class-weight: softmax cross-entropy (AC-GAN) or the multi-class hinge (MHingeGAN).
CLASS_LOSSES = ("ce", "hinge")

# The GAN losses (training/gan.py implements them; a loss named here also sets model_family when it is its own
# family, as WGAN-GP is); here so that --help and --dry-run need no TensorFlow.
LOSSES: dict[str, str] = {
    "bce": "non-saturating, the default",
    "hinge": "hinge",
    "wgan-gp": "Wasserstein with gradient penalty",
}
LOSS_FAMILIES = {"wgan-gp": "wgan-gp"}


def model_family(model: str, loss: str) -> str:
    """config.json's model_family for a run's --model and --loss."""
    family = MODELS[model][1]
    return LOSS_FAMILIES.get(loss, family) if family == "dcgan" else family


@dataclass
class TrainOptions:
    dataset: str = "mnist-sample"
    model: str = "dcgan"
    conditional: bool = False
    epochs: int = 50
    max_steps: int | None = None
    batch_size: int = 128
    latent_dim: int = 64
    loss: str = "bce"
    label_smoothing: float = 0.0
    spectral_norm: bool = False
    ema: float = 0.999
    augment: bool = False
    class_weight: float | None = None
    class_loss: str = "ce"
    updates: str = "simultaneous"
    microbatches: int | None = None
    class_norm: bool | None = None
    lr: float = 2e-4
    d_lr: float | None = None
    lr_decay: float = 0.0
    beta1: float = 0.5
    beta2: float = 0.999
    width: int | None = None
    image_size: int | None = None
    dataset_size: int = 10000
    seed: int = 0
    jit: bool = False
    precision: str = "float32"
    log_every: int = 50
    checkpoint_every: int = 500
    sample_every: int = 5
    eval_every: int | None = None
    devices: int | None = None
    worker_timeout: int = 300
    quality: str = DEFAULT_QUALITY
    out: str = "runs/run"

    def resolved_image_size(self) -> int:
        return self.image_size or DEFAULT_SIZES[dataset_kind(self.dataset)]

    def resolved_width(self) -> int:
        if self.model == "params":
            return self.width or 256  # hidden units of the parameter MLPs
        # Narrower networks at 64x64 keep CPU training practical; GPUs can afford --width 64.
        return self.width or {28: 32, 32: 32, 64: 16}[self.resolved_image_size()]

    def resolved_class_weight(self) -> float:
        """Weight of the class head's loss (see --class-loss), 0 (off) unless given. The head raises class accuracy
        and costs fidelity (FCD) as its weight grows; docs/training.md describes the trade-off. Off by
        default (it needs a conditional image GAN); the shipped MNIST recipe passes --class-weight 0.03
        --class-loss hinge."""
        return self.class_weight or 0.0

    def resolved_microbatches(self, gpus: int = 0) -> int:
        """Parts each step's batch is cut into (training/gan.py `_parts`): given, or on a CPU as many parts of at
        least 32 rows as the batch holds, at most 4 (batch 128: 4, batch 64: 2), and 1 on GPUs, which want the
        whole batch in one piece. python -m bench.train_speed measures each count side by side."""
        if self.microbatches is not None:
            return self.microbatches
        return max(1, min(4, self.batch_size // 32)) if gpus == 0 else 1

    def resolved_class_norm(self) -> bool:
        """Class-conditional batch norm in G: off unless asked for (on MNIST it bought nothing over conditioning at
        the input alone)."""
        return bool(self.class_norm) and self.conditional and self.model in ("dcgan", "vae")

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> TrainOptions:
        raw = json.loads(text)
        known = {f.name for f in dataclasses.fields(cls)}
        raw.setdefault("class_weight", 0.0)  # runs from before the option had no classifier head
        raw.setdefault("class_loss", "ce")  # ... and a cross-entropy head when it had one
        raw.setdefault("updates", "alternating")  # ... and updated D, then G
        raw.setdefault("class_norm", False)  # ... and conditioned G at its input only
        raw.setdefault("microbatches", 1)  # ... and took each step's gradient in one piece
        return cls(**{k: v for k, v in raw.items() if k in known})

    def validate(self) -> None:
        """Raise InputError naming the first bad option."""
        self._check_names_and_counts()
        self._check_model_fits_data()
        self._check_rates_and_scale()

    def _check_names_and_counts(self) -> None:
        try:
            dataset_kind(self.dataset)
        except ValueError as exc:
            raise InputError(str(exc)) from None
        if self.model not in MODELS:
            raise InputError(f"unknown --model {self.model!r}; choose {', '.join(MODELS)}")
        if self.updates not in UPDATES:
            raise InputError(f"unknown --updates {self.updates!r}; choose {', '.join(UPDATES)}")
        if self.class_loss not in CLASS_LOSSES:
            raise InputError(f"unknown --class-loss {self.class_loss!r}; choose {', '.join(CLASS_LOSSES)}")
        if self.precision not in PRECISIONS:
            raise InputError(f"unknown --precision {self.precision!r}; choose {', '.join(PRECISIONS)}")
        if self.loss not in LOSSES:
            raise InputError(f"unknown --loss {self.loss!r}; choose {', '.join(LOSSES)}")
        for name in (
            "epochs",
            "batch_size",
            "latent_dim",
            "log_every",
            "checkpoint_every",
            "sample_every",
            "max_steps",
            "width",
        ):
            if getattr(self, name) is not None and getattr(self, name) <= 0:
                raise InputError(f"--{name.replace('_', '-')} must be positive, got {getattr(self, name)}")
        if self.microbatches is not None and not 1 <= self.microbatches <= self.batch_size // 2:
            raise InputError(
                f"--microbatches must be 1..{self.batch_size // 2} (half of --batch-size), got {self.microbatches}"
            )

    def _check_model_fits_data(self) -> None:
        params_data = dataset_kind(self.dataset) in PARAM_KINDS
        if (self.model == "params") != params_data:
            raise InputError(
                "--model params trains on --dataset mathart-params or params:FILE.csv, and only it does"
                if self.model == "params"
                else f"--dataset {self.dataset} holds parameter vectors; train it with --model params"
            )
        if self.model == "params":
            if not self.conditional:
                raise InputError("--model params is conditional on the family: add --conditional")
            if self.augment:
                raise InputError("--augment works on images; the parameter GAN sees parameter vectors")
            if self.image_size is not None:
                raise InputError("--image-size does not apply to --model params (it draws at 256x256)")
        if self.image_size is not None and self.image_size not in SUPPORTED_SIZES:
            raise InputError(f"--image-size must be one of {', '.join(map(str, SUPPORTED_SIZES))}")

    def _check_rates_and_scale(self) -> None:
        if not 0.0 <= self.ema < 1.0:
            raise InputError(f"--ema must be in [0, 1), got {self.ema} (0 turns EMA off)")
        if not 0.0 <= self.label_smoothing < 0.5:
            raise InputError(f"--label-smoothing must be in [0, 0.5), got {self.label_smoothing}")
        for name in ("lr", "d_lr"):
            value = getattr(self, name)
            if value is not None and not 0.0 < value < 1.0:
                raise InputError(f"--{name.replace('_', '-')} must be in (0, 1), got {value}")
        if not 0.0 <= self.lr_decay <= 1.0:
            raise InputError(f"--lr-decay must be in [0, 1] (a share of the run's steps), got {self.lr_decay}")
        if not 0.0 <= self.beta1 < 1.0 or not 0.0 <= self.beta2 < 1.0:
            raise InputError("--beta1 and --beta2 must be in [0, 1)")
        if self.class_weight is not None:
            if not 0.0 <= self.class_weight <= 100.0:
                raise InputError(f"--class-weight must be in [0, 100], got {self.class_weight}")
            if self.class_weight > 0 and not (self.conditional and self.model == "dcgan"):
                raise InputError("--class-weight needs a conditional image GAN: --model dcgan --conditional")
        if self.devices is not None and not 1 <= self.devices <= 64:
            raise InputError(f"--devices must be in 1..64, got {self.devices}")
        if self.devices and self.batch_size % self.devices:
            raise InputError(f"--batch-size {self.batch_size} must split evenly over --devices {self.devices}")
        if not 10 <= self.worker_timeout <= 86_400:
            raise InputError(f"--worker-timeout must be in 10..86400 seconds, got {self.worker_timeout}")
        if self.eval_every is not None:
            if self.eval_every <= 0:
                raise InputError(f"--eval-every must be positive, got {self.eval_every}")
            if self.model == "params":
                raise InputError("--eval-every measures image models; evaluate a params model with training.evaluate")
        if self.dataset_size <= 0:
            raise InputError(f"--dataset-size must be positive, got {self.dataset_size}")


EXAMPLES = """examples:
  python -m training.train --dataset mnist-sample --model dcgan --conditional --epochs 50 --out runs/mnist-cdcgan
  python -m training.train --dataset mathart --model dcgan --augment --epochs 40 --out runs/mathart-dcgan
  python -m training.train --dataset folder:./faces --image-size 64 --loss hinge --spectral-norm --out runs/faces
  python -m training.train --dataset mnist-sample --model vae --conditional --out runs/mnist-cvae
  python -m training.train --dataset mathart-params --model params --conditional --loss hinge --spectral-norm \\
      --lr 1e-4 --d-lr 2e-4 --beta1 0 --beta2 0.9 --ema 0.9995 --batch-size 256 --latent-dim 32 --max-steps 36000 \\
      --epochs 5000 --out runs/mathart-params
  python -m training.train --out runs/mnist-cdcgan --resume --epochs 80      # continue a run
  python -m training.train ... --devices 2 --out runs/two        # two GPUs, or the CPU split into two devices
  TF_CONFIG="$(...)" python -m training.train ... --out runs/x     # one per host; see python -m training.distribute
GPU: pip install 'tensorflow[and-cuda]==2.21.0' in place of tensorflow-cpu; several GPUs are used automatically.
"""


def _data_and_model_args(p: argparse.ArgumentParser, d: TrainOptions) -> None:
    """What is trained: the data, the model family, its size and its loss."""
    p.add_argument("--dataset", default=None, help=f"{dataset_names()} (default {d.dataset})")
    p.add_argument(
        "--model",
        default=None,
        choices=list(MODELS),
        help="; ".join(f"{name}: {what}" for name, (what, _) in MODELS.items()),
    )
    p.add_argument("--conditional", action="store_true", default=None, help="condition on class labels")
    p.add_argument("--epochs", type=int, default=None, help=f"passes over the data (default {d.epochs})")
    p.add_argument("--max-steps", type=int, default=None, help="stop after this many steps in total")
    p.add_argument("--batch-size", type=int, default=None, help=f"default {d.batch_size}")
    p.add_argument("--latent-dim", type=int, default=None, help=f"default {d.latent_dim}")
    p.add_argument(
        "--loss", default=None, choices=list(LOSSES), help="; ".join(f"{name}: {what}" for name, what in LOSSES.items())
    )


def _recipe_args(p: argparse.ArgumentParser, d: TrainOptions) -> None:
    """The GAN recipe's features: smoothing, spectral norm, EMA, augmentation, the class head, updates."""
    p.add_argument("--label-smoothing", type=float, default=None, help="one-sided, for bce (e.g. 0.1)")
    p.add_argument("--spectral-norm", action="store_true", default=None, help="spectral normalisation in D")
    p.add_argument("--ema", type=float, default=None, help=f"EMA decay of G's weights, 0 = off (default {d.ema})")
    p.add_argument("--augment", action="store_true", default=None, help="differentiable augmentation (small data)")
    p.add_argument(
        "--class-weight",
        type=float,
        default=None,
        help="class head (AC-GAN) loss weight, with --conditional dcgan: raises class accuracy at some cost "
        "in FCD (the shipped digit recipe: 0.03 with --class-loss hinge); default 0 (off)",
    )
    p.add_argument(
        "--class-loss",
        default=None,
        choices=CLASS_LOSSES,
        help="the class head's loss: ce (AC-GAN cross-entropy, default) or hinge (multi-class hinge, "
        "which stops pushing once a digit is classified with a margin)",
    )
    p.add_argument(
        "--class-norm",
        default=None,
        action=argparse.BooleanOptionalAction,
        help="class-conditional batch norm in the generator (with --conditional; default off)",
    )
    p.add_argument(
        "--updates",
        default=None,
        choices=UPDATES,
        help="simultaneous (default: one G and D pass per step), alternating (D, then G on fresh noise) or reuse (D, then G scoring the same fakes: one G pass fewer)",
    )
    p.add_argument(
        "--microbatches",
        type=int,
        default=None,
        help="cut each step's batch into N parts whose gradients are summed (the same step); the parts run "
        "at once on the CPU's cores (default on a CPU: parts of 32 rows or more, at most 4; 1 on GPUs)",
    )


def _optimizer_args(p: argparse.ArgumentParser, d: TrainOptions) -> None:
    """The optimiser and the data: rates, schedule, width, sizes, seed, compilation."""
    p.add_argument("--lr", type=float, default=None, help=f"Adam learning rate (default {d.lr})")
    p.add_argument("--d-lr", type=float, default=None, help="D's learning rate (default: --lr)")
    p.add_argument(
        "--lr-decay", type=float, default=None, help="both rates fall linearly to 0 over this last share of steps"
    )
    p.add_argument("--beta1", type=float, default=None, help=f"Adam beta1 (default {d.beta1})")
    p.add_argument(
        "--beta2", type=float, default=None, help=f"Adam beta2 (default {d.beta2}; 0.9 with hinge + spectral norm)"
    )
    p.add_argument("--width", type=int, default=None, help="base channel width (default 32, or 16 at 64x64)")
    p.add_argument("--image-size", type=int, default=None, help="28, 32 or 64 (default: the dataset's own)")
    p.add_argument(
        "--dataset-size",
        type=int,
        default=None,
        help=f"mathart images or parameter vectors to draw (default {d.dataset_size})",
    )
    p.add_argument("--seed", type=int, default=None, help="seeds data order, noise and initial weights")
    p.add_argument("--jit", action="store_true", default=None, help="compile the train step with XLA")


def _run_args(p: argparse.ArgumentParser, d: TrainOptions) -> None:
    """How the run goes: precision, records, devices, quality probes and its folder."""
    p.add_argument(
        "--precision",
        default=None,
        choices=PRECISIONS,
        help="float32 (default) or mixed_bfloat16 (bf16 maths, float32 weights; fast on CPUs with "
        "AVX-512 BF16/AMX and on recent GPUs)",
    )
    p.add_argument("--log-every", type=int, default=None, help=f"history row every N steps (default {d.log_every})")
    p.add_argument("--checkpoint-every", type=int, default=None, help=f"default {d.checkpoint_every} steps")
    p.add_argument(
        "--sample-every", type=int, default=None, help=f"sample grid every N epochs (default {d.sample_every})"
    )
    p.add_argument(
        "--devices",
        type=int,
        default=None,
        help="replicas for tf.distribute: N GPUs, or the CPU split into N devices (default: every GPU)",
    )
    p.add_argument(
        "--worker-timeout",
        type=int,
        default=None,
        help="multi-worker (TF_CONFIG): seconds before a silent worker stops the run (default 300)",
    )
    p.add_argument(
        "--eval-every",
        type=int,
        default=None,
        help="measure FCD ratio, precision, recall, class accuracy every N steps (quality.csv) and print "
        "when the --quality targets are first met",
    )
    p.add_argument("--quality", default=None, help=f"targets for --eval-every (default {DEFAULT_QUALITY})")
    p.add_argument("--out", default=None, help="run folder (required)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    p.add_argument("--dry-run", action="store_true", help="print the resolved options and exit")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m training.train",
        description="Train a GAN or VAE generator; the run folder is what `python -m training.export` reads.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    d = TrainOptions()
    _data_and_model_args(p, d)
    _recipe_args(p, d)
    _optimizer_args(p, d)
    _run_args(p, d)
    return p


# Options that may change when a run is resumed; everything else comes from the stored options.json.
RESUMABLE_OVERRIDES = (
    "epochs",
    "max_steps",
    "jit",
    "log_every",
    "checkpoint_every",
    "sample_every",
    "eval_every",
    "quality",
    "devices",
    "worker_timeout",
)


def resolve(args: argparse.Namespace) -> TrainOptions:
    """Merge the command line over defaults (or over the stored options when resuming), then validate."""
    given = {
        f.name: getattr(args, f.name)
        for f in dataclasses.fields(TrainOptions)
        if getattr(args, f.name, None) is not None
    }
    if not args.out:
        raise InputError("--out is required: the run folder to write (or to resume with --resume)")
    opts = resumed_options(Path(args.out), given, strict=True) if args.resume else TrainOptions(**given)
    opts.validate()
    return opts


def resumed_options(out: Path, given: dict, strict: bool) -> TrainOptions:
    """The resume rule, for the CLI and the studio: the run's stored options win; only RESUMABLE_OVERRIDES may
    change. `strict` refuses any other option that differs (CLI); otherwise those are ignored (studio form)."""
    stored = out / "options.json"
    if not stored.exists():
        raise InputError(f"--resume: {out} has no options.json; start a new run without --resume")
    opts = TrainOptions.from_json(stored.read_text())
    changed = [k for k in given if k not in RESUMABLE_OVERRIDES and k != "out" and given[k] != getattr(opts, k)]
    if changed and strict:
        raise InputError(f"--resume cannot change {', '.join('--' + c.replace('_', '-') for c in changed)}")
    return dataclasses.replace(opts, **{k: v for k, v in given.items() if k in RESUMABLE_OVERRIDES}, out=str(out))
