"""Labelled sample sheets of a training run: every grid names its class rows (in the run's class
order) in a margin, the training grids show reals beside the fakes, and TensorBoard gets one
readable image per class (reals above fakes), not a hairline strip."""
import glob
import os

import numpy as np
import tensorflow as tf
from PIL import Image

from pgan_tf import sampling
from pgan_tf.training.summaries import GRID_REAL_COLS, TB_COLS
from tests import sheet_helpers
from tests.eval_fixtures import CLASSES, tiny_run

HEADER = sampling.LABEL_FONT_SIZE + 2 * sampling.LABEL_PAD


def test_training_grids_are_labelled_and_show_reals_beside_fakes(tmp_path_factory):
    run_dir, _, arrays = tiny_run(tmp_path_factory)
    reals_png = np.asarray(Image.open(os.path.join(run_dir, "grids", "reals.png")))
    fakes_png = np.asarray(Image.open(sorted(glob.glob(
        os.path.join(run_dir, "grids", "fakes*.png")))[-1]))
    for sheet in (reals_png, fakes_png):
        assert sheet_helpers.row_labels(sheet, 3, CLASSES, HEADER) == list(CLASSES)
        assert min(sheet_helpers.label_heights(sheet, 3, HEADER)) >= 12
    margin = sheet_helpers.margin_width(fakes_png, HEADER)
    cols = (reals_png.shape[1] - sheet_helpers.margin_width(reals_png, HEADER)) // 64
    assert fakes_png.shape == (HEADER + 3 * 64, margin + (GRID_REAL_COLS + cols) * 64, 3)
    # The reals beside the fakes are the first training images of each class (16 px -> 64 px).
    images, labels = arrays["train"]
    for row, _ in enumerate(CLASSES):
        first = images[labels == row][0].repeat(4, axis=0).repeat(4, axis=1)
        cell = fakes_png[HEADER + row * 64:HEADER + (row + 1) * 64, margin:margin + 64]
        np.testing.assert_array_equal(cell, first)


def test_tensorboard_has_one_readable_image_per_class(tmp_path_factory):
    run_dir, _, _ = tiny_run(tmp_path_factory)
    sizes = {}
    for path in glob.glob(os.path.join(run_dir, "tensorboard", "events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                if value.tag.startswith("fakes/"):
                    width, height = (int(v) for v in tf.make_ndarray(value.tensor)[:2])
                    sizes[value.tag] = (width, height)
    assert sorted(sizes) == sorted(f"fakes/{c}" for c in CLASSES)
    for width, height in sizes.values():
        assert height == 2 * 64                          # a row of reals above a row of fakes
        assert 3 * 64 <= width <= 100 + TB_COLS * 64     # at most TB_COLS cells + the names
        assert width / height < 6                        # not a 32:1 strip
