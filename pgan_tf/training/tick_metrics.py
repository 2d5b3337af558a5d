"""A tick's metrics and the non-finite-step guard, kept on the device.

The training step adds its losses to device variables and counts skipped steps there, so the loop
never turns a tensor into a Python value between ticks (a host sync per step stalls a GPU
pipeline); `read_and_reset` is the one read per tick.

The NaN guard's bookkeeping lives here too: `consecutive` counts non-finite steps in a row, and
once it reaches `max_nonfinite_steps` the guard records the images seen after that step in
`halted_at` and every later step becomes a no-op (`running()` is false), so nothing after the
limit changes a weight. The loop notices at its next tick boundary and stops with the kimg and
skipped count recorded here — the same figures as when it checked every step.
"""
import dataclasses

import tensorflow as tf

# Capacity of the metric-sum vector; a step reports ~14 scalars (losses.d_loss/g_loss terms).
# The keys are fixed when the first step is traced, so the variable is allocated before that.
MAX_METRICS = 32


@dataclasses.dataclass
class TickReading:
    """One tick's figures as Python values: metric means over finite steps, steps skipped."""

    means: dict
    finite_steps: int
    skipped: int
    halted_at: int  # images seen after the step that reached the limit; -1 while running
    halted_from: int  # images seen before that step (its stage), -1 while running

    @property
    def halted(self):
        return self.halted_at >= 0


class TickMetrics:
    """Device variables: metric sums, finite/skipped step counts, the consecutive-bad guard."""

    def __init__(self, max_nonfinite_steps):
        """Create the variables (in the caller's distribution scope, beside the models)."""
        self.max_nonfinite_steps = int(max_nonfinite_steps)
        self.keys = None  # sorted metric names, fixed by the first traced step
        self.sums = _variable(tf.zeros([MAX_METRICS], tf.float64), "tick_metric_sums")
        self.finite_steps = _variable(tf.constant(0, tf.int64), "tick_finite_steps")
        self.skipped = _variable(tf.constant(0, tf.int64), "tick_skipped_steps")
        self.consecutive = _variable(tf.constant(0, tf.int64), "consecutive_nonfinite_steps")
        # [images seen before, after] the step that reached the limit; -1 while running.
        self.halted = _variable(tf.constant([-1, -1], tf.int64), "nonfinite_halt_images")

    def running(self):
        """Scalar bool tensor: false once the non-finite limit was reached."""
        return self.halted[1] < 0

    def record(self, metrics, finite, images_seen, minibatch):
        """Inside the step: add finite steps' metrics, count a skipped one, arm the halt.

        `images_seen`/`minibatch`: int64 scalars, images before this step and the global batch.
        Returns the ops' grouping so the caller can order its outputs after them.
        """
        keys = sorted(metrics)
        if self.keys is None:
            if len(keys) > MAX_METRICS:
                raise ValueError(f"{len(keys)} step metrics exceed MAX_METRICS={MAX_METRICS}")
            self.keys = keys
        elif keys != self.keys:
            raise ValueError(f"step metrics changed: {self.keys} -> {keys}")
        values = tf.stack([tf.cast(metrics[k], tf.float64) for k in keys])  # [M]
        values = tf.pad(values, [[0, MAX_METRICS - len(keys)]])  # [MAX_METRICS]
        bad = tf.logical_not(finite)
        consecutive = tf.where(bad, self.consecutive + 1, tf.zeros([], tf.int64))
        limit = consecutive >= self.max_nonfinite_steps
        return tf.group(
            self.sums.assign_add(tf.where(finite, values, tf.zeros_like(values))),
            self.finite_steps.assign_add(tf.cast(finite, tf.int64)),
            self.skipped.assign_add(tf.cast(bad, tf.int64)),
            self.consecutive.assign(consecutive),
            self.halted.assign(tf.where(limit, tf.stack([images_seen, images_seen + minibatch]),
                                        self.halted)))

    def read_and_reset(self):
        """The tick's figures (one device read), then zero the per-tick sums and counts.

        The consecutive count and the halt persist: a run of bad steps may span ticks."""
        sums, finite, skipped, halted = (v.numpy() for v in (
            self.sums, self.finite_steps, self.skipped, self.halted))
        self.sums.assign(tf.zeros_like(self.sums))
        self.finite_steps.assign(0)
        self.skipped.assign(0)
        keys = self.keys or []
        means = {k: float(sums[i]) / max(int(finite), 1) for i, k in enumerate(keys)}
        if not finite:
            means = {}  # as before: a tick without a finite step logs no losses
        return TickReading(means, int(finite), int(skipped), int(halted[1]), int(halted[0]))


def _variable(initial, name):
    return tf.Variable(initial, trainable=False, name=name)
