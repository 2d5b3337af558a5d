"""Class-balanced reals (`--real_sampling=balanced`): grouping, uniform classes, resume, reader."""
import numpy as np
import pytest

import data_fixtures as fx
from pgan_tf.data import balanced, pipeline
from pgan_tf.errors import UserError

RES = 8
# 12 records, 3 classes with 8, 3 and 1 records (1 = the rare class); class k of record i below.
CLASSES = np.array([0, 0, 1, 0, 0, 2, 0, 1, 0, 0, 1, 0])
LABELS = np.eye(4, dtype=np.float32)[CLASSES]  # a 4th column no record has: never drawn


def _images(n=len(CLASSES)):
    """Record i: every pixel 20i + 5 (identifies i after the [-1, 1] round trip)."""
    return np.repeat((20 * np.arange(n) + 5).astype(np.uint8), RES * RES * 3).reshape(
        n, RES, RES, 3)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    folder = str(tmp_path_factory.mktemp("bal") / "train")
    fx.write_official(folder, _images(), LABELS)
    return folder


def _take(indices, count):
    return np.array([int(i) for i in indices.take(count)])


def test_class_members_group_the_records_by_class():
    members, starts, counts = balanced.class_members(LABELS)
    np.testing.assert_array_equal(counts, [8, 3, 1])
    np.testing.assert_array_equal(starts, [0, 8, 11])
    for k in range(3):
        group = members[starts[k]:starts[k] + counts[k]]
        np.testing.assert_array_equal(np.sort(group), np.flatnonzero(CLASSES == k))


def test_unlabelled_data_is_refused_with_the_flag_named():
    with pytest.raises(UserError, match="--real_sampling=balanced"):
        balanced.class_members(np.zeros((5, 0), np.float32))


def test_classes_are_drawn_uniformly_and_records_uniformly_within_each():
    drawn = _take(balanced.record_indices(LABELS, seed=3), 6000)
    classes = CLASSES[drawn]
    freq = np.bincount(classes, minlength=3) / len(drawn)
    # Uniform over the 3 present classes (the dataset's own mix would be 0.67 / 0.25 / 0.08);
    # 4 sigma of a binomial proportion at n = 6000 is 0.024.
    np.testing.assert_allclose(freq, 1 / 3, atol=0.024)
    majority = np.bincount(drawn[classes == 0], minlength=12)[CLASSES == 0]
    expected = (classes == 0).sum() / 8
    assert np.all(np.abs(majority - expected) < 4 * np.sqrt(expected))


def test_a_resumed_stream_continues_the_uninterrupted_one():
    start = balanced.CHUNK + 37  # not on a chunk boundary
    whole = _take(balanced.record_indices(LABELS, seed=5), start + 100)
    resumed = _take(balanced.record_indices(LABELS, seed=5, start_index=start), 100)
    np.testing.assert_array_equal(resumed, whole[start:])
    other_seed = _take(balanced.record_indices(LABELS, seed=6), 100)
    assert not np.array_equal(other_seed, whole[:100])


def _records(dataset, batches):
    """(record numbers, label rows) of the first `batches` batches."""
    ids, rows = [], []
    for images, labels in dataset.take(batches):
        pixels = np.rint((images.numpy() + 1) * 127.5)[:, 0, 0, 0]
        ids += [int((p - 5) // 20) for p in pixels]
        rows.append(labels.numpy())
    return np.array(ids), np.concatenate(rows)


@pytest.mark.parametrize("cache_mb", [None, 0])  # records in memory / read from the file
def test_reader_yields_the_drawn_records_with_their_labels(data_dir, cache_mb):
    dataset = pipeline.make_dataset(data_dir, RES, 16, seed=3, balance_classes=True,
                                    cache_mb=cache_mb)
    ids, rows = _records(dataset, 4)
    np.testing.assert_array_equal(ids, _take(balanced.record_indices(LABELS, seed=3), 64))
    np.testing.assert_array_equal(rows, LABELS[ids])
    resumed, _ = _records(pipeline.make_dataset(data_dir, RES, 16, seed=3, start_index=16,
                                                balance_classes=True, cache_mb=cache_mb), 3)
    np.testing.assert_array_equal(resumed, ids[16:])


def test_balanced_stream_is_for_training_only(data_dir):
    with pytest.raises(ValueError, match="shuffle and repeat"):
        pipeline.make_dataset(data_dir, RES, 4, shuffle=False, repeat=False, balance_classes=True)
