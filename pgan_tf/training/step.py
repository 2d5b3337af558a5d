"""The training step: one D step (WGAN-GP + drift + AC-GAN), the G EMA update, one G step.

Order within an iteration follows official PGAN's loop (docs/design.md#loop-order,
docs/design.md#generator-ema): the D step and the Gs ← lerp(G, Gs, β) update run together (so the
EMA sees G before this iteration's G step), then the G step. D_repeats = 1 (TTUR keeps 1:1
steps, paper §2.3).

Every random draw (latents, GP mix factors, G's labels) is a stateless function of
(seed, images_seen), so a resumed run draws exactly what an uninterrupted one would.
One `tf.function` is traced per (resolution, fading) and reused until the stage changes; with a
lazy gradient penalty (`--gp_interval` k > 1, beyond the paper) there are two per stage, with and
without the penalty, and `carries_gp` picks one from the image count, so a resumed run puts the
penalty on the same steps as an uninterrupted one.

Distribution (official multi-GPU, docs/design.md#optimizers): each replica computes its own
mean losses on its share of the minibatch (its own minibatch-stddev groups, GP and draws, seeded by
replica id); the gradients are averaged over replicas (official: summed with NCCL, times
1/num_gpus) and applied once in cross-replica context, where the NaN/Inf check can skip the step for
every replica alike. `virtual_replicas` splits the batch the same way on one device (a
reference for tests).
"""
import functools

import numpy as np
import tensorflow as tf
import keras

from pgan_tf.data.pipeline import fade_reals
from pgan_tf.training import ada, losses
from pgan_tf.training.tick_metrics import TickMetrics


# Independent streams folded from (seed, images_seen): D latents, GP mix, G latents, G labels.
_STREAM_D_LATENTS, _STREAM_GP_MIX, _STREAM_G_LATENTS, _STREAM_G_LABELS = range(4)


def gp_mix_factors(batch, seed):
    """One U[0,1] mix factor per sample, [N,1,1,1] (docs/design.md#losses; not one per
    batch, not normal)."""
    return tf.random.stateless_uniform([batch, 1, 1, 1], seed, 0.0, 1.0)


def carries_gp(images_seen, minibatch, interval):
    """Whether the D step starting at `images_seen` computes the gradient penalty.

    Lazy regularization (StyleGAN2, here applied to WGAN-GP; beyond the paper): every
    `interval`-th step by the step index images_seen // minibatch, a function of the image count
    only. `interval` 1 = every step (official)."""
    return (int(images_seen) // int(minibatch)) % int(interval) == 0


class Trainer:
    """G, D, G_ema, both Adam optimizers (built once over every stage's variables) and the steps."""

    def __init__(self, config, make_generator, make_discriminator, label_rows, strategy=None,
                 virtual_replicas=1):
        """`label_rows`: float32 [M, K] one-hot rows G's labels are drawn from
        (docs/design.md#losses)."""
        self.config = config
        self.strategy = strategy or tf.distribute.get_strategy()
        self.virtual_replicas = virtual_replicas
        with self.strategy.scope():
            self.G = make_generator(name="generator")
            self.D = make_discriminator(name="discriminator")
            self.G_ema = make_generator(name="generator_ema")
            adam = dict(beta_1=config.adam_beta1, beta_2=config.adam_beta2,
                        epsilon=config.adam_epsilon)
            self.g_opt = keras.optimizers.Adam(learning_rate=config.g_lr, name="g_adam", **adam)
            self.d_opt = keras.optimizers.Adam(learning_rate=config.d_lr, name="d_adam", **adam)
            # Keras 3 optimizers refuse variables they were not built with: build over all stages.
            self.g_opt.build(self.G.trainable_variables)
            self.d_opt.build(self.D.trainable_variables)
            # Official fp16 dynamic loss scaling (docs/design.md#optimizers), one per
            # optimizer, as log2(scale). Always created (unused in float32/bfloat16) so checkpoints
            # keep one structure.
            self.log2_loss_scale = {
                name: tf.Variable(config.loss_scaling_init, trainable=False, dtype=tf.float32,
                                  name=f"{name}_log2_loss_scale") for name in ("d", "g")}
            self.augment = ada.make_augmenter(config)  # None without --d_augment
            # The tick's metrics and the NaN guard, updated inside the step: no host sync per step.
            self.tick_metrics = TickMetrics(config.max_nonfinite_steps)
        self.loss_scaling = config.precision == "mixed_float16"
        for ema_var, var in zip(self.G_ema.weights, self.G.weights):
            ema_var.assign(var)
        self.label_rows = tf.constant(label_rows, tf.float32)
        # --ac_balanced: D's AC term weighted per class by the dataset's label counts.
        self.class_weights = (tf.constant(losses.balanced_class_weights(label_rows))
                              if config.ac_balanced and np.shape(label_rows)[-1] else None)
        self._steps = {}
        self._compiled = {}  # (res, fading, gp) -> the step's compute (an XLA cluster with jit)
        self._active = {}  # (model name, res) -> indices of variables that get gradients

    @property
    def num_replicas(self):
        return self.strategy.num_replicas_in_sync * self.virtual_replicas

    def reset_optimizers(self):
        """Fresh Adam state (moments and step counter) for a new lod phase
        (docs/design.md#optimizers)."""
        for opt in (self.g_opt, self.d_opt):
            for var in opt.variables:
                if var is not opt._learning_rate:  # the rate is set from the schedule, keep it
                    var.assign(tf.zeros_like(var))

    def set_learning_rates(self, g_lr, d_lr):
        self.g_opt.learning_rate = g_lr
        self.d_opt.learning_rate = d_lr

    def step(self, reals, labels, resolution, alpha, fading, images_seen, minibatch=None,
             heldout=None):
        """Run one training iteration; returns a dict of scalar tensors (losses, `finite`).

        `heldout`: float32 [M, res, res, C] held-out reals at this resolution (`--heldout_per_class`;
        None without): D scores a batch of them, without gradients, for the statistic r_v.
        `reals`/`labels` are one global minibatch, or per-replica values from
        `strategy.experimental_distribute_dataset`; `minibatch` is the global batch (default: the
        size of `reals`). The losses are also added to `tick_metrics` on the device; once
        `max_nonfinite_steps` consecutive steps were non-finite the step is a no-op (see there).
        """
        if minibatch is None:
            minibatch = self._global_batch(reals)
        gp = carries_gp(images_seen, minibatch, self.config.gp_interval)
        key = (int(resolution), bool(fading), gp)
        if key not in self._steps:
            fn = lambda r, l, a, n, b, h: self._guarded_step(r, l, a, n, b, h, *key)  # noqa: E731
            self._steps[key] = tf.function(fn)  # --jit_compile compiles `_core` inside it
        return self._steps[key](reals, labels, tf.constant(alpha, tf.float32),
                                tf.constant(images_seen, tf.int64),
                                tf.constant(minibatch, tf.int64), heldout)

    def _global_batch(self, reals):
        """Images in this step's global minibatch (reals: a tensor or per-replica values)."""
        local = self.strategy.experimental_local_results(reals)
        workers = self.strategy.num_replicas_in_sync // len(local)
        return sum(int(x.shape[0]) for x in local) * workers

    def _guarded_step(self, reals, labels, alpha, images_seen, minibatch, heldout, res, fading, gp):
        """`_train_step` plus the device-side tick metrics; a no-op once the NaN guard halted."""
        outputs = {}

        def train():
            out = self._core(res, fading, gp)(reals, labels, alpha, images_seen, heldout)
            finite = out.pop("finite")
            with tf.control_dependencies([self.tick_metrics.record(
                    out, finite, images_seen, minibatch)]):
                out = {k: tf.identity(v) for k, v in {**out, "finite": finite}.items()}
            outputs.update(out)  # structure for the halted branch (traced second)
            return out

        def halted():
            return {k: tf.zeros([], v.dtype) for k, v in outputs.items()}

        return tf.cond(self.tick_metrics.running(), train, halted)

    def _core(self, res, fading, gp):
        """`_train_step` for one stage; under --jit_compile one XLA cluster *inside* the NaN
        guard's tf.cond. With the guard in the cluster, XLA's CPU compiler left the gradient
        convolutions (nested in two conditionals) in a layout its convolution library does not
        take and emitted them as plain loops: 12-15x slower steps (docs/performance.md)."""
        key = (res, fading, gp)
        if key not in self._compiled:
            fn = lambda r, l, a, n, h: self._train_step(r, l, a, n, res, fading, gp, h)  # noqa: E731
            self._compiled[key] = (tf.function(fn, jit_compile=True) if self.config.jit_compile
                                   else fn)
        return self._compiled[key]

    def _train_step(self, reals, labels, alpha, images_seen, res, fading, gp, heldout=None):
        a = alpha if fading else None
        seeds = tf.random.experimental.stateless_split(tf.random.experimental.stateless_fold_in(
            tf.constant([self.config.seed, 0], tf.int64), images_seen), num=4)  # [4, 2]
        d_fn = functools.partial(self._d_replica, gp=gp, heldout=heldout)
        d_vars, d_grads, d_metrics = self._per_replica(d_fn, self.D, reals, labels, a, res, seeds)
        d_finite = self._apply("d", d_vars, d_grads, d_metrics["loss_d"])
        if self._augmenting(res):  # ADA's controller: one for all replicas (cross-replica)
            self.augment.update(d_metrics, d_finite, self._global_batch(reals))
        # official: Gs update runs with the D step (docs/design.md#generator-ema)
        self._update_ema()
        g_vars, g_grads, g_metrics = self._per_replica(
            self._g_replica, self.G, reals, labels, a, res, seeds)
        g_finite = self._apply("g", g_vars, g_grads, g_metrics["loss_g"])
        return {**d_metrics, **g_metrics, "finite": tf.logical_and(d_finite, g_finite)}

    def _per_replica(self, fn, model, reals, labels, alpha, res, seeds):
        """(variables, their grads averaged over replicas, metrics averaged over replicas)."""
        if self.strategy.num_replicas_in_sync > 1:
            def replica_fn(r, l):
                rid = tf.distribute.get_replica_context().replica_id_in_sync_group
                return fn(r, l, alpha, res, seeds, rid)
            grads, metrics = self.strategy.run(replica_fn, args=(reals, labels))
            variables = self._variables(model, res)  # known once `fn` has been traced
            mean = tf.distribute.ReduceOp.MEAN
            # One batched all-reduce (NCCL/collective ops pack the tensors) whose results land on
            # each variable's own devices, so the optimizer updates every copy locally; no
            # gather onto one device and broadcast back.
            # (`.value`: the tf.Variable inside the Keras variable, a MirroredVariable here.)
            grads = self.strategy.extended.batch_reduce_to(
                mean, [(g, v.value) for g, v in zip(grads, variables)])
            metrics = {k: self.strategy.reduce(mean, v, axis=None) for k, v in metrics.items()}
            return variables, grads, metrics
        outs = [fn(r, l, alpha, res, seeds, i) for i, (r, l) in enumerate(zip(
            tf.split(reals, self.virtual_replicas), tf.split(labels, self.virtual_replicas)))]
        grads = [tf.add_n(list(gs)) / len(outs) for gs in zip(*[o[0] for o in outs])]
        metrics = {k: tf.add_n([o[1][k] for o in outs]) / len(outs) for k in outs[0][1]}
        return self._variables(model, res), grads, metrics

    def _d_replica(self, reals, labels, alpha, res, seeds, replica_id, gp=True, heldout=None):
        """D's WGAN-GP + drift + AC-GAN loss on this replica's reals; returns (grads, metrics).

        `gp` False: the lazy GP's step without the penalty (no interpolate, no double backward);
        True with `--gp_interval` k > 1: the penalty weighted by k. `heldout`: held-out reals for
        the overfitting statistic (`_statistics`)."""
        cfg = self.config
        batch = tf.shape(reals)[0]
        if alpha is not None:
            # reals fade in exactly like G's output (docs/design.md#real-image-pipeline)
            reals = fade_reals(reals, alpha)
        latents = tf.random.stateless_normal(
            [batch, cfg.latent_size], _replica_seed(seeds[_STREAM_D_LATENTS], replica_id))
        mix = gp_mix_factors(batch, _replica_seed(seeds[_STREAM_GP_MIX], replica_id))
        fakes = tf.stop_gradient(self.G(latents, labels, res=res, alpha=alpha, training=True))
        # D sees only augmented images; the GP interpolates between the augmented pair.
        reals = self._augment(reals, seeds[_STREAM_D_LATENTS], ada.STREAM_D_REALS, replica_id, res)
        fakes = self._augment(fakes, seeds[_STREAM_D_LATENTS], ada.STREAM_D_FAKES, replica_id, res)
        with tf.GradientTape() as tape:
            real_scores, real_logits = self.D(reals, res=res, alpha=alpha, training=True)
            fake_scores, fake_logits = self.D(fakes, res=res, alpha=alpha, training=True)
            norms = self._gp_norms(reals, fakes, mix, alpha, res) if gp else None
            loss, terms = losses.d_loss(
                real_scores, fake_scores, real_logits, fake_logits, labels, norms,
                wgan_lambda=cfg.wgan_lambda, wgan_target=cfg.wgan_target,
                wgan_epsilon=cfg.wgan_epsilon, cond_weight=cfg.cond_weight,
                class_weights=self.class_weights, gp_weight=cfg.gp_interval)
            if gp and cfg.gp_interval > 1:
                # The tick's mean over steps then estimates the mean norm (0 on the other steps).
                terms["grad_norm"] = terms["grad_norm"] * cfg.gp_interval
            scaled_loss = loss * self._scale("d")  # on the tape: fp16 loss scaling
        grads = self._gradients(tape, scaled_loss, self.D, res, "d")
        terms = {f"d_{k}" if not k.startswith("d_") else k: v for k, v in terms.items()}
        terms.update(self._statistics(real_scores, fake_scores, heldout, alpha, res,
                                      seeds[_STREAM_D_LATENTS], replica_id))
        return grads, {**terms, "loss_d": loss}

    def _statistics(self, real_scores, fake_scores, heldout, alpha, res, step_seed, replica_id):
        """The overfitting statistics' weighted step metrics (ada.STAT_*): with augmentation or a
        held-out set, in every arm; zeros below --d_augment_min_res (same keys at every stage).
        D scores a batch of held-out reals (faded and augmented like the reals), off the tape."""
        with_heldout = self.config.heldout_per_class > 0
        if self.augment is None and not with_heldout:
            return {}  # the paper's runs: no extra metric, no extra work
        keys = [ada.STAT_WEIGHT, ada.STAT_RT] + (
            [ada.STAT_REAL, ada.STAT_HELDOUT, ada.STAT_FAKE] if with_heldout else [])
        if res < self.config.d_augment_min_res or (with_heldout and heldout is None):
            return {k: tf.zeros([]) for k in keys}
        stats = {ada.STAT_WEIGHT: tf.ones([]),
                 ada.STAT_RT: ada.overfit_statistic(real_scores, fake_scores)}
        if with_heldout:
            batch = tf.shape(real_scores)[0]
            pick = _replica_seed(self.augment_seed(step_seed, ada.STREAM_HELDOUT_PICK), replica_id)
            index = tf.random.stateless_uniform([batch], pick, 0, tf.shape(heldout)[0], tf.int32)
            held = tf.gather(heldout, index)
            if alpha is not None:
                held = fade_reals(held, alpha)
            held = self._augment(held, step_seed, ada.STREAM_HELDOUT_AUG, replica_id, res)
            held_scores, _ = self.D(held, res=res, alpha=alpha, training=True)
            mean = lambda s: tf.reduce_mean(tf.cast(tf.stop_gradient(s), tf.float32))  # noqa: E731
            stats.update({ada.STAT_REAL: mean(real_scores), ada.STAT_HELDOUT: mean(held_scores),
                          ada.STAT_FAKE: mean(fake_scores)})
        return stats

    @staticmethod
    def augment_seed(step_seed, stream):
        return tf.random.experimental.stateless_fold_in(step_seed, stream)

    def _augmenting(self, res):
        """D's images are augmented at this stage (an augmenter, and res >= --d_augment_min_res)."""
        return self.augment is not None and res >= self.config.d_augment_min_res

    def _gp_norms(self, reals, fakes, mix, alpha, res):
        """The GP's per-sample norms at the interpolates; call on D's outer tape."""
        mixed = losses.interpolate(reals, fakes, mix)
        with tf.GradientTape() as gp_tape:
            gp_tape.watch(mixed)
            mixed_scores, _ = self.D(mixed, res=res, alpha=alpha, training=True)
            # fp16: the GP gradient is taken of the loss-scaled sum, then unscaled
            # (docs/design.md#losses).
            mixed_sum = tf.reduce_sum(tf.cast(mixed_scores, tf.float32)) * self._scale("d")
        mixed_grads = gp_tape.gradient(mixed_sum, mixed) / self._scale("d")
        return losses.native_gradient_norm(mixed_grads, res, self.config.resolution)

    def _g_replica(self, reals, labels, alpha, res, seeds, replica_id):
        """G's loss on this replica's share of fakes (labels drawn, not the reals')."""
        cfg = self.config
        batch = tf.shape(reals)[0]
        latents = tf.random.stateless_normal(
            [batch, cfg.latent_size], _replica_seed(seeds[_STREAM_G_LATENTS], replica_id))
        labels = self._sample_labels(batch, _replica_seed(seeds[_STREAM_G_LABELS], replica_id))
        with tf.GradientTape() as tape:
            fakes = self.G(latents, labels, res=res, alpha=alpha, training=True)
            fakes = self._augment(fakes, seeds[_STREAM_G_LATENTS], ada.STREAM_G_FAKES, replica_id,
                                  res)
            fake_scores, fake_logits = self.D(fakes, res=res, alpha=alpha, training=True)
            loss, terms = losses.g_loss(fake_scores, fake_logits, labels, cond_weight=cfg.cond_weight)
            scaled_loss = loss * self._scale("g")  # on the tape: fp16 loss scaling
        grads = self._gradients(tape, scaled_loss, self.G, res, "g")
        terms = {f"g_{k}" if not k.startswith("g_") else k: v for k, v in terms.items()}
        return grads, {**terms, "loss_g": loss}

    def _augment(self, images, step_seed, stream, replica_id, res):
        """D's input augmentation (identity without --d_augment and below --d_augment_min_res,
        where p is not used either); draws per stream and replica."""
        if not self._augmenting(res):
            return images
        return self.augment(images, _replica_seed(self.augment.seed(step_seed, stream), replica_id))

    def _sample_labels(self, batch, seed):
        """G's labels: random dataset label rows (official) or uniform classes (`label_sampling`)."""
        num_rows = tf.shape(self.label_rows)[0]
        num_classes = self.label_rows.shape[1]
        if self.config.label_sampling == "uniform" and num_classes:
            idx = tf.random.stateless_uniform([batch], seed, 0, num_classes, dtype=tf.int32)
            return tf.one_hot(idx, num_classes, dtype=tf.float32)
        idx = tf.random.stateless_uniform([batch], seed, 0, num_rows, dtype=tf.int32)
        return tf.gather(self.label_rows, idx)

    def _scale(self, name):
        """The loss scale (mixed_float16) or 1."""
        if not self.loss_scaling:
            return tf.constant(1.0)
        return tf.pow(2.0, self.log2_loss_scale[name])

    def _gradients(self, tape, scaled_loss, model, res, name):
        """Unscaled gradients of the variables this stage uses (others get None: native-resolution
        compute, which equals official's zero gradient on freshly reset Adam moments)."""
        grads = tape.gradient(scaled_loss, model.trainable_variables)
        active = [i for i, g in enumerate(grads) if g is not None]
        if not active:  # a loss computed off the tape would silently train nothing
            raise RuntimeError(f"no gradient reaches {model.name} at resolution {res}")
        self._active[(model.name, res)] = active
        scale = self._scale(name)
        return [g / scale for g in grads if g is not None]

    def _variables(self, model, res):
        variables = model.trainable_variables
        return [variables[i] for i in self._active[(model.name, res)]]

    def _apply(self, name, variables, grads, loss):
        """Apply averaged gradients; skip the step (moments and counter too) if any is NaN/Inf.

        Under mixed_float16 the loss scale then moves as official: log2 +inc after a finite
        step, −dec after an overflow (docs/design.md#optimizers)."""
        optimizer = self.d_opt if name == "d" else self.g_opt
        # After the all-reduce every replica holds the same gradients: check this worker's first
        # copy, so every worker takes the same branch.
        local = [self.strategy.experimental_local_results(g)[0] for g in grads]
        finite = tf.reduce_all([tf.reduce_all(tf.math.is_finite(g)) for g in local])
        finite = tf.logical_and(finite, tf.math.is_finite(loss))
        if self.loss_scaling:
            cfg = self.config
            self.log2_loss_scale[name].assign_add(
                tf.where(finite, cfg.loss_scaling_inc, -cfg.loss_scaling_dec))

        def apply():
            optimizer.apply(grads, variables)
            return tf.constant(True)

        return tf.cond(finite, apply, lambda: tf.constant(False))

    def _update_ema(self):
        """Gs ← G + (Gs − G)·β for every G weight (official setup_as_moving_average_of)."""
        beta = self.config.g_smoothing

        def lerp(ema_var, var):
            return ema_var.assign(var + (ema_var - var) * beta)

        for ema_var, var in zip(self.G_ema.weights, self.G.weights):
            # Per device under a strategy: each copy of Gs is updated from the same device's G.
            self.strategy.extended.update(ema_var.value, lerp, args=(var.value,), group=False)


def _replica_seed(seed, replica_id):
    """Each replica draws its own latents/mix factors/labels (official: per-GPU draws)."""
    return tf.random.experimental.stateless_fold_in(seed, tf.cast(replica_id, tf.int64))
