"""A tiny prepared dataset for training tests, written directly with the TFRecord writer (fast).

Images: per class a distinct colour plus noise, so a few steps give finite, non-trivial losses.
"""
import json
import os

import numpy as np

from pgan_tf.data import integrity
from pgan_tf.data.tfrecords import LevelWriter, build_levels, write_labels

CLASSES = ("MEL", "NV", "DF")


def make_tiny_dataset(root, resolution=16, num_images=24, seed=0):
    """Write `root/dataset.json` and `root/train/train-rNN.tfrecords` + labels; returns root."""
    rng = np.random.RandomState(seed)
    colours = np.array([[200, 60, 60], [60, 200, 60], [60, 60, 200]], np.float32)
    classes = rng.randint(0, len(CLASSES), num_images)
    classes[:len(CLASSES)] = np.arange(len(CLASSES))  # every class present
    train = os.path.join(root, "train")
    with LevelWriter(train, resolution) as writer:
        for cls in classes:
            image = colours[cls] + rng.normal(0, 30, (resolution, resolution, 3))
            writer.add(build_levels(np.clip(image, 0, 255).astype(np.uint8)))
    write_labels(train, np.eye(len(CLASSES), dtype=np.float32)[classes])
    info = {"classes": list(CLASSES), "resolution": resolution,
            "splits": {"train": {"images": [f"img{i}" for i in range(num_images)],
                                 "sha256": f"tiny-{seed}-{num_images}",
                                 "files": integrity.folder_hashes(train)}}}
    with open(os.path.join(root, "dataset.json"), "w") as f:
        json.dump(info, f)
    return root


def make_tiny_dataset_with_val(root, resolution=16, num_images=24, num_val=12, seed=0):
    """`make_tiny_dataset` plus a `val/` split (GAN-train and the augmentation experiment test on
    it), recorded in dataset.json like prepare_dataset.py does; returns root."""
    import shutil
    import tempfile

    make_tiny_dataset(root, resolution, num_images, seed)
    with tempfile.TemporaryDirectory(dir=os.path.dirname(os.path.abspath(root))) as tmp:
        make_tiny_dataset(tmp, resolution, num_val, seed + 1)
        shutil.move(os.path.join(tmp, "train"), os.path.join(root, "val"))
    path = os.path.join(root, "dataset.json")
    with open(path) as f:
        info = json.load(f)
    info["splits"]["val"] = {"images": [f"val{i}" for i in range(num_val)], "num_images": num_val,
                             "sha256": f"tiny-val-{seed}-{num_val}"}
    with open(path, "w") as f:
        json.dump(info, f)
    return root
