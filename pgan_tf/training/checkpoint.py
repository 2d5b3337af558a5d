"""Checkpoints with `tf.train.CheckpointManager`: everything needed to continue a run exactly.

A checkpoint holds G, D, G_ema, both optimizers (moments and step counters: official PGAN loses
them on resume, docs/design.md#ticks-snapshots-and-resume), `images_seen` (int64 count of real
images shown to D, which drives the schedule) and the count of skipped non-finite steps. No RNG
state is needed: every random draw is a stateless function of (seed, images_seen) (see step.py).
With `--d_augment`, also the augmentation probability p and ADA's controller state
(training/ada.py).

Rolling checkpoints (`keep_checkpoints` newest) live in `run_dir/checkpoints/`; one checkpoint every
`keep_checkpoint_every_kimg` is also written to `run_dir/checkpoints/milestones/` and never deleted.
Restoring takes the newest READABLE checkpoint (`checkpoint_index.newest_readable`: every tensor
is read first, since TF restores lazily and a corrupt file would otherwise fail later, outside any
fallback); unreadable ones are quarantined in `checkpoints/unreadable/`, never deleted.
"""
import os

import tensorflow as tf

from pgan_tf import fileio
from pgan_tf.training import checkpoint_index
from pgan_tf.training.checkpoint_index import (CHECKPOINT_DIR, MILESTONE_DIR,  # noqa: F401
                                               validate_checkpoint)


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
            # --d_augment's p and ADA's accumulators, only when augmenting.
            **({"d_augment": trainer.augment} if trainer.augment is not None else {}))
        self.directory = os.path.join(run_dir, CHECKPOINT_DIR)
        self.keep = keep
        self.keep_every_images = keep_every_images
        self.read_dir = run_dir if read_dir is None else read_dir
        # Only the writer of the run dir (the chief) moves unreadable checkpoints aside.
        self.owns_read_dir = fileio.abspath(self.read_dir) == fileio.abspath(run_dir)
        if self.owns_read_dir:
            # Before TensorFlow's managers read the state files: they would fail on an empty one
            # and ignore checkpoints a damaged or missing one does not list.
            for folder in checkpoint_index.folders(run_dir):
                _remove_partial_saves(folder)
                checkpoint_index.rebuild_state(folder)
        self._open_managers()

    def _open_managers(self):
        """(Re)read the state files: after a quarantine, a manager must not list it again."""
        self.manager = tf.train.CheckpointManager(self.checkpoint, self.directory,
                                                  max_to_keep=self.keep)
        self.milestones = tf.train.CheckpointManager(
            self.checkpoint, os.path.join(self.directory, MILESTONE_DIR), max_to_keep=None)

    def save(self, images_seen, skipped_steps, last_saved_images, ticks, phase_key):
        """Save (numbered by images seen); also a milestone when a K-kimg boundary was crossed."""
        self.images_seen.assign(images_seen)
        self.skipped_steps.assign(skipped_steps)
        self.ticks.assign(ticks)
        self.phase_key.assign(list(phase_key) if phase_key else [-1, -1])
        path = self.last_good = self.manager.save(checkpoint_number=images_seen)
        every = self.keep_every_images
        if every and images_seen // every > last_saved_images // every:
            self.milestones.save(checkpoint_number=images_seen)
        return path

    def kept(self):
        """For a failed save's message: which checkpoint is still there to resume from."""
        # The checkpoint restored or saved by this process: the newest listed one may be a
        # corrupt one that a read-only run dir kept from being moved aside.
        latest = getattr(self, "last_good", None) or self.manager.latest_checkpoint
        return (f"the previous checkpoint {latest} is intact" if latest
                else "no checkpoint of this run was written yet")

    def restore_latest(self):
        """Restore the newest readable checkpoint; returns its path, or None if there is none.

        Unreadable checkpoints are quarantined (one warning each), newer ones left by a damaged
        timeline superseded (`checkpoint_index`). If checkpoints existed but none can be read,
        raise UserError rather than silently start from scratch.
        """
        found = checkpoint_index.newest_readable(self.read_dir, move=self.owns_read_dir)
        if found is None:
            return None
        images_seen, path = found
        self.checkpoint.restore(path).assert_existing_objects_matched()
        self.last_good = path
        if self.owns_read_dir:
            checkpoint_index.supersede_newer(self.read_dir, images_seen)
            self._open_managers()
            self._restore_milestone(images_seen)
        return path

    def _restore_milestone(self, images_seen):
        """Write the milestone the resumed checkpoint's K-kimg period lacks. An uninterrupted
        run keeps the first checkpoint of every period as a milestone; one killed between its
        rolling and milestone save (or whose milestone was partial, hence removed) resumes past
        it, and that period would otherwise never get one. The restored state is the saved one."""
        every = self.keep_every_images
        if not every or images_seen < every:
            return
        start = images_seen // every * every
        kept = checkpoint_index.on_disk(self.milestones.directory)
        if not any(start <= checkpoint_index.images_of(p) <= images_seen for p in kept):
            self.milestones.save(checkpoint_number=images_seen)


def _remove_partial_saves(folder):
    """Delete what a save killed midway left, so repeated kills cannot fill the disk: a
    `ckpt-N_temp` folder (TensorFlow's own marker of an unfinished save) and the files of that
    `ckpt-N` unless the state file lists it. Never by absence from the state file alone: a run
    copied without its state file, or a damaged state file, must not lose its checkpoints."""
    listed = set(checkpoint_index.read_state(folder)[0])
    for temp in fileio.glob(folder, "ckpt-*_temp"):
        prefix = temp[:-len("_temp")]
        if prefix not in listed:
            for path in fileio.glob(folder, fileio.literal(os.path.basename(prefix)) + ".*"):
                fileio.remove(path)
        fileio.rmtree(temp) if fileio.isdir(temp) else fileio.remove(temp)
