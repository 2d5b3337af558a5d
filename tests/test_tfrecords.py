"""Official-format writer: level pyramid, record layout, file names, labels file."""
import os

import numpy as np
import pytest
import tensorflow as tf

import data_fixtures as fx
from pgan_tf.data import tfrecords


def _box_average_reference(image, factor):
    """Independent reference: mean over factor x factor blocks in float64, rint, CHW uint8."""
    r, _, c = image.shape
    blocks = image.astype(np.float64).reshape(r // factor, factor, r // factor, factor, c)
    return np.rint(blocks.mean(axis=(1, 3))).astype(np.uint8).transpose(2, 0, 1)


def test_every_level_is_the_box_averaged_full_level():
    image = np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    levels = tfrecords.build_levels(image)
    assert [lv.shape for lv in levels] == [(3, 32, 32), (3, 16, 16), (3, 8, 8), (3, 4, 4)]
    assert all(lv.dtype == np.uint8 for lv in levels)
    for k, level in enumerate(levels):
        np.testing.assert_array_equal(level, _box_average_reference(image, 2 ** k))


def test_levels_average_the_unrounded_previous_level():
    # 16x16 → 8x8 → 4x4: the four 2x2 blocks of the top-left 4x4 corner average to 0.5 three
    # times and to 1.5 once. Official: next level from unrounded floats →
    # mean(.5, .5, .5, 1.5) = .75 → 1.
    # Averaging rounded values instead (rint(.5) = 0, rint(1.5) = 2) would give 0.5 → 0.
    image = np.zeros((16, 16, 1), np.uint8)
    image[0:2, 0:2] = [[0], [1]], [[1], [0]]            # mean 0.5 → stored rint(0.5) = 0
    image[0:2, 2:4] = [[1], [0]], [[0], [1]]
    image[2:4, 0:2] = [[0], [0]], [[1], [1]]
    image[2:4, 2:4] = [[1], [2]], [[1], [2]]            # mean 1.5 → stored 2
    levels = tfrecords.build_levels(image)
    assert levels[1][0, 0:2, 0:2].tolist() == [[0, 0], [0, 2]]  # half to even
    assert levels[2][0, 0, 0] == 1


def test_writer_round_trip_and_official_names(tmp_path):
    folder = str(tmp_path / "train")
    images = np.random.default_rng(1).integers(0, 256, (5, 16, 16, 3), dtype=np.uint8)
    labels = np.eye(3, dtype=np.float32)[[2, 0, 1, 1, 0]]
    fx.write_official(folder, images, labels)
    assert sorted(os.listdir(folder)) == ["train-r02.tfrecords", "train-r03.tfrecords",
                                          "train-r04.tfrecords", "train-rxx.labels"]
    for log2, factor in ((4, 1), (3, 2), (2, 4)):
        stored = tfrecords.read_level(tfrecords.level_path(folder, log2))
        expected = np.stack([_box_average_reference(im, factor) for im in images])
        np.testing.assert_array_equal(stored, expected)  # [N, C, H, W], in write order
    with open(os.path.join(folder, "train-rxx.labels"), "rb") as f:
        loaded = np.load(f)
    assert loaded.dtype == np.float32
    np.testing.assert_array_equal(loaded, labels)


def test_record_features_are_shape_and_data():
    chw = np.arange(48, dtype=np.uint8).reshape(3, 4, 4)
    example = tf.train.Example.FromString(tfrecords.serialize_example(chw))
    assert list(example.features.feature["shape"].int64_list.value) == [3, 4, 4]
    assert example.features.feature["data"].bytes_list.value[0] == chw.tobytes()


@pytest.mark.parametrize("bad", [0, 2, 3, 12, 100])
def test_resolution_must_be_a_power_of_two_of_at_least_4(bad):
    with pytest.raises(ValueError):
        tfrecords.log2_resolution(bad)
    assert tfrecords.log2_resolution(256) == 8 and tfrecords.log2_resolution(4) == 2


def test_find_level_files(tmp_path):
    for name in ("x-r02.tfrecords", "x-r03.tfrecords", "notes.tfrecords", "x-rxx.labels"):
        (tmp_path / name).write_bytes(b"")
    assert tfrecords.find_level_files(str(tmp_path)) == {
        2: str(tmp_path / "x-r02.tfrecords"), 3: str(tmp_path / "x-r03.tfrecords")}
    (tmp_path / "y-r02.tfrecords").write_bytes(b"")
    with pytest.raises(ValueError, match="several files per level"):
        tfrecords.find_level_files(str(tmp_path))
