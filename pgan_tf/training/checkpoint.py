"""Checkpoints with `tf.train.CheckpointManager`: everything needed to continue a run exactly.

A checkpoint holds G, D, G_ema, both optimizers (moments and step counters: official PGAN loses
them on resume, REFERENCE §3.8), `images_seen` (int64 count of real images shown to D, which drives
the schedule) and the count of skipped non-finite steps. No RNG state is needed: every random draw
is a stateless function of (seed, images_seen) (see step.py). With `--d_augment`, also the
augmentation probability p and ADA's controller state (training/ada.py).

Rolling checkpoints (`keep_checkpoints` newest) live in `run_dir/checkpoints/`; one checkpoint every
`keep_checkpoint_every_kimg` is also written to `run_dir/checkpoints/milestones/` and never deleted.
Restoring validates a checkpoint by reading every tensor first (TF restores lazily, so a corrupt
file would otherwise fail later, outside any fallback) and falls back to the previous good one.
"""
import glob
import os
import shutil
import sys

import tensorflow as tf

from pgan_tf.errors import UserError

CHECKPOINT_DIR = "checkpoints"
MILESTONE_DIR = "milestones"


class Checkpointer:
    """Save/restore the training state of a `Trainer` plus counters (images, skipped, ticks, phase)."""

    def __init__(self, run_dir, trainer, keep, keep_every_images, read_dir=None):
        """Writes under `run_dir`; restores from `read_dir` (default `run_dir`): a non-chief
        worker writes to a temporary folder but resumes from the chief's checkpoints."""
        self.images_seen = tf.Variable(0, dtype=tf.int64, trainable=False, name="images_seen")
        self.skipped_steps = tf.Variable(0, dtype=tf.int64, trainable=False, name="skipped_steps")
        self.ticks = tf.Variable(0, dtype=tf.int64, trainable=False, name="ticks")
        # (floor(lod), ceil(lod)) of the last trained step, so a resume right at a phase boundary
        # still resets Adam exactly like an uninterrupted run; empty = no step trained yet.
        self.phase_key = tf.Variable([-1, -1], dtype=tf.int64, trainable=False, name="phase_key")
        self.checkpoint = tf.train.Checkpoint(
            G=trainer.G, D=trainer.D, G_ema=trainer.G_ema, g_opt=trainer.g_opt, d_opt=trainer.d_opt,
            images_seen=self.images_seen, skipped_steps=self.skipped_steps, ticks=self.ticks,
            phase_key=self.phase_key, d_log2_loss_scale=trainer.log2_loss_scale["d"],
            g_log2_loss_scale=trainer.log2_loss_scale["g"],
            # --d_augment's p and ADA's accumulators (issue 13), only when augmenting.
            **({"d_augment": trainer.augment} if trainer.augment is not None else {}))
        self.directory = os.path.join(run_dir, CHECKPOINT_DIR)
        self.manager = tf.train.CheckpointManager(self.checkpoint, self.directory, max_to_keep=keep)
        self.milestones = tf.train.CheckpointManager(
            self.checkpoint, os.path.join(self.directory, MILESTONE_DIR), max_to_keep=None)
        self.keep_every_images = keep_every_images
        if read_dir is None or os.path.abspath(read_dir) == os.path.abspath(run_dir):
            self.readers = (self.manager, self.milestones)
            for manager in self.readers:
                _remove_partial_saves(manager)
        else:
            read = os.path.join(read_dir, CHECKPOINT_DIR)
            self.readers = (tf.train.CheckpointManager(self.checkpoint, read, max_to_keep=None),
                            tf.train.CheckpointManager(self.checkpoint,
                                                       os.path.join(read, MILESTONE_DIR),
                                                       max_to_keep=None))

    def save(self, images_seen, skipped_steps, last_saved_images, ticks, phase_key):
        """Save (numbered by images seen); also a milestone when a K-kimg boundary was crossed."""
        self.images_seen.assign(images_seen)
        self.skipped_steps.assign(skipped_steps)
        self.ticks.assign(ticks)
        self.phase_key.assign(list(phase_key) if phase_key else [-1, -1])
        path = self.manager.save(checkpoint_number=images_seen)
        every = self.keep_every_images
        if every and images_seen // every > last_saved_images // every:
            self.milestones.save(checkpoint_number=images_seen)
        return path

    def kept(self):
        """For a failed save's message: which checkpoint is still there to resume from."""
        latest = self.manager.latest_checkpoint
        return (f"the previous checkpoint {latest} is intact" if latest
                else "no checkpoint of this run was written yet")

    def candidates(self):
        """Checkpoint paths newest first (rolling ones, then milestones), without duplicates."""
        seen, out = set(), []
        for manager in self.readers:
            for path in reversed(manager.checkpoints):
                number = path.rsplit("-", 1)[-1]
                if number not in seen:
                    seen.add(number)
                    out.append(path)
        return sorted(out, key=lambda p: int(p.rsplit("-", 1)[-1]), reverse=True)

    def restore_latest(self):
        """Restore the newest readable checkpoint; returns its path, or None if there is none.

        A checkpoint that cannot be read is reported on stderr and skipped. If checkpoints exist
        but none can be read, raise UserError rather than silently start from scratch.
        """
        candidates = self.candidates()
        for path in candidates:
            problem = validate_checkpoint(path)
            if problem is None:
                self.checkpoint.restore(path).assert_existing_objects_matched()
                return path
            print(f"warning: checkpoint {path} is unreadable ({problem}); trying the previous one",
                  file=sys.stderr)
        if candidates:
            raise UserError(f"no readable checkpoint in {self.directory}; move the run dir away "
                            "to start over")
        return None


def _remove_partial_saves(manager):
    """Delete what a save killed midway left: TF's `*_temp` folders and files of checkpoint
    numbers the state file never recorded, so repeated kills cannot fill the disk."""
    directory = manager.directory
    known = {os.path.basename(p) for p in manager.checkpoints}
    for path in glob.glob(os.path.join(directory, "ckpt-*")):
        name = os.path.basename(path)
        prefix = name.split(".", 1)[0]
        if "_temp" in name:
            shutil.rmtree(path, ignore_errors=True) if os.path.isdir(path) else os.remove(path)
        elif prefix not in known and os.path.isfile(path):
            os.remove(path)


def validate_checkpoint(path):
    """Read every tensor of a checkpoint; returns None if fine, else a short description."""
    try:
        reader = tf.train.load_checkpoint(path)
        for name in reader.get_variable_to_shape_map():
            reader.get_tensor(name)
    except Exception as err:  # noqa: BLE001  corrupt files raise OpError, IndexError, ValueError...
        return f"{type(err).__name__}: {str(err).splitlines()[0][:200]}"
    return None
