"""Shared on-disk fixtures of the evaluation tests (imported explicitly; the lead owns conftest.py).

* `make_eval_dataset`: a prepared dataset (dataset.json + train/ + val/) of colour-coded classes
  (class c = channel c bright, plus noise), so a narrow classifier separates them in a few epochs.
* `colour_set`: the same classes as in-memory uint8 images and integer labels.
* `tiny_run`: one tiny run trained at 16x16 on such a dataset, built once per test session
  and shared by every evaluation test module (training costs seconds).
"""
import json
import os

import numpy as np

from pgan_tf.data.tfrecords import LevelWriter, build_levels, write_labels

CLASSES = ("MEL", "NV", "DF")
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Base level of the dark channels and the lift of the class channel (uint8 units).
DARK_MAX, BRIGHT_LIFT = 90, 150

_CACHE = {}


def colour_set(seed, per_class, size=16):
    """(uint8 [3 per_class, size, size, 3], int labels): `per_class` images of each of 3 classes."""
    labels = np.repeat(np.arange(3), per_class)
    return colour_images(labels, size, seed), labels


def colour_images(labels, resolution, seed):
    """uint8 [N, R, R, 3]: channel `labels[i]` of image i lifted by BRIGHT_LIFT over noise."""
    rng = np.random.RandomState(seed)
    labels = np.asarray(labels)
    images = rng.randint(0, DARK_MAX, (len(labels), resolution, resolution, 3))
    images[np.arange(len(labels)), :, :, labels % 3] += BRIGHT_LIFT
    return images.astype(np.uint8)


def write_split(folder, images, labels, num_classes):
    """Official-format TFRecords of uint8 images [N, R, R, 3] plus one-hot labels, in order."""
    with LevelWriter(folder, images.shape[1]) as writer:
        for image in images:
            writer.add(build_levels(image))
    write_labels(folder, np.eye(num_classes, dtype=np.float32)[labels])


def make_eval_dataset(root, resolution=16, train_per_class=8, val_per_class=4, seed=0,
                      classes=CLASSES):
    """Write a prepared dataset at `root`; returns {"train": (images, labels), "val": (...)}."""
    arrays, splits = {}, {}
    for offset, (split, per_class) in enumerate((("train", train_per_class),
                                                 ("val", val_per_class))):
        labels = np.tile(np.arange(len(classes)), per_class)  # classes interleaved
        images = colour_images(labels, resolution, seed + offset)
        write_split(os.path.join(root, split), images, labels, len(classes))
        arrays[split] = (images, labels)
        splits[split] = {"dir": split, "num_images": len(labels),
                         "images": [f"{split}{i}" for i in range(len(labels))],
                         "counts": {c: per_class for c in classes},
                         "sha256": f"eval-{split}-{seed}"}
    splits["train"].update(augmented_images=0, synthetic_images=[],
                           synthetic_counts={c: 0 for c in classes})
    with open(os.path.join(root, "dataset.json"), "w") as f:
        json.dump({"classes": list(classes), "resolution": resolution, "splits": splits}, f)
    return arrays


# Trained at 16x16 from the start (one compiled stage: seconds), two 16-image ticks of minibatch 8,
# a checkpoint after each (images seen 16 and 32).
TINY_RUN = dict(resolution=16, num_classes=3, latent_size=8, fmap_base=32, fmap_max=8,
                lod_initial_resolution=16, tick_kimg=0.016, minibatch_dict={16: 8},
                snapshot_ticks=1, total_kimg=0.032, seed=7, label_sampling="uniform")


def tiny_run(tmp_path_factory):
    """(run_dir, data_dir, arrays) of a tiny trained run, trained once per session."""
    if "run" not in _CACHE:
        from pgan_tf.config import TrainConfig
        from pgan_tf.training import loop

        base = tmp_path_factory.mktemp("eval_run")
        data_dir = str(base / "data")
        arrays = make_eval_dataset(data_dir)
        run_dir = str(base / "run")
        loop.run(TrainConfig(data_dir=data_dir, run_dir=run_dir, **TINY_RUN))
        _CACHE["run"] = (run_dir, data_dir, arrays)
    return _CACHE["run"]


def tool(name):
    """Absolute path of tools/<name>.py."""
    return os.path.join(REPO, "tools", f"{name}.py")


def copy_run(run_dir, tmp_path):
    """A copy of the run `run_dir` in `tmp_path/run` without its SavedModel export (tests that
    damage or lock a run work on a copy of the shared tiny run)."""
    import shutil

    copy = str(tmp_path / "run")
    shutil.copytree(run_dir, copy)
    shutil.rmtree(os.path.join(copy, "export"), ignore_errors=True)
    return copy


def corrupt_checkpoint(run_dir, images_seen):
    """Cut the data file of the run's checkpoint `ckpt-<images_seen>` to a few bytes."""
    import glob

    pattern = os.path.join(glob.escape(run_dir), "checkpoints", f"ckpt-{images_seen}.data-*")
    with open(glob.glob(pattern)[0], "wb") as f:
        f.write(b"oops")
