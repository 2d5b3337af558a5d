"""Discriminator augmentation state for the training step: p, its ADA controller, the draws.

`DAugment` (a `tf.Module`, so a `tf.train.Checkpoint` saves it) holds the augmentation probability
p as a device variable. `--d_augment=fixed` keeps p at `--d_augment_p`; `--d_augment=ada` starts
there and moves it inside the compiled step (no host round trip) as StyleGAN2-ADA (Karras et al.
2020, §3): every `d_augment_interval` D steps,

    p += sign(r_t - target) * (minibatch * interval) / (speed_kimg * 1000),
    clipped to [0, min(p_max, largest float32 < 1)],

so p can cross [0, 1] in `speed_kimg` thousand images. `p_max` (`--d_augment_p_max`, default 0.8)
is ADA's safe bound against leaks (§2.2, Fig. 4): p gates every op, so no op is executed with a
higher probability (the arbitrary rotation, drawn twice with 1 - sqrt(1 - p) each, is executed at
all with probability p). A resume may change p_max: the p in use is min(p, p_max) at once.

The overfitting statistic r_t. ADA uses r_t = E[sign(D(x_real))] for logistic-loss logits, which
are calibrated: 0 is where D is undecided, so r_t is "how many reals D calls real, beyond chance".
A WGAN-GP critic has no such zero: its loss is invariant to adding a constant to every score,
and only the drift term eps * D(real)^2 (eps = 0.001) pulls the scores towards 0, weakly, so
sign(D(real)) would measure that slowly drifting offset, not D's confidence. We therefore measure
the reals against the fakes D sees in the same step:

    r_t = E_i[ sign(D(aug(real_i)) - mean_j D(aug(fake_j))) ],

the share of reals scored above the mean fake, mapped to [-1, 1] like ADA's. It is invariant to
the critic's offset (and scale), 0 when reals and fakes get the same score distribution (D cannot
tell them apart; symmetric distributions), and 1 when every real outscores the average fake (D
separates or memorises its reals). ADA's target 0.6 then means "80 % of reals above the fake
mean". Both scores are on augmented images, as in ADA (the logits of the loss). Computed per
replica, reduced across replicas with the other metrics, so one controller drives the whole run.
"""
import numpy as np
import tensorflow as tf

from pgan_tf.training import d_augment

# Streams of augmentation draws, folded into the step's own per-stream seeds (step.py): the D
# step's reals and fakes get independent draws, the G step's fakes their own.
STREAM_D_REALS, STREAM_D_FAKES, STREAM_G_FAKES = 1001, 1002, 1003
# The "clipped to [0, 1)": the largest float32 below 1 (bounds p even at --d_augment_p_max=1).
P_BELOW_ONE = float(np.nextafter(np.float32(1.0), np.float32(0.0)))


def make_augmenter(config):
    """A `DAugment` for `--d_augment=fixed|ada`, or None for `none` (the paper's runs)."""
    if config.d_augment == "none":
        return None
    return DAugment(config)


def overfit_statistic(real_scores, fake_scores):
    """Mean over reals of sign(D(real_i) - mean_j D(fake_j)) (see module docstring); [] float32."""
    real = tf.reshape(tf.cast(real_scores, tf.float32), [-1])   # [N, 1] -> [N]
    fake = tf.reduce_mean(tf.cast(fake_scores, tf.float32))
    return tf.reduce_mean(tf.sign(real - fake))


def adjusted_p(p, statistic, target, images, speed_kimg, p_max):
    """ADA's update: p + sign(r_t - target) * images / (speed_kimg * 1000), clipped to [0, p_max]
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
        self.last_rt = tf.Variable(0.0, name="last_rt", **var)        # r_t of the last update

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

    def update(self, statistic, finite, images):
        """One D step done (cross-replica context): accumulate r, adjust p every interval.

        `statistic`: this step's r (reduced over replicas); `finite`: whether the D step was
        applied (a skipped NaN/Inf step does not count); `images`: the global minibatch."""
        if not self.adaptive:
            return
        cfg = self.config
        statistic = tf.where(finite, statistic, 0.0)
        self.sign_sum.assign_add(statistic)
        self.sign_steps.assign_add(tf.where(finite, 1.0, 0.0))
        self.images.assign_add(tf.where(finite, tf.cast(images, tf.float32), 0.0))
        due = self.sign_steps >= cfg.d_augment_interval
        r_t = self.sign_sum / tf.maximum(self.sign_steps, 1.0)
        new_p = adjusted_p(self.current_p(), r_t, cfg.d_augment_target, self.images,
                           cfg.d_augment_speed_kimg, self.p_max)
        self.p.assign(tf.where(due, new_p, self.p))
        self.last_rt.assign(tf.where(due, r_t, self.last_rt))
        for var in (self.sign_sum, self.sign_steps, self.images):
            var.assign(tf.where(due, 0.0, var))

    def tick_values(self):
        """{'aug_p': p now, 'aug_rt_last': r_t of the last adjustment (ada)} for the tick line."""
        values = {"aug_p": float(self.current_p().numpy())}
        if self.adaptive:
            values["aug_rt_last"] = float(self.last_rt.numpy())
        return values
