"""The held-out reals of a run (`--heldout_per_class`, data/heldout.py) as image tensors.

`HeldOutImages.at(res)` reads the chosen records of the spare and training splits at one
resolution, once per resolution (one ordered pass over each file, keeping only those records,
so memory holds the held-out images alone), and gives them to the training step, which scores a
batch of them each D step for the statistic r_v (training/ada.py).
"""
import json
import os

import numpy as np
import tensorflow as tf

from pgan_tf import fileio
from pgan_tf.data import heldout, integrity, pipeline

_READ_BATCH = 256


def open_heldout(config, meta, write_dir=None):
    """(plan, HeldOutImages) of the run, or (None, None) without a held-out set; the plan is
    written to `write_dir/heldout.json` (the chief's run dir) so the run says which images."""
    plan = heldout.plan(meta.root, config.heldout_per_class, config.seed, meta.class_names)
    if plan is None:
        return None, None
    if write_dir is not None:
        fileio.write_atomic(os.path.join(write_dir, heldout.HELDOUT_JSON),
                            json.dumps(plan, indent=1) + "\n")
    return plan, HeldOutImages(meta, plan)


class HeldOutImages:
    """float32 [M, res, res, C] tensors of the held-out reals, per resolution (cached)."""

    def __init__(self, meta, plan):
        self.folders = {"train": meta.train_dir, "spare": os.path.join(meta.root, "spare")}
        self.plan = plan
        self._cache = {}

    def at(self, res):
        if res not in self._cache:
            parts = [_read_records(self.folders[split], res, heldout.split_records(self.plan, split))
                     for split in ("spare", "train")]
            self._cache = {res: tf.constant(np.concatenate([p for p in parts if len(p)]))}
        return self._cache[res]


def _read_records(folder, res, records):
    """float32 [len(records), res, res, C]: the given record numbers of `folder` at `res`."""
    if not records:
        return np.zeros((0,), np.float32)
    wanted = np.asarray(sorted(records))
    found, start = [], 0
    path = pipeline.level_file(folder, res)
    batches = pipeline.make_dataset(folder, res, _READ_BATCH, shuffle=False, repeat=False)
    with integrity.read_errors(path):
        for images, _ in batches:
            images = images.numpy()
            inside = wanted[(wanted >= start) & (wanted < start + len(images))]
            found.extend(images[inside - start])
            start += len(images)
            if start > wanted[-1]:
                break
    return np.stack(found)
