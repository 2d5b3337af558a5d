"""Per-tick reporting: the `log.txt` line, TensorBoard scalars/images/text, PNG grids.

The log line is `key value` pairs in a fixed order (issue 3), e.g.
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

    def class_grid(self, images, rows, cols, kimg, step, name="fakes"):
        """Save `grids/{name}{kimg:06d}.png` (one row per class) and per-class TensorBoard images."""
        images_u8 = sampling.to_uint8(images)
        grid = sampling.make_grid(images_u8, rows, cols)
        path = os.path.join(self.run_dir, "grids", f"{name}{int(kimg):06d}.png")
        sampling.save_png(path, grid)
        cell_h = grid.shape[0] // rows
        with self.writer.as_default():
            for row in range(rows):
                label = self.class_names[row] if row < len(self.class_names) else str(row)
                strip = grid[row * cell_h:(row + 1) * cell_h]  # [cell_h, cols*cell_w, C]
                tf.summary.image(f"{name}/{label}", strip[np.newaxis], step=step)
        self.writer.flush()
        return path

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
