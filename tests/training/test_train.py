import csv
import dataclasses
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from serving.errors import InputError
from training import checkpoint
from training.build import build_model
from training.options import TrainOptions
from training.train import main, run_training

TINY = dict(
    dataset="mnist-sample",
    latent_dim=8,
    width=4,
    batch_size=8,
    epochs=1,
    log_every=1,
    checkpoint_every=2,
    sample_every=1,
)


def _generator_weights(run_dir, opts, num_classes):
    model = build_model(opts, 1, num_classes)
    step = checkpoint.restore(checkpoint.latest_checkpoint(run_dir)[1], model.state_variables())
    return step, [w.numpy() for w in model.generator.weights + model.ema_generator.weights]


@pytest.mark.slow
@pytest.mark.parametrize("conditional", [False, True])
def test_resume_equals_uninterrupted(tmp_path, tiny_mnist_like, conditional):
    tf.config.experimental.enable_op_determinism()
    opts = TrainOptions(**TINY, conditional=conditional, augment=True, out=str(tmp_path / "straight"), max_steps=4)
    run_training(opts, data=tiny_mnist_like, verbose=False)

    split = dataclasses.replace(opts, out=str(tmp_path / "split"), max_steps=2)
    run_training(split, data=tiny_mnist_like, verbose=False)
    run_training(dataclasses.replace(split, max_steps=4), resume=True, data=tiny_mnist_like, verbose=False)

    step_a, a = _generator_weights(tmp_path / "straight", opts, 4)
    step_b, b = _generator_weights(tmp_path / "split", opts, 4)
    assert step_a == step_b == 4
    for wa, wb in zip(a, b):
        np.testing.assert_array_equal(wa, wb)


def test_run_folder_contents(tmp_path, tiny_mnist_like):
    opts = TrainOptions(**TINY, conditional=True, out=str(tmp_path / "run"), max_steps=5)
    run_dir = run_training(opts, data=tiny_mnist_like, verbose=False)
    for name in ("options.json", "history.csv", "loss.png", "samples/final.png", "samples/epoch_0001.png"):
        assert (run_dir / name).exists(), name
    assert TrainOptions.from_json((run_dir / "options.json").read_text()) == opts
    with open(run_dir / "history.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert {"d_loss", "g_loss", "d_acc_real", "d_acc_fake", "images_per_s", "wall_s"} <= set(rows[0])
    assert [int(r["step"]) for r in rows if r["kind"] == "step"] == [1, 2, 3, 4]
    assert len(checkpoint.list_checkpoints(run_dir)) <= checkpoint.KEEP


def test_a_short_run_between_rows_still_writes_its_history(tmp_path, tiny_mnist_like):
    opts = TrainOptions(**{**TINY, "log_every": 50, "epochs": 5}, out=str(tmp_path / "run"), max_steps=3)
    run_dir = run_training(opts, data=tiny_mnist_like, verbose=False)
    with open(run_dir / "history.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["kind"], int(r["step"])) for r in rows] == [("step", 3)] and (run_dir / "loss.png").exists()


def test_checkpoints_keep_last_three(tmp_path, tiny_mnist_like):
    opts = TrainOptions(**{**TINY, "checkpoint_every": 1}, out=str(tmp_path / "run"), max_steps=4)
    run_training(opts, data=tiny_mnist_like, verbose=False)
    assert [s for s, _ in checkpoint.list_checkpoints(tmp_path / "run")] == [2, 3, 4]


def test_nan_guard_stops_without_checkpoint(tmp_path, tiny_mnist_like):
    poisoned = dataclasses.replace(tiny_mnist_like, images=np.full_like(tiny_mnist_like.images, np.nan))
    opts = TrainOptions(**TINY, out=str(tmp_path / "run"), max_steps=3)
    with pytest.raises(checkpoint.TrainingError, match="non-finite at step 1"):
        run_training(opts, data=poisoned, verbose=False)
    assert checkpoint.list_checkpoints(tmp_path / "run") == []


def test_checkpoint_refuses_non_finite_weights(tmp_path):
    with pytest.raises(checkpoint.TrainingError):
        checkpoint.save(tmp_path, 1, {"w": np.array([1.0, np.inf], dtype=np.float32)})
    assert checkpoint.list_checkpoints(tmp_path) == []


def test_checkpoint_restores_by_name_and_refuses_a_mismatch(tmp_path):
    """Variables are matched by path, not position: a reordered model restores right, a renamed one is refused."""
    a, b = tf.Variable([1.0, 2.0], name="a"), tf.Variable([3.0, 4.0], name="b")
    path = checkpoint.save(tmp_path, 5, {"g/a": a, "g/b": b})
    x, y = tf.Variable([0.0, 0.0]), tf.Variable([0.0, 0.0])
    assert checkpoint.restore(path, {"g/b": y, "g/a": x}) == 5  # same shapes, other order
    assert x.numpy().tolist() == [1.0, 2.0] and y.numpy().tolist() == [3.0, 4.0]
    with pytest.raises(checkpoint.TrainingError, match="missing g/c; unexpected g/b"):
        checkpoint.restore(path, {"g/a": x, "g/c": y})
    assert y.numpy().tolist() == [3.0, 4.0]  # nothing assigned when the checkpoint does not fit
    old = tmp_path / "checkpoints" / "ckpt-00000001.npz"
    np.savez(old, step=np.int64(1), count=np.int64(1), v0000=np.zeros(2, np.float32))
    with pytest.raises(checkpoint.TrainingError, match="older ganimate"):
        checkpoint.restore(old, {"g/a": x})


@pytest.mark.slow
def test_vae_loss_falls(tmp_path, tiny_mnist_like):
    # A learnable signal: each class is a fixed blob pattern, so reconstruction can improve quickly.
    rng = np.random.default_rng(1)
    patterns = rng.uniform(-1, 1, size=(4, 28, 28, 1)).astype(np.float32)
    data = dataclasses.replace(tiny_mnist_like, images=patterns[tiny_mnist_like.labels])
    opts = TrainOptions(
        **{**TINY, "epochs": 25, "log_every": 4, "sample_every": 100}, model="vae", lr=2e-3, out=str(tmp_path / "vae")
    )
    run_dir = run_training(opts, data=data, verbose=False)
    with open(run_dir / "history.csv") as fh:
        losses = [float(r["loss"]) for r in csv.DictReader(fh) if r["kind"] == "step"]
    assert losses[-1] < 0.8 * losses[0]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--dataset", "imagenet"], "unknown dataset"),
        (["--batch-size", "0"], "--batch-size must be positive"),
        (["--epochs", "-1"], "--epochs must be positive"),
        (["--image-size", "50"], "--image-size must be one of"),
        (["--batch-size", "100000", "--max-steps", "1"], "larger than the dataset"),
        (["--resume"], "has no options.json"),
    ],
)
def test_cli_errors_exit_2_with_one_line(tmp_path, capsys, argv, message):
    code = main([*argv, "--out", str(tmp_path / "run"), "--quiet"])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert message in err and len(err.splitlines()) == 1


def test_cli_existing_run_and_unwritable_out(tmp_path, capsys):
    existing = tmp_path / "run"
    existing.mkdir()
    (existing / "options.json").write_text("{}")
    assert main(["--out", str(existing)]) == 2
    assert "already exists" in capsys.readouterr().err
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["--out", str(blocker / "run")]) == 2
    assert "cannot write" in capsys.readouterr().err


def test_cli_dry_run_and_real_exit_code(tmp_path):
    ok = subprocess.run(
        [sys.executable, "-m", "training.train", "--dry-run", "--conditional", "--out", str(tmp_path / "r")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ok.returncode == 0 and '"conditional": true' in ok.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "training.train", "--loss", "bce", "--lr", "5", "--out", str(tmp_path / "r")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and "--lr" in bad.stderr


def test_eval_every_records_quality_and_when_targets_are_first_met(tmp_path, tiny_mnist_like, capsys):
    import json

    opts = TrainOptions(
        **TINY, conditional=True, out=str(tmp_path / "q"), max_steps=4, eval_every=2, quality="fcd_ratio<=1e9,recall>=0"
    )
    run_dir = run_training(opts, data=tiny_mnist_like, verbose=False)
    with open(run_dir / "quality.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert [int(r["step"]) for r in rows] == [2, 4]
    assert {"fcd_ratio", "precision", "recall", "class_accuracy", "train_min"} <= set(rows[0])
    assert all(float(r["fcd_ratio"]) > 0 for r in rows)
    state = json.loads((run_dir / "quality.json").read_text())
    assert state["reached_step"] == 2 and "quality reached at step 2" in capsys.readouterr().out

    never = dataclasses.replace(opts, out=str(tmp_path / "never"), quality="fcd_ratio<=0")
    run_dir = run_training(never, data=tiny_mnist_like, verbose=False)
    assert "reached_step" not in json.loads((run_dir / "quality.json").read_text())


def test_conditional_gan_has_a_class_head_when_asked(tiny_mnist_like):
    on = build_model(TrainOptions(**TINY, conditional=True, class_weight=0.03, out="x"), 1, 4)
    assert len(on.discriminator.outputs) == 2 and on.class_weight == 0.03
    off = build_model(TrainOptions(**TINY, conditional=True, out="x"), 1, 4)  # the default: no head
    assert len(off.discriminator.outputs) == 1 and off.class_weight == 0.0
    # A run recorded before the option existed resumes without the head it never had.
    old = TrainOptions.from_json('{"dataset": "mnist", "conditional": true, "out": "x"}')
    assert old.resolved_class_weight() == 0.0 and old.class_loss == "ce"


def test_hinge_class_loss_stops_at_the_margin():
    """The multi-class hinge is 0 once the true class leads every other by 1, and grows as it falls behind;
    cross-entropy still rewards a digit that is already classified with a margin."""
    y = tf.one_hot([0, 0, 0], 3)
    logits = tf.constant([[3.0, 1.5, 0.0], [1.0, 0.5, 0.0], [0.0, 2.0, 1.0]])
    hinge = build_model(TrainOptions(**TINY, conditional=True, class_weight=0.1, class_loss="hinge", out="x"), 1, 3)
    np.testing.assert_allclose(hinge._class_loss(y, logits).numpy(), [0.0, 0.5, 3.0], atol=1e-6)
    ce = build_model(TrainOptions(**TINY, conditional=True, class_weight=0.1, out="x"), 1, 3)
    assert float(ce._class_loss(y, logits)[0]) > 0.1
    with pytest.raises(InputError, match="unknown --class-loss"):
        TrainOptions(**TINY, conditional=True, class_loss="focal", out="x").validate()


@pytest.mark.parametrize("updates", ["simultaneous", "alternating", "reuse"])
@pytest.mark.parametrize("loss", ["hinge", "wgan-gp"])
def test_every_update_order_train_every_network(updates, loss):
    opts = TrainOptions(**TINY, conditional=True, updates=updates, loss=loss, out="x")
    model = build_model(opts, 1, 4)
    before = [w.numpy().copy() for w in model.generator.trainable_weights + model.discriminator.trainable_weights]
    x = tf.random.uniform((8, 28, 28, 1), -1, 1, seed=1)
    logs = tf.function(model.train_step)((x, tf.constant(np.arange(8) % 4)))
    assert all(np.isfinite(float(v)) for v in logs.values())
    after = model.generator.trainable_weights + model.discriminator.trainable_weights
    # G and D both moved. (Under hinge loss D's output bias may not: its gradient, -P(real < 1) + P(fake > -1),
    # is exactly 0 while every logit is inside the margin, as at initialisation.)
    moved = {a.path: not np.array_equal(b, a.numpy()) for b, a in zip(before, after)}
    assert all(v for k, v in moved.items() if k != "logit/bias"), moved


def _tiny_gan(microbatches: int, updates: str, loss: str):
    """A GAN of two Dense networks (no batch norm, whose statistics are per microbatch by design), plain SGD with
    rate 1: one step moves each weight by minus its gradient."""
    import keras

    from training.gan import GAN

    keras.utils.set_random_seed(3)
    g = keras.Sequential(
        [
            keras.Input((8,)),
            keras.layers.Dense(16, activation="tanh"),
            keras.layers.Dense(28 * 28),
            keras.layers.Reshape((28, 28, 1)),
        ]
    )
    d = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.Flatten(),
            keras.layers.Dense(8, activation="relu"),
            keras.layers.Dense(1),
        ]
    )
    model = GAN(g, d, 8, loss=loss, ema_decay=0.0, updates=updates, microbatches=microbatches, seed=5)
    model.compile(keras.optimizers.SGD(1.0), keras.optimizers.SGD(1.0))
    return model


@pytest.mark.parametrize("updates", ["simultaneous", "alternating", "reuse"])
@pytest.mark.parametrize("loss", ["bce", "hinge"])
def test_microbatches_take_the_whole_batch_gradient(updates, loss):
    """Cut into 3 uneven parts (11 rows), a step moves every weight as the step in one piece does."""
    x = tf.random.uniform((11, 28, 28, 1), -1, 1, seed=2)
    labels = tf.zeros((11,), tf.int64)
    steps = {}
    for k in (1, 3):
        model = _tiny_gan(k, updates, loss)
        logs = tf.function(model.train_step)((x, labels))
        steps[k] = (
            [w.numpy() for w in model.generator.weights + model.discriminator.weights],
            {name: float(v) for name, v in logs.items()},
        )
    for one, three in zip(steps[1][0], steps[3][0]):
        np.testing.assert_allclose(three, one, rtol=1e-4, atol=1e-5)
    for name, value in steps[1][1].items():
        assert steps[3][1][name] == pytest.approx(value, rel=1e-4, abs=1e-6), name


@pytest.mark.parametrize("microbatches", [1, 3])
def test_reuse_is_the_alternating_step_on_the_same_noise(microbatches):
    """updates="reuse" scores D's fakes again after D's update; alternating on noise that repeats itself draws
    those same fakes with a second G pass. Both must move every weight alike, and reuse must have moved G."""
    x = tf.random.uniform((11, 28, 28, 1), -1, 1, seed=2)
    labels = tf.zeros((11,), tf.int64)
    z = tf.random.normal((11, 8), seed=4)
    weights = {}
    for updates in ("alternating", "reuse"):
        model = _tiny_gan(microbatches, updates, "hinge")
        before = [w.numpy() for w in model.generator.weights]
        model._noise = lambda batch: z  # every draw the same noise
        tf.function(model.train_step)((x, labels))
        weights[updates] = [w.numpy() for w in model.generator.weights + model.discriminator.weights]
    for a, b in zip(weights["alternating"], weights["reuse"]):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6)
    assert any(not np.allclose(b, a) for b, a in zip(before, weights["reuse"]))


def test_microbatch_class_logits_are_joined_real_first():
    from training.gan import GAN

    parts = [
        (tf.constant(1.0), tf.constant(2.0), tf.constant([[1.0]]), tf.constant([[2.0]]), tf.constant([[10.0], [20.0]])),
        (tf.constant(3.0), tf.constant(4.0), tf.constant([[3.0]]), tf.constant([[4.0]]), tf.constant([[30.0], [40.0]])),
    ]
    d_loss, g_loss, real, fake, classes = GAN._joined(parts)
    assert (float(d_loss), float(g_loss)) == (4.0, 6.0)
    assert real.numpy().ravel().tolist() == [1.0, 3.0] and fake.numpy().ravel().tolist() == [2.0, 4.0]
    assert classes.numpy().ravel().tolist() == [10.0, 30.0, 20.0, 40.0]  # real rows of every part, then fake rows
    with pytest.raises(InputError, match="--microbatches must be 1..4"):
        TrainOptions(**TINY, microbatches=5, out="x").validate()


def test_lr_decay_holds_the_rate_then_falls_to_zero_over_the_runs_last_share():
    opts = TrainOptions(**TINY, conditional=True, lr=1e-3, d_lr=4e-3, lr_decay=0.5, out="x")
    model = build_model(opts, 1, 4, total_steps=10)
    seen = []
    for step in (0, 5, 7, 10, 12):
        for opt in (model.g_optimizer, model.d_optimizer):
            opt.iterations.assign(step)
        seen.append((float(model.g_optimizer.learning_rate), float(model.d_optimizer.learning_rate)))
    np.testing.assert_allclose(seen, [(1e-3, 4e-3), (1e-3, 4e-3), (6e-4, 2.4e-3), (0, 0), (0, 0)], atol=1e-9)
    constant = build_model(dataclasses.replace(opts, lr_decay=0.0), 1, 4, total_steps=10)
    constant.g_optimizer.iterations.assign(9)
    assert float(constant.g_optimizer.learning_rate) == pytest.approx(1e-3)
    with pytest.raises(InputError, match="--lr-decay"):
        dataclasses.replace(opts, lr_decay=1.5).validate()
