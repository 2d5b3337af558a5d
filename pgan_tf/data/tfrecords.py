"""The official PGAN dataset format (docs/design.md#dataset-format): writer, reader helpers and
the level pyramid.

A dataset folder `D` holds one uncompressed TFRecord file per resolution,
`D/<basename(D)>-r{log2(res):02d}.tfrecords` (r02 = 4x4 ... r08 = 256x256), each record a
`tf.train.Example` with `shape` (int64 [C, H, W]) and `data` (uint8 CHW bytes), plus optionally
`D/<basename(D)>-rxx.labels`: a .npy float32 array [num_images, num_classes], row i = record i.

`build_levels` is NumPy only (it runs in worker processes); TensorFlow is imported inside the
functions that need it.
"""
import glob
import os
import re

import numpy as np

# Official PGAN writes every level from full resolution down to 4x4 (docs/design.md#dataset-format).
MIN_LOG2_RESOLUTION = 2
LEVEL_FILE_RE = re.compile(r"^(?P<prefix>.+)-r(?P<log2>\d\d)\.tfrecords$")
LABELS_SUFFIX = "-rxx.labels"
# A prepared dataset's description (pgan-prepare), next to its split folders.
DATASET_JSON = "dataset.json"


def log2_resolution(resolution):
    """log2 of a power-of-two resolution ≥ 4, else ValueError."""
    log2 = int(resolution).bit_length() - 1
    if resolution < 2 ** MIN_LOG2_RESOLUTION or resolution != 2 ** log2:
        raise ValueError(f"resolution {resolution} is not a power of two ≥ 4")
    return log2


def level_path(folder, log2):
    """`<folder>/<basename(folder)>-r{log2:02d}.tfrecords` (the official naming)."""
    return os.path.join(folder, f"{_name(folder)}-r{log2:02d}.tfrecords")


def labels_path(folder):
    """`<folder>/<basename(folder)>-rxx.labels` (the official naming)."""
    return os.path.join(folder, _name(folder) + LABELS_SUFFIX)


def _name(folder):
    return os.path.basename(os.path.normpath(folder))


def build_levels(image):
    """uint8 [R, R, C] → [uint8 [C, R, R], uint8 [C, R/2, R/2], ..., uint8 [C, 4, 4]].

    Official PGAN (docs/design.md#dataset-format): each level is the 2x2 box average of the
    previous *unrounded* float32 level, then rint, clipped to [0, 255] and stored as uint8.
    """
    level = np.asarray(image, dtype=np.float32).transpose(2, 0, 1)  # HWC → CHW [C, R, R]
    levels = []
    while True:
        levels.append(np.clip(np.rint(level), 0, 255).astype(np.uint8))
        if level.shape[1] <= 2 ** MIN_LOG2_RESOLUTION:
            return levels
        # [C, H, W] → [C, H/2, W/2]: mean of each 2x2 block, in float32 as the official tool.
        level = (level[:, 0::2, 0::2] + level[:, 0::2, 1::2]
                 + level[:, 1::2, 0::2] + level[:, 1::2, 1::2]) * 0.25


class LevelWriter:
    """Streams images (as `build_levels` output) into one dataset folder, in order.

    Use as a context manager; `add(levels)` appends one record to every level file.
    """

    def __init__(self, folder, resolution):
        import tensorflow as tf  # only the writing process loads TensorFlow

        os.makedirs(folder, exist_ok=True)
        top = log2_resolution(resolution)
        self._tf = tf
        self._writers = [tf.io.TFRecordWriter(level_path(folder, log2))
                         for log2 in range(top, MIN_LOG2_RESOLUTION - 1, -1)]  # full res first
        self.count = 0

    def add(self, levels):
        """Write one image: `levels` = [CHW uint8 arrays] from full resolution to 4x4."""
        if len(levels) != len(self._writers):
            raise ValueError(f"expected {len(self._writers)} levels, got {len(levels)}")
        for writer, level in zip(self._writers, levels):
            writer.write(serialize_example(level, self._tf))
        self.count += 1

    def close(self):
        for writer in self._writers:
            writer.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def serialize_example(chw, tf=None):
    """One official-format record: `shape` int64 [C, H, W] and `data` uint8 CHW bytes."""
    if tf is None:
        import tensorflow as tf  # only the writing process loads TensorFlow
    feature = {
        "shape": tf.train.Feature(int64_list=tf.train.Int64List(value=list(chw.shape))),
        "data": tf.train.Feature(bytes_list=tf.train.BytesList(value=[chw.tobytes()])),
    }
    return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()


def write_labels(folder, labels):
    """Save float32 [N, K] labels as `<name>-rxx.labels` (np.save to an open file: on a path it
    would append `.npy`)."""
    with open(labels_path(folder), "wb") as f:
        np.save(f, np.asarray(labels, dtype=np.float32))


def find_level_files(folder):
    """{log2: path} of the `<prefix>-rNN.tfrecords` files in `folder` (one prefix expected)."""
    found = {}
    for path in sorted(glob.glob(os.path.join(glob.escape(folder), "*.tfrecords"))):
        match = LEVEL_FILE_RE.match(os.path.basename(path))
        if match:
            found.setdefault(int(match.group("log2")), []).append(path)
    duplicates = {k: v for k, v in found.items() if len(v) > 1}
    if duplicates:
        raise ValueError(f"{folder} holds several files per level: {duplicates}")
    return {k: v[0] for k, v in found.items()}


def read_level(path):
    """All records of one level file → uint8 [N, C, H, W] (NumPy; for tests and small tools)."""
    import tensorflow as tf

    arrays = []
    for raw in tf.data.TFRecordDataset(path):
        example = tf.train.Example.FromString(raw.numpy())
        shape = example.features.feature["shape"].int64_list.value
        data = example.features.feature["data"].bytes_list.value[0]
        arrays.append(np.frombuffer(data, np.uint8).reshape(shape))
    return np.stack(arrays) if arrays else np.zeros((0, 0, 0, 0), np.uint8)
