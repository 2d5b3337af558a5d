"""The real images of an evaluation and the classifier trained on them (split out of `evaluate.py`).

`Reals`: the train split (SWD / MS-SSIM / FID reals, the memorization search) and the val split
(the test set of GAN-train and of the real reference). The real classifier — the reference and
GAN-test's judge (Shmelkov et al. 2018; docs/design.md#gan-train-and-gan-test) — learns from the
train split's real originals only: Augmentor copies (`--augment_per_image`, the paper's K = 3
pre-augmentation of the GAN's training set, §3.1) and `--extra_train` (synthetic) records are left
out by their ids in dataset.json (`data.record_ids`), because the paper's reference is a classifier
trained on the real training images. Everything else keeps the whole train split: the val split
never holds copies, and SWD and the memorization search compare the fakes with what the
GAN was trained on. The one exception: a run's held-out reals (`RUN/heldout.json`, the images
r_v scores D on, data/heldout.py) and their copies leave the train split here, by id, so no
evaluation uses them (neither the judge, nor SWD's reals, nor the memorization search).
"""
import dataclasses
import os
import sys
from typing import Optional

import numpy as np

from pgan_tf.data.record_ids import real_indices, source_id
from pgan_tf.errors import UserError
from pgan_tf.eval import image_sets
from pgan_tf.eval import gan_accuracy as gtt
from pgan_tf.eval import judge_cache
from pgan_tf.eval.classifier import train_classifier


@dataclasses.dataclass
class Reals:
    """Real images: `train` (SWD, memorization; the real classifier learns from its `originals`)
    and `val` (GAN-train tests). `originals`: positions of train's real originals, None when every
    record is one (no Augmentor copies, no synthetic records)."""

    train: image_sets.ImageSet
    val: Optional[image_sets.ImageSet]
    originals: Optional[np.ndarray] = None
    heldout_left_out: int = 0  # train records left out as a run's held-out reals (and copies)

    @property
    def class_names(self):
        return self.train.class_names

    def classifier_train(self):
        """The records the real classifier (reference, GAN-test) learns from: the originals."""
        return self.train if self.originals is None else self.train.subset(self.originals)

    def classifier_record(self):
        """What the real classifier trained on, for the results JSON."""
        used = len(self.train) if self.originals is None else len(self.originals)
        return {"num_train": used, "left_out": len(self.train) - used,
                "rule": "real originals only: Augmentor copies and --extra_train (synthetic) "
                        "records of the train split are left out"}


def originals_of(info, num_records, order=None):
    """Positions of the real originals among a prepared train split's `num_records` records (or
    among the records `order` picks of them), None when every one is an original."""
    keep = np.zeros(num_records, bool)
    keep[real_indices(info, num_records)] = True
    keep = keep if order is None else keep[order]
    return None if keep.all() else np.flatnonzero(keep)


def kept_records(info, num_records, exclude_ids):
    """Positions of the train split's records whose source image is not in `exclude_ids` (a run's
    held-out ids), None when nothing is left out. A dataset.json without ids cannot say which
    records those are: UserError, as evaluating on them would break the held-out promise."""
    if not exclude_ids:
        return None
    ids = info.get("splits", {}).get("train", {}).get("images")
    if not ids or len(ids) != num_records:
        raise UserError("the run held images out of training (its heldout.json), but the "
                        "dataset's dataset.json lists no ids of its train records to leave them "
                        "out by; prepare the dataset again with this version of pgan-prepare")
    keep = np.array([i for i, name in enumerate(ids) if source_id(name) not in exclude_ids],
                    np.int64)
    return None if len(keep) == num_records else keep


def load_reals(data_dir, resolution, need_val, exclude_ids=frozenset()):
    """Reals of a prepared dataset (root or split folder) or an official folder, at `resolution`;
    the train records of the source images `exclude_ids` (a run's held-out reals) left out."""
    root, info = image_sets.find_dataset_root(data_dir)
    originals, left_out = None, 0
    if root is None:  # a plain official-format folder: training images only
        if exclude_ids:
            raise UserError(f"{data_dir}: the run held images out of training (its heldout.json)"
                            "; give its prepared dataset (with dataset.json) as --data_dir so "
                            "evaluation can leave them out")
        train = image_sets.load_image_set(data_dir, resolution=resolution)
        val = None
    else:
        train = image_sets.load_prepared_split(root, "train", resolution)
        keep = kept_records(info, len(train), exclude_ids)
        originals = originals_of(info, len(train), order=keep)
        if keep is not None:
            left_out = len(train) - len(keep)
            train = train.subset(keep)
        has_val = os.path.isdir(os.path.join(root, "val"))
        val = image_sets.load_prepared_split(root, "val", resolution) if has_val else None
    if train.labels is None:
        raise UserError(f"{data_dir} has no labels; evaluation needs a labelled dataset")
    if need_val and val is None:
        raise UserError(f"{data_dir} has no val split; GAN-train tests on real validation images "
                        "(prepare the dataset with --val_size > 0)")
    return Reals(train, val, originals, left_out)


class RealClassifiers:
    """ResNet-18s trained on the real training images (`train`: the originals), one per seed,
    trained on first use, or read from `cache_dir` (`judge_cache`) when one was kept there."""

    def __init__(self, reals, classifier_config, progress=False, cache_dir=None):
        self.reals, self.config, self.progress = reals, classifier_config, progress
        self.cache_dir = cache_dir
        self.train = reals.classifier_train()
        self._models = {}

    def _train(self, config):
        if self.progress:
            print(f"training the real-train classifier on {len(self.train)} real images "
                  f"(seed {config.seed})", file=sys.stderr, flush=True)
        return train_classifier(self.train.images, self.train.labels,
                                len(self.reals.class_names), config, self.progress)

    def get(self, seed):
        """The classifier of classifier seed `seed`."""
        if seed not in self._models:
            config = gtt.with_seed(self.config, seed)
            if self.cache_dir is None:
                model = self._train(config)
            else:
                model, loaded = judge_cache.cached_judge(
                    self.cache_dir, self.train.images, self.train.labels,
                    len(self.reals.class_names), config, lambda: self._train(config))
                if loaded and self.progress:
                    print(f"real-train classifier (seed {seed}) read from {self.cache_dir}",
                          file=sys.stderr, flush=True)
            self._models[seed] = model
        return self._models[seed]
