"""`--strategy`: TensorFlow's own distribution, no home-made all-reduce.

- `default`: one device (the default strategy).
- `mirrored`: `tf.distribute.MirroredStrategy` over the GPUs of one machine.
- `multi_worker`: `tf.distribute.MultiWorkerMirroredStrategy` across machines, described by the
  `TF_CONFIG` environment variable. Every worker runs the same command with the same shared
  `--run_dir`; the chief writes the run dir, the others write their (required) checkpoint copies
  to temporary folders that are deleted again — the documented pattern, since a save only the chief
  calls would deadlock the collective ops inside it.

The schedule's minibatch is the global batch, split over replicas
(docs/design.md#minibatch-per-resolution).
"""
import json
import os
import shutil
import tempfile

import tensorflow as tf

from pgan_tf.errors import UserError


def make_strategy(name):
    """The strategy for `--strategy`; must run before any other TensorFlow op (multi-worker)."""
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multi_worker":
        if not os.environ.get("TF_CONFIG"):
            raise UserError("--strategy=multi_worker needs the TF_CONFIG environment variable "
                            "(cluster and this worker's task); see README 'Several machines'")
        try:
            json.loads(os.environ["TF_CONFIG"])
        except ValueError as err:
            raise UserError(f"TF_CONFIG is not valid JSON: {err}") from None
        return tf.distribute.MultiWorkerMirroredStrategy()
    raise UserError(f"--strategy={name}: unknown")


def is_chief(strategy):
    """True for the one worker that writes the run dir (always true without a cluster)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return True
    if resolver.task_type == "chief":
        return True
    has_chief = "chief" in resolver.cluster_spec().as_dict()
    return resolver.task_type == "worker" and resolver.task_id == 0 and not has_chief


def any_worker(strategy, flag):
    """True on every worker once `flag` is true on any one of them.

    A cluster scheduler sends SIGTERM to the one machine it preempts, but a checkpoint save is a
    collective that needs every worker: under `multi_worker` the flag of each worker is summed
    across the cluster once per step (one scalar all-reduce), so all workers see the stop at the
    same step, save the same final checkpoint and exit 0 together. Elsewhere: `flag` as is.
    """
    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return bool(flag)
    local = strategy.run(lambda: tf.constant(1.0 if flag else 0.0))
    return bool(strategy.reduce(tf.distribute.ReduceOp.SUM, local, axis=None) > 0)


def distribute(strategy, dataset):
    """Split each global batch over the replicas (data sharding across workers)."""
    if strategy.num_replicas_in_sync == 1:
        return dataset
    options = tf.data.Options()
    # One TFRecord file per resolution: shard by element, not by file.
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return strategy.experimental_distribute_dataset(dataset.with_options(options))


class WorkerDir:
    """The run dir for the chief; a throw-away temporary folder for every other worker."""

    def __init__(self, run_dir, chief):
        self.chief = chief
        self.path = run_dir if chief else tempfile.mkdtemp(prefix="pgan_tf_worker_")

    def cleanup(self):
        if not self.chief:
            shutil.rmtree(self.path, ignore_errors=True)
