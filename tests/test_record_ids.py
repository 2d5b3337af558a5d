"""Record ids of a prepared dataset: which records are real originals."""
import numpy as np

from pgan_tf.data import record_ids


def test_copies_and_synthetic_records_are_not_originals():
    copy = record_ids.augmented_id("ISIC_0000001", 3)
    assert copy == "ISIC_0000001#aug3"        # the id pgan-prepare writes for copy 3
    assert record_ids.is_original("ISIC_0000001")
    assert not record_ids.is_original(copy)
    assert not record_ids.is_original(record_ids.SYNTHETIC_ID_PREFIX + "MEL/000")


def test_real_indices_follow_the_ids_or_keep_everything_without_them():
    info = {"splits": {"train": {"images": ["a", "a#aug1", "synthetic:x", "b"]},
                       "val": {"images": ["v", "w"]}}}
    np.testing.assert_array_equal(record_ids.real_indices(info, 4), [0, 3])
    np.testing.assert_array_equal(record_ids.real_indices(info, 2, split="val"), [0, 1])
    np.testing.assert_array_equal(record_ids.real_indices({}, 3), [0, 1, 2])      # no ids
    # Ids that do not match the records (another set's): nothing to tell copies apart by.
    np.testing.assert_array_equal(record_ids.real_indices(info, 5), np.arange(5))
