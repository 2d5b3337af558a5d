"""`run(config)`: the progressive training loop — ticks, stage changes, resets, logging, snapshots.

Counted in images shown to D (kimg), as official PGAN (docs/design.md#level-of-detail,
docs/design.md#ticks-snapshots-and-resume): the schedule is a
pure function of `images_seen`, so a resumed run continues at the same stage, alpha and data
position. Each tick ends with a log line and TensorBoard scalars; every `image_snapshot_ticks` a
fake grid; every `snapshot_ticks` a checkpoint. The end of the run — and a stop by SIGTERM/Ctrl-C —
always closes with a final tick: log line, grid, summaries and checkpoint. A stop takes no step
after the signal and, unless it was Ctrl-C, skips the SavedModel export (docs/reliability.md);
a signal before the first step saves nothing, one during the export abandons it (`stop`).
"""
import contextlib
import dataclasses
import os
import signal
import sys
import time

import keras
import numpy as np
import tensorflow as tf

from pgan_tf import disk, fileio, sampling
from pgan_tf.data import integrity, pipeline
from pgan_tf.errors import UserError
from pgan_tf.training import ada, distribute
from pgan_tf import faults
from pgan_tf.training import run_dir as run_dir_lib
from pgan_tf.training.builders import model_factories, schedule_params
from pgan_tf.training.checkpoint import Checkpointer
from pgan_tf.training.dataset_meta import record_verified_files, resolve_dataset, verify_files
from pgan_tf.training.generator import (EXPORT_DIR, export_done, remove_stale_export_temps,
                                       restore_run_generator, save_generator)
from pgan_tf.training.heldout_images import open_heldout
from pgan_tf.training.hparams import write_hparams
from pgan_tf.training.schedule import kimg_to_images, stage_at
from pgan_tf.training.swd_monitor import SwdMonitor, swd_scalars
from pgan_tf.training.step import Trainer
from pgan_tf.training.stop import CLOSING, EXPORT, TRAINING, ExportStopped, StopRequest
from pgan_tf.training.summaries import Reporter, format_log_line

# Official '1080p' grid width: clip(1920 // R, 3, 32) columns
# (docs/design.md#ticks-snapshots-and-resume); one row per class.
_GRID_WIDTH_PX, _GRID_MIN_COLS, _GRID_MAX_COLS = 1920, 3, 32


def configure_runtime(config):
    """Seeds, determinism and precision policy; must run before the models are built."""
    # weight init (official seeds TF from numpy: docs/design.md#schedule-defaults)
    keras.utils.set_random_seed(config.seed)
    if config.deterministic:
        tf.config.experimental.enable_op_determinism()
    keras.mixed_precision.set_global_policy(config.precision)
    # Grappler's remapper tries to fuse Conv2D+BiasAdd+LeakyRelu inside the GP's double-backward
    # graph, fails ("remapper failed: ... LeakyReluGrad exist for missing node", TF 2.21) and logs
    # an error. A failed pass leaves that graph as it was, so for the training step turning it off
    # changes only the log (measured: same step time on the CPU, where oneDNN fuses conv + bias).
    tf.config.optimizer.set_experimental_options({"remapping": False})


@dataclasses.dataclass
class _Tick:
    """Where and when a tick started (its metrics accumulate on the device: `tick_metrics`)."""

    start_images: int
    start_time: float


class _Run:
    """State of one training invocation (kept small: the loop body lives in `train`)."""

    def __init__(self, config):
        fileio.refuse_pattern_characters(config.run_dir, "run_dir")  # before anything is written
        self.config = config
        self.strategy = distribute.make_strategy(config.strategy)  # before any other TF op
        self.chief = distribute.is_chief(self.strategy)
        self.params = schedule_params(config, self.strategy.num_replicas_in_sync)
        self.meta = resolve_dataset(config)
        verified = verify_files(self.meta, config.run_dir)  # refuse changed data before writing
        # Only the chief writes the run dir, so only it holds the run-dir lock (dirlock).
        self.lock = (run_dir_lib.open_run_dir(config, self.meta.class_names, self.meta.sha256)
                     if self.chief else None)
        if self.chief:
            record_verified_files(config.run_dir, verified)
        self.worker_dir = distribute.WorkerDir(config.run_dir, self.chief)
        configure_runtime(config)
        make_g, make_d = model_factories(config)
        self.trainer = Trainer(config, make_g, make_d, self.meta.label_rows, self.strategy)
        # Held-out reals for the overfitting statistic r_v (--heldout_per_class), else None.
        self.heldout_plan, self.heldout = open_heldout(config, self.meta,
                                                       config.run_dir if self.chief else None)
        self.ckpt = Checkpointer(self.worker_dir.path, self.trainer, config.keep_checkpoints,
                                 kimg_to_images(config.keep_checkpoint_every_kimg),
                                 read_dir=config.run_dir)
        self.reporter = Reporter(self.worker_dir.path, self.meta.class_names)
        rows = max(config.num_classes, 1)
        cols = int(np.clip(_GRID_WIDTH_PX // config.resolution, _GRID_MIN_COLS, _GRID_MAX_COLS))
        self.grid_shape = (rows, cols)
        latents, labels = sampling.class_grid_inputs(config.num_classes, cols, config.latent_size,
                                                     config.seed)
        self.grid_latents, self.grid_labels = latents, labels[:, :config.num_classes]
        self.images_seen = self.skipped = self.ticks = self.last_saved = 0
        self.phase_key = None
        self.swd = None  # set once the restore has fixed images_seen (see run)

    def restore(self):
        """Resume from the newest good checkpoint; returns True if one was restored."""
        path = self.ckpt.restore_latest()
        if path is None:
            return False
        self.images_seen = self.last_saved = int(self.ckpt.images_seen.numpy())
        self.skipped = int(self.ckpt.skipped_steps.numpy())
        self.ticks = int(self.ckpt.ticks.numpy())
        key = tuple(int(v) for v in self.ckpt.phase_key.numpy())
        self.phase_key = None if key == (-1, -1) else key
        self.reporter.log(f"Resuming from {path} at kimg {self.images_seen / 1000:.3f}")
        return True

    def generate_grid(self, stage):
        """G_ema samples for the fixed grid latents at the stage's resolution (and fade)."""
        alpha = stage.alpha if stage.fading else None
        return self.trainer.G_ema(self.grid_latents, self.grid_labels, res=stage.resolution,
                                  alpha=alpha, training=False).numpy()

    def save(self):
        faults.reached("checkpoint")
        # A checkpoint that cannot be written stops the run: never train on without one.
        with disk.writing("checkpoint", self.ckpt.directory, kept=self.ckpt.kept,
                          point="checkpoint"):
            path = self.ckpt.save(self.images_seen, self.skipped, self.last_saved,
                                  ticks=self.ticks, phase_key=self.phase_key)
        self.last_saved = self.images_seen
        return path


def run(config, stop=None):
    """Train (or resume) the run described by `config` until `total_kimg`; see module docstring.

    `stop`: the binary's `StopRequest`, installed before TensorFlow loads (a signal then stops
    the run before its first step); without one, the run installs its own."""
    with contextlib.ExitStack() as stack:
        stop = stop if stop is not None else stack.enter_context(StopRequest())
        state = _Run(config)
        try:
            return _run(state, config, stop)
        finally:
            if state.lock is not None:  # also after a graceful SIGTERM stop and after errors
                state.lock.release()


def _run(state, config, stop):
    stop.claim()  # after the strategy started: it may have taken SIGTERM (StopRequest.claim)
    resumed = False if _stop_before_training(stop, config) else state.restore()
    state.swd = SwdMonitor(config, state.meta.train_dir, state.images_seen)
    total = kimg_to_images(config.total_kimg)
    if _stop_before_training(stop, config):
        return _close(state)
    if state.images_seen >= total:
        state.reporter.log(f"Run already reached total_kimg {config.total_kimg:g} "
                           f"(kimg {state.images_seen / 1000:.3f}); nothing to do")
        if state.chief and not export_done(config.run_dir):
            _export_generator(state, stop)  # the run ended before its export was written
        return _close(state)
    reals = _grid_reals(state)  # shown beside the fakes of every grid, also after a resume
    state.reporter.set_reals(reals)
    if not resumed:
        state.reporter.config_text(config.to_dict(), step=0)
        write_hparams(state.worker_dir.path, config)  # TensorBoard HParams table
        _write_reals_grid(state, reals)
        state.reporter.class_grid(state.generate_grid(stage_at(0, state.params)),
                                  *state.grid_shape, kimg=0, step=0)
    stop.phase = TRAINING  # then check: a signal before this line asked to stop before training
    if _stop_before_training(stop, config):
        return _close(state)
    stopped = train(state, total, stop)
    if state.chief:
        _export_or_defer(state, stop, stopped)
    return _close(state)


def _stop_before_training(stop, config):
    """A signal came before the first step: stop, saving nothing. Not under multi_worker: there
    every worker must reach the loop's first (collective) stop check, which stops them all."""
    return stop.requested and config.strategy != "multi_worker"


def _close(state):
    state.reporter.close()
    state.worker_dir.cleanup()
    return state


def _export_or_defer(state, stop, stopped):
    """The SavedModel export at the end of `train`, except after a stop not by a local Ctrl-C.

    The export (restore, trace, write) is the one expensive piece of end-of-training work: seconds
    on an idle machine, up to a minute on a loaded one, which a preemption's grace period may not
    leave. A stop by SIGTERM (or by another worker's signal) therefore exits right after its
    checkpoint, and the export is written when the run ends. Ctrl-C (a person at the terminal,
    who may want to use the generator now) still writes it.
    """
    if stopped and stop.signum != signal.SIGINT:
        print(f"Stopped without writing {EXPORT_DIR} (to exit fast when preempted); it is "
              "written when the run ends (a Ctrl-C stop writes it too)", file=sys.stderr,
              flush=True)
    else:
        _export_generator(state, stop)


def _export_generator(state, stop):
    """`run_dir/export/generator`: G_ema as a SavedModel usable without this package,
    at the newest readable checkpoint (checkpoint_index: the one meaning of "latest").

    Complete or absent: a signal during it abandons it (its temporary folder is removed, exit 0,
    one line) and the next run of the command writes it; temporary folders a killed export left
    are removed first (this process holds the run dir's lock: nobody else writes there)."""
    export_dir = os.path.join(state.config.run_dir, EXPORT_DIR)
    stop.phase = EXPORT
    try:
        remove_stale_export_temps(export_dir)
        run_generator = restore_run_generator(state.config.run_dir, "latest")
        save_generator(run_generator, export_dir)
    except ExportStopped as err:
        print(f"Received {err} during the export: {EXPORT_DIR} was not written (its temporary "
              "folder is removed); rerun the same command to write it", file=sys.stderr,
              flush=True)
    finally:
        stop.phase = CLOSING


def train(state, total, stop):
    """The step loop: data stream per resolution, optimizer resets, ticks, stop handling.
    Returns True if a signal stopped it, False at `total` images."""
    config, trainer = state.config, state.trainer
    stream_key = lr_key = stage = None
    tick = _Tick(state.images_seen, time.time())
    while True:
        # Checked before each step, not after: the next step may start a stage and trace it
        # first (seconds, a minute under load), which a preemption's grace period may not leave.
        if distribute.any_worker(state.strategy, stop.requested):  # a signal to any worker
            _close_stopped(state, stage, tick)
            state.reporter.log(f"Training stopped by signal at kimg {state.images_seen / 1000:.3f}")
            return True
        stage = stage_at(state.images_seen, state.params)
        if stage.phase_key != state.phase_key:
            if state.phase_key is not None and config.reset_opt_for_new_lod:
                trainer.reset_optimizers()
            state.phase_key = stage.phase_key
            faults.reached("stage")
        if (stage.resolution, stage.minibatch) != stream_key:
            stream_key = (stage.resolution, stage.minibatch)
            data_file = pipeline.level_file(state.meta.train_dir, stage.resolution)
            batches = iter(distribute.distribute(state.strategy, pipeline.make_dataset(
                state.meta.train_dir, stage.resolution, stage.minibatch, seed=config.seed,
                start_index=state.images_seen - stage.stream_start_images,
                mirror=config.mirror_augment, cache_mb=config.data_cache_mb,
                balance_classes=config.real_sampling == "balanced",
                exclude=state.heldout_plan["train_excluded"] if state.heldout_plan else None)))
        if (stage.g_lr, stage.d_lr) != lr_key:
            lr_key = (stage.g_lr, stage.d_lr)
            trainer.set_learning_rates(*lr_key)
        with integrity.read_errors(data_file):  # a damaged record: one line, not a traceback
            reals, labels = next(batches)
        faults.reached("step")
        # No Python value is read from the step: its losses and the NaN guard stay on the device
        # until the tick ends (a host sync per step stalls a GPU pipeline).
        trainer.step(reals, labels, stage.resolution, stage.alpha, stage.fading,
                     state.images_seen, stage.minibatch,
                     heldout=state.heldout.at(stage.resolution) if state.heldout else None)
        state.images_seen += stage.minibatch
        done = state.images_seen >= total
        if done or state.images_seen - tick.start_images >= kimg_to_images(stage.tick_kimg):
            _close_tick(state, stage, tick, final=done)
            tick = _Tick(state.images_seen, time.time())
        if done:
            state.reporter.log(f"Training reached total_kimg at kimg {state.images_seen / 1000:.3f}")
            return False


def _close_tick(state, stage, tick, final):
    """Read the tick's device metrics, stop on non-finite steps, else `_end_tick`."""
    reading = state.trainer.tick_metrics.read_and_reset()
    state.skipped += reading.skipped
    if reading.halted:
        _stop_non_finite(state, tick, reading)
    _end_tick(state, stage, tick, reading.means, final=final)


def _close_stopped(state, stage, tick):
    """The stop's final tick: the open tick if it has steps, else (a tick just closed, or no
    step yet) the grid and checkpoint that tick may not have written. No new step is taken."""
    if state.images_seen > tick.start_images:
        _close_tick(state, stage, tick, final=True)
    elif state.images_seen > state.last_saved:  # the tick just closed was not a snapshot tick
        state.reporter.class_grid(state.generate_grid(stage), *state.grid_shape,
                                  kimg=state.images_seen // 1000, step=state.images_seen)
        state.save()


def _stop_non_finite(state, tick, reading):
    """`max_nonfinite_steps` consecutive non-finite steps: close the tick at the step that hit
    the limit (the steps after it were no-ops), keep the last good checkpoint, stop."""
    state.images_seen = reading.halted_at
    _end_tick(state, stage_at(reading.halted_from, state.params), tick, reading.means, save=False)
    raise UserError(f"{state.config.max_nonfinite_steps} consecutive non-finite training steps "
                    f"at kimg {state.images_seen / 1000:.3f}; last good checkpoint: "
                    f"{state.ckpt.manager.latest_checkpoint}. Lower the learning rates "
                    "or resume from an earlier checkpoint.")


def _end_tick(state, stage, tick, means, final=False, save=True):
    """Log line, scalars, grid and checkpoint as the cadence (or the end of the run) asks."""
    config = state.config
    state.ticks += 1
    seconds = max(time.time() - tick.start_time, 1e-9)
    images = state.images_seen - tick.start_images
    means = dict(means)
    statistics = ada.tick_statistics(means)  # aug_rt (aug_rv, d_heldout) from the weighted sums
    values = {"tick": state.ticks, "kimg": state.images_seen / 1000, "res": stage.resolution,
              "alpha": stage.alpha, "minibatch": stage.minibatch, **means,
              "sec_per_kimg": seconds / max(images / 1000, 1e-9), "img_per_s": images / seconds,
              "skipped": state.skipped, **statistics, **_swd_values(state, stage),
              **(state.trainer.augment.tick_values() if state.trainer.augment else {})}
    state.reporter.log(format_log_line(values))
    step = state.images_seen
    state.reporter.scalars({**values, "lod": stage.lod, "g_lr": stage.g_lr, "d_lr": stage.d_lr},
                           step=step)
    if final or state.ticks % config.image_snapshot_ticks == 0:
        state.reporter.class_grid(state.generate_grid(stage), *state.grid_shape,
                                  kimg=state.images_seen // 1000, step=step)
    if save and (final or state.ticks % config.snapshot_ticks == 0):
        state.save()


def _swd_values(state, stage):
    """swd_avg, swd_<res> for this tick's line and scalars when --swd_every_kimg is due (chief)."""
    if not (state.chief and state.swd.due(state.images_seen)):
        return {}
    result = state.swd.measure(state.trainer.G_ema, stage, state.images_seen)
    return swd_scalars(result) if result else {}


def _grid_reals(state):
    """float [K, cols, R, R, C]: the first `cols` training images of each class (-1 = black where
    a class has fewer)."""
    rows, cols = state.grid_shape
    config = state.config
    picked = [[] for _ in range(rows)]
    batches = pipeline.make_dataset(state.meta.train_dir, config.resolution, 64, seed=config.seed,
                                    shuffle=False, repeat=False)
    for images, labels in _read(batches, pipeline.level_file(state.meta.train_dir,
                                                             config.resolution)):
        classes = (np.argmax(labels.numpy(), axis=1) if labels.shape[1]
                   else np.zeros(len(images), int))
        for image, cls in zip(images.numpy(), classes):
            if len(picked[cls]) < cols:
                picked[cls].append(image)
        if all(len(p) == cols for p in picked):
            break
    blank = np.full((config.resolution, config.resolution, config.num_channels), -1.0, np.float32)
    cells = [p[i] if i < len(p) else blank for p in picked for i in range(cols)]
    return np.stack(cells).reshape((rows, cols) + blank.shape)


def _write_reals_grid(state, reals):
    """`grids/reals.png`: `reals` at full resolution, one row per class, labelled."""
    rows, cols = state.grid_shape
    grid = sampling.labelled_grid(sampling.to_uint8(reals.reshape((-1,) + reals.shape[2:])),
                                  rows, cols, state.reporter.row_labels(rows), [("reals", cols)])
    sampling.save_png(os.path.join(state.worker_dir.path, "grids", "reals.png"), grid)


def _read(batches, path):
    """Iterate `batches`, a damaged record of `path` ending the run with one line."""
    iterator = iter(batches)
    while True:
        with integrity.read_errors(path):
            element = next(iterator, None)
        if element is None:
            return
        yield element
