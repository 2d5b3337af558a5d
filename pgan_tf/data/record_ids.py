"""Ids of a prepared dataset's records (dataset.json `splits.<split>.images`, in record order), and
which of them are real originals.

`pgan-prepare` writes each source image under its own id, its k-th Augmentor copy
(`--augment_per_image`, the paper's §3.1 pre-augmentation of the GAN's training set) as
`<id>#aug<k>`, and each `--extra_train` (synthetic) image as `synthetic:<id>`. Whatever must learn
from or pick real images only (the real reference of GAN-train / GAN-test, a classifier trained on
the real training images, paper §3.2; the real pick of the augmentation experiment, §3.7) leaves
the others out by id.
"""
import numpy as np

SYNTHETIC_ID_PREFIX = "synthetic:"   # ids of --extra_train images (exported GAN samples)
AUGMENTED_ID_MARK = "#aug"           # <id>#aug<k>: the k-th Augmentor copy of image <id>


def augmented_id(image_id, k):
    """Id of the k-th (k >= 1) Augmentor copy of `image_id`."""
    return f"{image_id}{AUGMENTED_ID_MARK}{k}"


def source_id(image_id):
    """Id of the source image a record comes from: `<id>` for `<id>` and its copies `<id>#aug<k>`."""
    return image_id.split(AUGMENTED_ID_MARK, 1)[0]


def is_original(image_id):
    """True for a real source image: neither an Augmentor copy nor a synthetic record."""
    return not image_id.startswith(SYNTHETIC_ID_PREFIX) and AUGMENTED_ID_MARK not in image_id


def real_indices(info, num_records, split="train"):
    """Indices of the real originals among the `num_records` records of `split`, from the ids in
    dataset.json `info`; every index when the ids are missing or do not match the records (a
    dataset.json from before ids were recorded: nothing to tell copies apart by)."""
    ids = info.get("splits", {}).get(split, {}).get("images")
    if not ids or len(ids) != num_records:
        return np.arange(num_records)
    return np.array([i for i, name in enumerate(ids) if is_original(name)], np.int64)
