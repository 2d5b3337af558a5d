"""Per-tick reporting: the `log.txt` line, TensorBoard scalars/images/text, PNG grids.

The log line is `key value` pairs in a fixed order, e.g.
`tick 12 kimg 48.0 res 32 alpha 0.500 minibatch 64 loss_d … loss_g … sec_per_kimg 9.8 img_per_s 102.1`.
"""
import json
import os

import numpy as np
import tensorflow as tf

from pgan_tf import fileio, sampling

# Order of the fixed head of a log line; further metrics follow in sorted order.
_LOG_HEAD = ("tick", "kimg", "res", "alpha", "minibatch", "loss_d", "loss_g", "sec_per_kimg",
             "img_per_s", "skipped")
# Reals per class row beside the fakes of a training grid; images per row of a TensorBoard image.
GRID_REAL_COLS, TB_COLS = 4, 8
_FORMATS = {"tick": "{:d}", "kimg": "{:.3f}", "res": "{:d}", "minibatch": "{:d}", "skipped": "{:d}",
            "alpha": "{:.3f}", "sec_per_kimg": "{:.2f}", "img_per_s": "{:.1f}"}


def format_log_line(values):
    """`key value` pairs: the fixed head first, then every other key sorted."""
    keys = [k for k in _LOG_HEAD if k in values] + sorted(k for k in values if k not in _LOG_HEAD)
    parts = []
    for key in keys:
        fmt = _FORMATS.get(key, "{:.4f}")
        value = values[key]
        parts.append(f"{key} {fmt.format(int(value) if fmt == '{:d}' else float(value))}")
    return " ".join(parts)


def parse_log_line(line):
    """Inverse of `format_log_line` (floats), for tests and tools."""
    tokens = line.split()
    return {tokens[i]: float(tokens[i + 1]) for i in range(0, len(tokens) - 1, 2)}


class Reporter:
    """Writes log.txt lines, TensorBoard events and grid PNGs into the run dir."""

    def __init__(self, run_dir, class_names):
        self.run_dir = run_dir
        self.class_names = list(class_names)
        fileio.makedirs(os.path.join(run_dir, "grids"))
        self.writer = tf.summary.create_file_writer(os.path.join(run_dir, "tensorboard"))
        self.log_path = os.path.join(run_dir, "log.txt")
        self.reals = None   # float [K, n, R, R, C], see set_reals

    def log(self, message):
        """Print to stdout and append to log.txt (flushed, so a kill loses no finished line)."""
        print(message, flush=True)
        fileio.append_text(self.log_path, message + "\n")

    def config_text(self, config_dict, step):
        with self.writer.as_default():
            text = "```\n" + json.dumps(config_dict, indent=2) + "\n```"
            tf.summary.text("config", text, step=step)
        self.writer.flush()

    def scalars(self, values, step):
        """One TensorBoard scalar per entry, grouped (Loss/, Progress/, Timing/, ...)."""
        with self.writer.as_default():
            for key, value in values.items():
                tf.summary.scalar(_group(key) + key, float(value), step=step)
        self.writer.flush()

    def set_reals(self, reals):
        """Training images shown beside the fakes: float [K, n, R, R, C] in [-1, 1], n per class."""
        self.reals = np.asarray(reals, np.float32)

    def class_grid(self, images, rows, cols, kimg, step, name="fakes"):
        """Save `grids/{name}{kimg:06d}.png`: one labelled row per class, `GRID_REAL_COLS` reals
        (at the fakes' resolution) beside `cols` fakes; and one labelled image per class in
        TensorBoard (`TB_COLS` reals above as many fakes: readable at normal zoom)."""
        fakes = sampling.to_uint8(images)                           # [rows*cols, h, w, C]
        fakes = fakes.reshape((rows, cols) + fakes.shape[1:])       # [rows, cols, h, w, C]
        reals = self._reals_at(fakes.shape[2], rows, fakes.shape[-1])  # [rows, n, h, w, C]
        n_real = min(GRID_REAL_COLS, reals.shape[1])
        cells = np.concatenate([reals[:, :n_real], fakes], axis=1)  # [rows, n_real+cols, h, w, C]
        groups = ([("reals", n_real)] if n_real else []) + [(f"fakes kimg {int(kimg)}", cols)]
        grid = sampling.labelled_grid(cells.reshape((-1,) + cells.shape[2:]), rows,
                                      n_real + cols, self.row_labels(rows), groups)
        path = os.path.join(self.run_dir, "grids", f"{name}{int(kimg):06d}.png")
        sampling.save_png(path, grid)
        with self.writer.as_default():
            for row, label in enumerate(self.row_labels(rows)):
                tf.summary.image(f"{name}/{label}", self._class_sheet(
                    reals[row, :TB_COLS], fakes[row, :TB_COLS], label)[np.newaxis], step=step)
        self.writer.flush()
        return path

    def row_labels(self, rows):
        """Class name of each grid row (its index when the run has fewer names)."""
        return [self.class_names[r] if r < len(self.class_names) else str(r) for r in range(rows)]

    def _reals_at(self, size, rows, channels):
        """uint8 reals [rows, n, size, size, C], box-downsampled to the fakes' stage resolution
        (n = 0 before `set_reals`)."""
        if self.reals is None:
            return np.zeros((rows, 0, size, size, channels), np.uint8)
        k, n, res, _, _ = self.reals.shape
        factor = max(res // size, 1)
        # [k, n, R, R, C] -> [k, n, R/f, f, R/f, f, C] -> mean over the two f axes
        small = self.reals.reshape(k, n, res // factor, factor, res // factor, factor, -1)
        return sampling.to_uint8(small.mean(axis=(3, 5)))

    @staticmethod
    def _class_sheet(reals, fakes, label):
        """uint8 image of one class: a row of reals above a row of fakes, both labelled."""
        cols = fakes.shape[0]
        if not len(reals):
            return sampling.labelled_grid(fakes, 1, cols, [f"{label} fake"])
        reals = np.concatenate([reals, np.zeros((cols - len(reals),) + fakes.shape[1:], np.uint8)]
                               ) if len(reals) < cols else reals
        return sampling.labelled_grid(np.concatenate([reals, fakes]), 2, cols,
                                      [f"{label} real", f"{label} fake"])

    def close(self):
        self.writer.close()


def _group(key):
    if key in ("g_lr", "d_lr"):
        return "LearningRate/"
    if key.startswith(("loss", "d_", "g_", "acc")):
        return "Loss/"
    if key.startswith("swd"):
        return "Metrics/"
    if key in ("sec_per_kimg", "img_per_s", "sec_per_tick"):
        return "Timing/"
    return "Progress/"
