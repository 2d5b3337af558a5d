"""Discriminator augmentation state for the training step: p, its ADA controller, the draws.

`DAugment` (a `tf.Module`, so a `tf.train.Checkpoint` saves it) holds the augmentation probability
p as a device variable. `--d_augment=fixed` keeps p at `--d_augment_p`; `--d_augment=ada` starts
there and moves it inside the compiled step (no host round trip) as StyleGAN2-ADA (Karras et al.
2020, §3): every `d_augment_interval` D steps,

    p += sign(r - target) * (minibatch * interval) / (speed_kimg * 1000),
    clipped to [0, min(p_max, largest float32 < 1)],

so p can cross [0, 1] in `speed_kimg` thousand images. `p_max` (`--d_augment_p_max`, default 0.8)
is ADA's safe bound against leaks (§2.2, Fig. 4): p gates every op, so no op is executed with a
higher probability (the arbitrary rotation, drawn twice with 1 - sqrt(1 - p) each, is executed at
all with probability p). A resume may change p_max: the p in use is min(p, p_max) at once.

Overfitting statistics (`--d_augment_heuristic`). ADA's r_t = E[sign(D(x_real))] assumes
calibrated logistic logits (0 = undecided). A WGAN-GP critic has no such zero: its loss ignores a
constant added to every score, and only the weak drift term eps * D(real)^2 pulls the scores
towards 0.

- rv (default): ADA's validation heuristic (Karras et al. 2020, §3, eq. 1),

      r_v = (E D(train) - E D(held-out)) / (E D(train) - E D(fake)),

  with D's scores on augmented training reals, augmented held-out reals (data/heldout.py; scored
  without gradients, never trained on) and augmented fakes. It is free of the critic's offset and
  scale; 0 when D scores reals it never saw like its training reals (no memorisation), 1 when it
  scores them like fakes (full memorisation). Its target is ADA's 0.5 for r_v: halfway. It
  measures what augmentation fixes, D's memorisation of its training reals, and not how far G
  still is from the data (the denominator scales that out). When D ranks fakes at or above its
  training reals (denominator <= 0) r_v is sign(numerator). The three means are summed over the
  controller's interval (and over a tick for the log), then divided.
- rt: E_i[sign(D(real_i) - m)] with m = (mean D(real) + mean D(fake)) / 2 of the same batch,
  the real/fake midpoint: the share of reals on the real side of the midpoint, mapped to
  [-1, 1]. Comparing with the mean fake instead (as before) doubled the statistic's sensitivity:
  for equal-variance Gaussian scores r_t reaches 0.6 at a gap of 1.68 sigma with the midpoint (as
  ADA's sign of a logit), 0.84 sigma with the fake mean. Target ADA's 0.6. It needs no held-out
  set, but with a WGAN critic it tracks how well D separates G's fakes (high from the first kimg
  while G is poor) more than memorisation.

Both are computed per replica on the step's images, reduced across replicas with the other
metrics, so one controller drives the whole run. Below `--d_augment_min_res` nothing is gathered.
"""
import numpy as np
import tensorflow as tf

from pgan_tf.training import d_augment

# Streams of augmentation draws, folded into the step's own per-stream seeds (step.py): the D
# step's reals and fakes get independent draws, the G step's fakes their own; the held-out reals'
# pick and augmentation theirs.
STREAM_D_REALS, STREAM_D_FAKES, STREAM_G_FAKES = 1001, 1002, 1003
STREAM_HELDOUT_PICK, STREAM_HELDOUT_AUG = 1004, 1005
# Step metrics of the statistics, each weighted by STAT_WEIGHT (1 where gathered, 0 below
# --d_augment_min_res), so a tick's means give the statistics over the steps that gathered them.
STAT_WEIGHT, STAT_RT = "ovf_w", "ovf_rt"
STAT_REAL, STAT_HELDOUT, STAT_FAKE = "ovf_real", "ovf_heldout", "ovf_fake"
# The "clipped to [0, 1)": the largest float32 below 1 (bounds p even at --d_augment_p_max=1).
P_BELOW_ONE = float(np.nextafter(np.float32(1.0), np.float32(0.0)))


def make_augmenter(config):
    """A `DAugment` for `--d_augment=fixed|ada`, a `DiffAugment` for `diffaug`, or None for
    `none` (the paper's runs)."""
    if config.d_augment == "none":
        return None
    if config.d_augment == "diffaug":
        from pgan_tf.training.diffaug import DiffAugment
        return DiffAugment(config)
    return DAugment(config)


def overfit_statistic(real_scores, fake_scores):
    """r_t: mean over reals of sign(D(real_i) - midpoint), midpoint = (mean D(real) + mean
    D(fake)) / 2 of this batch (see module docstring); [] float32."""
    real = tf.reshape(tf.cast(real_scores, tf.float32), [-1])   # [N, 1] -> [N]
    fake = tf.reduce_mean(tf.cast(fake_scores, tf.float32))
    return tf.reduce_mean(tf.sign(real - 0.5 * (tf.reduce_mean(real) + fake)))


def rv_statistic(train, heldout, fake):
    """r_v = (train - heldout) / (train - fake) of mean scores (or sums over the same steps);
    sign(train - heldout) when D does not rank its training reals above the fakes."""
    num, den = train - heldout, train - fake
    return tf.where(den > 0, num / tf.where(den > 0, den, 1.0), tf.sign(num))


def tick_statistics(means):
    """The tick's statistics from its metric means (pops the weighted STAT_* keys): aug_rt,
    and with held-out reals aug_rv and d_heldout; {} for a tick that gathered none."""
    weight = means.pop(STAT_WEIGHT, 0.0)
    sums = {k: means.pop(k) for k in (STAT_RT, STAT_REAL, STAT_HELDOUT, STAT_FAKE) if k in means}
    if weight <= 0:
        return {}
    out = {"aug_rt": sums[STAT_RT] / weight}
    if STAT_HELDOUT in sums:
        out["aug_rv"] = float(rv_statistic(sums[STAT_REAL], sums[STAT_HELDOUT], sums[STAT_FAKE]))
        out["d_heldout"] = sums[STAT_HELDOUT] / weight
    return out


def adjusted_p(p, statistic, target, images, speed_kimg, p_max):
    """ADA's update: p + sign(r - target) * images / (speed_kimg * 1000), clipped to [0, p_max]
    (`p_max` itself below 1: see `DAugment.p_max`)."""
    step = tf.sign(statistic - target) * tf.cast(images, tf.float32) / (speed_kimg * 1000.0)
    return tf.clip_by_value(p + step, 0.0, p_max)


class DAugment(tf.Module):
    """p (and the ADA accumulators) as variables; create inside the strategy's scope."""

    def __init__(self, config):
        super().__init__(name="d_augment")
        self.config = config
        named = {g.strip() for g in config.d_augment_ops.split(",")}
        self.groups = tuple(g for g in d_augment.GROUPS if g in named)
        self.adaptive = config.d_augment == "ada"
        self.p_max = min(config.d_augment_p_max, P_BELOW_ONE)  # float: a setting, not state
        # One value for every replica, written only in cross-replica context (the controller).
        var = dict(trainable=False, dtype=tf.float32,
                   synchronization=tf.VariableSynchronization.ON_WRITE,
                   aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)
        self.p = tf.Variable(config.d_augment_p, name="p", **var)
        self.sign_sum = tf.Variable(0.0, name="sign_sum", **var)      # sum of r over the interval
        self.sign_steps = tf.Variable(0.0, name="sign_steps", **var)  # finite steps summed
        self.images = tf.Variable(0.0, name="images", **var)          # images since last update
        self.last_rt = tf.Variable(0.0, name="last_rt", **var)  # statistic of the last update
        # rv: sums of the mean scores on training reals, held-out reals and fakes.
        self.real_sum = tf.Variable(0.0, name="real_sum", **var)
        self.heldout_sum = tf.Variable(0.0, name="heldout_sum", **var)
        self.fake_sum = tf.Variable(0.0, name="fake_sum", **var)

    def __call__(self, images, seed):
        """Augment one replica's images with the current p (draws from `seed`, int64 [2])."""
        return d_augment.augment(images, self.current_p(), seed, self.groups)

    def current_p(self):
        """The p in use. `ada`: the variable, capped by this run's p_max (a resume may lower it).
        `fixed`: this run's --d_augment_p, so a resume with another value uses it (a setting, like
        the learning rates; the restored variable only keeps the checkpoint's structure)."""
        if not self.adaptive:
            return tf.constant(min(self.config.d_augment_p, self.p_max), tf.float32)
        return tf.minimum(self.p, self.p_max)

    @staticmethod
    def seed(step_seed, stream):
        """The draw seed of `stream` (STREAM_*) from one of the step's per-stream seeds."""
        return tf.random.experimental.stateless_fold_in(step_seed, stream)

    def update(self, stats, finite, images):
        """One D step done (cross-replica context): accumulate the statistic, adjust p every
        interval.

        `stats`: this step's STAT_* metrics (reduced over replicas); `finite`: whether the D step
        was applied (a skipped NaN/Inf step does not count); `images`: the global minibatch."""
        if not self.adaptive:
            return
        cfg = self.config
        keep = lambda v: tf.where(finite, tf.cast(v, tf.float32), 0.0)  # noqa: E731
        self.sign_sum.assign_add(keep(stats[STAT_RT]))
        if cfg.d_augment_heuristic == "rv":
            for var, key in ((self.real_sum, STAT_REAL), (self.heldout_sum, STAT_HELDOUT),
                             (self.fake_sum, STAT_FAKE)):
                var.assign_add(keep(stats[key]))
        self.sign_steps.assign_add(tf.where(finite, 1.0, 0.0))
        self.images.assign_add(tf.where(finite, tf.cast(images, tf.float32), 0.0))
        due = self.sign_steps >= cfg.d_augment_interval
        if cfg.d_augment_heuristic == "rv":
            statistic = rv_statistic(self.real_sum, self.heldout_sum, self.fake_sum)
        else:
            statistic = self.sign_sum / tf.maximum(self.sign_steps, 1.0)
        new_p = adjusted_p(self.current_p(), statistic, cfg.d_augment_target, self.images,
                           cfg.d_augment_speed_kimg, self.p_max)
        self.p.assign(tf.where(due, new_p, self.p))
        self.last_rt.assign(tf.where(due, statistic, self.last_rt))
        for var in (self.sign_sum, self.sign_steps, self.images, self.real_sum, self.heldout_sum,
                    self.fake_sum):
            var.assign(tf.where(due, 0.0, var))

    def tick_values(self):
        """{'aug_p': p now, 'aug_stat_last': the statistic of the last adjustment (ada)}."""
        values = {"aug_p": float(self.current_p().numpy())}
        if self.adaptive:
            values["aug_stat_last"] = float(self.last_rt.numpy())
        return values
