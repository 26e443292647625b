"""`GAN(keras.Model)`: owns compile, metrics and train_step, nothing else (keras-io DCGAN style).

Losses: non-saturating BCE (optional one-sided label smoothing), hinge, WGAN-GP. Options: differentiable
augmentation (applied to real and fake alike so D cannot tell them apart by augmentation), and an EMA copy of
the generator that samples and export use. All randomness comes from one `keras.random.SeedGenerator`, whose
state is checkpointed, so a resumed run draws the same noise an uninterrupted one would.
"""

from __future__ import annotations

import contextlib

import keras
import tensorflow as tf

from training.augment import diff_augment
from training.options import LOSSES


class GAN(keras.Model):
    def __init__(
        self,
        generator: keras.Model,
        discriminator: keras.Model,
        latent_dim: int,
        num_classes: int = 0,
        loss: str = "bce",
        label_smoothing: float = 0.0,
        gp_weight: float = 10.0,
        ema_decay: float = 0.999,
        augment: bool = False,
        class_weight: float = 0.0,
        class_loss: str = "ce",
        updates: str = "simultaneous",
        microbatches: int = 1,
        seed: int = 0,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        if loss not in LOSSES:
            raise ValueError(f"unknown loss {loss!r}; choose {', '.join(LOSSES)}")
        self.generator = generator
        self.discriminator = discriminator
        self.latent_dim = latent_dim
        self.num_classes = num_classes
        self.loss_kind = loss
        self.label_smoothing = label_smoothing
        self.gp_weight = gp_weight
        self.ema_decay = ema_decay
        self.augment = augment
        self.class_weight = class_weight
        self.class_loss = class_loss
        self.updates = updates
        self.microbatches = microbatches
        self.seed_generator = keras.random.SeedGenerator(seed)
        # The EMA generator is a clone that is never trained directly; it starts equal to the generator.
        self.ema_generator = keras.models.clone_model(generator)
        self.ema_generator.name = "ema_generator"
        self.ema_generator.set_weights(generator.get_weights())
        self.ema_step = keras.Variable(0, dtype="int64", trainable=False, name="ema_step")

    def compile(self, g_optimizer: keras.optimizers.Optimizer, d_optimizer: keras.optimizers.Optimizer, **kwargs):
        super().compile(**kwargs)
        self.g_optimizer = g_optimizer
        self.d_optimizer = d_optimizer
        self.g_optimizer.build(self.generator.trainable_variables)
        self.d_optimizer.build(self.discriminator.trainable_variables)
        self.trackers = {
            name: keras.metrics.Mean(name=name) for name in ("d_loss", "g_loss", "d_acc_real", "d_acc_fake")
        }
        if self.class_weight > 0 and self.num_classes:
            self.trackers["d_class_acc_fake"] = keras.metrics.Mean(name="d_class_acc_fake")

    @property
    def metrics(self):
        return list(self.trackers.values())

    @property
    def sampling_generator(self) -> keras.Model:
        """The generator used for samples and export: the EMA copy when EMA is on."""
        return self.ema_generator if self.ema_decay > 0 else self.generator

    def _noise(self, batch):
        """z for this replica's share of the batch. With several replicas, every replica draws the global batch's
        noise (the same draw, from the mirrored RNG state) and keeps its own slice, so a distributed step sees the
        noise a single-device step of the same global batch would."""
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        if replicas == 1:
            return keras.random.normal((batch, self.latent_dim), seed=self.seed_generator)
        z = keras.random.normal((batch * replicas, self.latent_dim), seed=self.seed_generator)
        index = tf.distribute.get_replica_context().replica_id_in_sync_group
        return z[index * batch : (index + 1) * batch]

    def _inputs(self, z, y):
        return [z, y] if self.num_classes else z

    def _d(self, images, y, training=True):
        """(real/fake logits [b, 1], class logits [b, classes] or None) for (augmented) images."""
        if self.augment:
            images = diff_augment(images, self.seed_generator)
        out = self.discriminator([images, y] if self.num_classes else images, training=training)
        # Losses in float32 whatever the compute precision (mixed_bfloat16 gives bf16 logits).
        if isinstance(out, (list, tuple)):
            return tf.cast(out[0], tf.float32), tf.cast(out[1], tf.float32)
        return tf.cast(out, tf.float32), None

    def _gradient_penalty(self, real, fake, y):
        # One mixing weight per sample, broadcast over images [b, h, w, c] or parameter vectors [b, P].
        alpha = keras.random.uniform((tf.shape(real)[0],) + (1,) * (len(real.shape) - 1), seed=self.seed_generator)
        mixed = real + alpha * (fake - real)
        with tf.GradientTape() as tape:
            tape.watch(mixed)
            out = self.discriminator([mixed, y] if self.num_classes else mixed, training=True)
            logits = out[0] if isinstance(out, (list, tuple)) else out
        grads = tape.gradient(logits, mixed)
        norms = tf.sqrt(tf.reduce_sum(tf.square(grads), axis=list(range(1, len(real.shape)))) + 1e-12)
        return tf.reduce_mean(tf.square(norms - 1.0))

    def _d_loss(self, real_logits, fake_logits):
        if self.loss_kind == "bce":
            real_target = tf.ones_like(real_logits) * (1.0 - self.label_smoothing)
            real = tf.nn.sigmoid_cross_entropy_with_logits(real_target, real_logits)
            fake = tf.nn.sigmoid_cross_entropy_with_logits(tf.zeros_like(fake_logits), fake_logits)
            return tf.reduce_mean(real) + tf.reduce_mean(fake)
        if self.loss_kind == "hinge":
            return tf.reduce_mean(tf.nn.relu(1.0 - real_logits)) + tf.reduce_mean(tf.nn.relu(1.0 + fake_logits))
        # WGAN-GP critic loss; the small drift term keeps real scores from wandering off.
        return tf.reduce_mean(fake_logits) - tf.reduce_mean(real_logits) + 1e-3 * tf.reduce_mean(real_logits**2)

    def _g_loss(self, fake_logits):
        if self.loss_kind == "bce":  # non-saturating
            return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(tf.ones_like(fake_logits), fake_logits))
        return -tf.reduce_mean(fake_logits)

    def _class_loss(self, y, class_logits):
        """Per-sample loss of the class head. "ce": softmax cross-entropy (AC-GAN); it keeps rewarding G for ever more
        confident digits, which pulls samples toward each class's prototype. "hinge": the multi-class hinge of
        MHingeGAN (Kavalerov et al. 2021), max(0, 1 - (true logit - best other logit)), which stops pulling once a
        digit is classified with a margin, so diversity inside a class is left alone."""
        if self.class_loss == "ce":
            return tf.nn.softmax_cross_entropy_with_logits(y, class_logits)
        true = tf.reduce_sum(y * class_logits, axis=1)
        other = tf.reduce_max(class_logits - 1e9 * y, axis=1)
        return tf.nn.relu(1.0 - (true - other))

    def _update_ema(self):
        # Warm-up: the effective decay grows with the step so early EMA weights are not stuck at init.
        self.ema_step.assign_add(1)
        step = tf.cast(self.ema_step, tf.float32)
        decay = tf.minimum(self.ema_decay, (1.0 + step) / (10.0 + step))
        for ema_w, w in zip(self.ema_generator.weights, self.generator.weights):
            ema_w.assign_sub((1.0 - decay) * (ema_w - w))  # decay * ema + (1 - decay) * w in fewer passes

    def _step_losses(self, real, fake, y, batch):
        """(d_loss, g_loss, real logits, fake logits, class logits) from one D pass over real and fake together:
        a single batched call is cheaper than two, and D has no batch norm, so batching them changes nothing else."""
        logits, class_logits = self._d(tf.concat([real, fake], 0), tf.concat([y, y], 0) if self.num_classes else None)
        real_logits, fake_logits = logits[:batch], logits[batch:]
        d_loss = self._d_loss(real_logits, fake_logits)
        g_loss = self._g_loss(fake_logits)
        if class_logits is not None:  # AC-GAN: D learns the class of real digits, G pays for the wrong class
            per_sample = self._class_loss(tf.concat([y, y], 0), class_logits)
            d_loss += self.class_weight * tf.reduce_mean(per_sample[:batch])
            g_loss += self.class_weight * tf.reduce_mean(per_sample[batch:])
        if self.loss_kind == "wgan-gp":
            d_loss += self.gp_weight * self._gradient_penalty(real, fake, y)
        return d_loss, g_loss, real_logits, fake_logits, class_logits

    def _parts(self, batch, y):
        """(lo, hi, rows, share of the batch, y rows or None) for each of the step's `microbatches` contiguous parts.

        Their gradients are summed, each weighted by its share of the batch, so a step takes the whole batch's
        gradient (batch-norm statistics in G come from each part). The parts are independent subgraphs of the
        traced step, which TensorFlow runs at once on the inter-op threads: on a 2-core CPU that beats splitting
        every small convolution over both cores (see training.tf_setup.configure_threads)."""
        parts = []
        for i in range(self.microbatches):
            lo, hi = i * batch // self.microbatches, (i + 1) * batch // self.microbatches
            share = tf.cast(hi - lo, tf.float32) / tf.cast(batch, tf.float32)
            parts.append((lo, hi, hi - lo, share, None if y is None else y[lo:hi]))
        return parts

    @staticmethod
    def _add(total, grads):
        return list(grads) if total is None else [a + b for a, b in zip(total, grads)]

    @staticmethod
    def _joined(parts):
        """(d_loss, g_loss, real logits, fake logits, class logits) of the whole batch from its microbatches'."""
        d_loss = tf.add_n([p[0] for p in parts])
        g_loss = tf.add_n([p[1] for p in parts])
        real_logits = tf.concat([p[2] for p in parts], 0)
        fake_logits = tf.concat([p[3] for p in parts], 0)
        class_logits = None
        if parts[0][4] is not None:  # each part's class logits are its real rows, then its fake rows
            halves = [tf.split(p[4], 2) for p in parts]
            class_logits = tf.concat([h[0] for h in halves] + [h[1] for h in halves], 0)
        return d_loss, g_loss, real_logits, fake_logits, class_logits

    def _simultaneous(self, real, y, batch, replicas):
        """One G pass and one D pass feed both updates (as the TensorFlow DCGAN tutorial does): G's gradient is
        taken against D before D's update. The fastest step."""
        d_vars, g_vars = self.discriminator.trainable_variables, self.generator.trainable_variables
        d_grads = g_grads = None
        parts = []
        z_all = self._noise(batch)  # the whole batch's noise, sliced: microbatches see what one piece would
        for lo, hi, n, share, part_y in self._parts(batch, y):
            with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
                fake = self.generator(self._inputs(z_all[lo:hi], part_y), training=True)
                d_loss, g_loss, real_logits, fake_logits, class_logits = self._step_losses(real[lo:hi], fake, part_y, n)
                d_scaled, g_scaled = d_loss * share / replicas, g_loss * share / replicas
            d_grads = self._add(d_grads, d_tape.gradient(d_scaled, d_vars))
            g_grads = self._add(g_grads, g_tape.gradient(g_scaled, g_vars))
            parts.append((d_loss * share, g_loss * share, real_logits, fake_logits, class_logits))
        self.d_optimizer.apply_gradients(zip(d_grads, d_vars))
        self.g_optimizer.apply_gradients(zip(g_grads, g_vars))
        return self._joined(parts)

    def _alternating(self, real, y, batch, replicas):
        """D's update first, then G's against the updated D (the classic GAN step). With updates="alternating" G's
        update draws fresh noise and a fresh G pass; with "reuse" it scores the fakes D's update saw, whose G pass
        was recorded for it: G has not changed in between, so they are what G draws for that noise (PyTorch's
        DCGAN example does this), and the step makes one G pass fewer, the most costly network pass here. Its
        trainable weights move as the classic step's would if its second draw of noise equalled the first; G's
        batch-norm statistics are updated once per step instead of twice. Every microbatch's G activations are
        kept until G's update, so reuse holds a whole batch's of them at once whatever --microbatches says."""
        d_vars, g_vars = self.discriminator.trainable_variables, self.generator.trainable_variables
        reuse = self.updates == "reuse"
        spans = self._parts(batch, y)
        d_grads, parts, kept = None, [], []
        z_all = self._noise(batch)
        for lo, hi, n, share, part_y in spans:
            g_tape = tf.GradientTape()
            with g_tape if reuse else contextlib.nullcontext():  # records G's pass only when G's update reuses it
                fake = self.generator(self._inputs(z_all[lo:hi], part_y), training=True)
            kept.append((g_tape, fake))
            with tf.GradientTape() as tape:
                d_loss, _, real_logits, fake_logits, class_logits = self._step_losses(real[lo:hi], fake, part_y, n)
                scaled = d_loss * share / replicas  # inside the tape: the gradient is taken of this
            d_grads = self._add(d_grads, tape.gradient(scaled, d_vars))
            parts.append((d_loss * share, 0.0, real_logits, fake_logits, class_logits))
        self.d_optimizer.apply_gradients(zip(d_grads, d_vars))
        g_grads, g_total = None, 0.0
        if not reuse:
            z_all = self._noise(batch)
        for (lo, hi, _, share, part_y), (g_tape, fake) in zip(spans, kept):
            with g_tape:  # a reused part's tape goes on from its G pass; otherwise a fresh tape and G pass
                if not reuse:
                    fake = self.generator(self._inputs(z_all[lo:hi], part_y), training=True)
                fake_logits_g, fake_class = self._d(fake, part_y)
                g_loss = self._g_loss(fake_logits_g)
                if fake_class is not None:
                    g_loss += self.class_weight * tf.reduce_mean(self._class_loss(part_y, fake_class))
                scaled = g_loss * share / replicas
            g_grads = self._add(g_grads, g_tape.gradient(scaled, g_vars))
            g_total += g_loss * share
        self.g_optimizer.apply_gradients(zip(g_grads, g_vars))
        d_loss, _, real_logits, fake_logits, class_logits = self._joined(parts)
        return d_loss, g_total, real_logits, fake_logits, class_logits

    def train_step(self, data):
        real, labels = data
        batch = tf.shape(real)[0]
        # Losses are averaged per replica and the optimizer sums replicas, so divide by their count.
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        y = tf.one_hot(labels, self.num_classes) if self.num_classes else None

        if self.updates == "simultaneous":
            d_loss, g_loss, real_logits, fake_logits, class_logits = self._simultaneous(real, y, batch, replicas)
        else:
            d_loss, g_loss, real_logits, fake_logits, class_logits = self._alternating(real, y, batch, replicas)

        # EMA of the generator's weights (including batch-norm statistics).
        if self.ema_decay > 0:
            self._update_ema()

        values = {
            "d_loss": d_loss,
            "g_loss": g_loss,
            "d_acc_real": tf.reduce_mean(tf.cast(real_logits > 0, tf.float32)),
            "d_acc_fake": tf.reduce_mean(tf.cast(fake_logits < 0, tf.float32)),
        }
        if class_logits is not None:
            hits = tf.cast(tf.argmax(class_logits, 1) == tf.concat([labels, labels], 0), tf.float32)
            values["d_class_acc_fake"] = tf.reduce_mean(hits[batch:])
        for name, value in values.items():
            self.trackers[name].update_state(value)
        return values

    def state_variables(self) -> dict:
        """Every variable a checkpoint must hold to resume exactly (weights, optimizers, RNG, EMA), keyed by path."""
        from training.checkpoint import keyed

        return keyed(
            {
                "generator": self.generator.weights,
                "discriminator": self.discriminator.weights,
                "ema_generator": self.ema_generator.weights,
                "g_optimizer": self.g_optimizer,
                "d_optimizer": self.d_optimizer,
                "state": {"rng": self.seed_generator.state, "ema_step": self.ema_step},
            }
        )
