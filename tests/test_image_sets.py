"""Loading image sets of every layout, resizing, class alignment and real training counts."""
import json
import os

import numpy as np
import pytest
from PIL import Image

from pgan_tf.errors import UserError
from pgan_tf.eval import image_sets
from tests.eval_fixtures import CLASSES, make_eval_dataset


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("sets") / "data")
    return root, make_eval_dataset(root, resolution=16, train_per_class=2, val_per_class=1)


def _box_half(images):
    """Independent 2x2 box average of uint8 [N, H, W, C] in float32, rint (official levels)."""
    x = images.astype(np.float32)
    x = (x[:, 0::2, 0::2] + x[:, 0::2, 1::2] + x[:, 1::2, 0::2] + x[:, 1::2, 1::2]) * 0.25
    return np.clip(np.rint(x), 0, 255).astype(np.uint8)


def test_prepared_split_round_trips_pixels_labels_and_names(dataset):
    root, arrays = dataset
    assert image_sets.detect_kind(root) == "prepared"
    for split in ("train", "val"):
        s = image_sets.load_image_set(root, split=split)
        np.testing.assert_array_equal(s.images, arrays[split][0])
        np.testing.assert_array_equal(s.labels, arrays[split][1])
        assert s.class_names == CLASSES and s.kind == "prepared"
    assert image_sets.load_image_set(root).counts() == {"MEL": 2, "NV": 2, "DF": 2}


def test_lower_resolution_reads_the_official_box_level(dataset):
    root, arrays = dataset
    s = image_sets.load_prepared_split(root, "train", resolution=8)
    np.testing.assert_array_equal(s.images, _box_half(arrays["train"][0]))
    assert not s.notes  # a stored level: no resize


def test_split_folder_is_official_with_names_from_the_parent(dataset):
    root, arrays = dataset
    folder = os.path.join(root, "val")
    assert image_sets.detect_kind(folder) == "official"
    s = image_sets.load_image_set(folder)
    assert s.class_names == CLASSES and s.kind == "official"
    np.testing.assert_array_equal(s.labels, arrays["val"][1])


def _write_png(path, pixels):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    Image.fromarray(pixels).save(path)


def test_class_folders_flat_folders_and_exports(tmp_path):
    rng = np.random.RandomState(0)
    pics = rng.randint(0, 256, (4, 8, 8, 3)).astype(np.uint8)
    for i, name in enumerate(["b/x1.png", "b/x2.png", "a/y.png", "a/sub/z.png"]):
        _write_png(str(tmp_path / "folders" / name), pics[i])
    s = image_sets.load_image_set(str(tmp_path / "folders"))
    assert s.kind == "class_folders" and s.class_names == ("a", "b")
    np.testing.assert_array_equal(s.labels, [0, 0, 1, 1])  # a/sub/z found recursively
    # A class folder's own files come before its sub-folders': a/y.png, then a/sub/z.png.
    np.testing.assert_array_equal(s.images[0], pics[2])
    np.testing.assert_array_equal(s.images[1], pics[3])

    for i in range(2):
        _write_png(str(tmp_path / "flat" / f"{i}.png"), pics[i])
    flat = image_sets.load_image_set(str(tmp_path / "flat"))
    assert flat.kind == "flat" and flat.labels is None and len(flat) == 2

    export = tmp_path / "export"
    _write_png(str(export / "DF" / "s0.png"), pics[0])
    _write_png(str(export / "MEL" / "s1.png"), pics[1])
    (export / "labels.csv").write_text("image,MEL,DF\nDF/s0,0.0,1.0\nMEL/s1,1.0,0.0\n")
    e = image_sets.load_image_set(str(export))
    assert e.kind == "export" and e.class_names == ("MEL", "DF")
    np.testing.assert_array_equal(e.labels, [1, 0])          # sorted ids: DF/s0, MEL/s1
    np.testing.assert_array_equal(e.images[0], pics[0])


def test_mixed_sizes_are_centre_cropped_to_the_smallest_side(tmp_path):
    rng = np.random.RandomState(1)
    wide = rng.randint(0, 256, (8, 12, 3)).astype(np.uint8)
    _write_png(str(tmp_path / "flat" / "a.png"), wide)
    _write_png(str(tmp_path / "flat" / "b.png"), rng.randint(0, 256, (10, 10, 3)).astype(np.uint8))
    s = image_sets.load_image_set(str(tmp_path / "flat"))
    assert s.images.shape == (2, 8, 8, 3) and "smallest side" in s.notes[0]
    np.testing.assert_array_equal(s.images[0], wide[:, 2:10])  # centre 8x8 of 8x12, no resize


def test_resize_matches_pil_lanczos_of_the_centre_square():
    rng = np.random.RandomState(2)
    images = rng.randint(0, 256, (2, 16, 16, 3)).astype(np.uint8)
    out = image_sets.resize_images(images, 8)
    expected = np.asarray(Image.fromarray(images[1]).resize((8, 8), Image.Resampling.LANCZOS))
    np.testing.assert_array_equal(out[1], expected)
    assert image_sets.resize_images(images, 16) is images


def test_align_classes_remaps_by_name_and_rejects_other_classes(dataset):
    root, _ = dataset
    s = image_sets.load_image_set(root)
    flipped = image_sets.align_classes(s, ("DF", "NV", "MEL"), "test")
    np.testing.assert_array_equal(flipped.labels, 2 - s.labels)
    with pytest.raises(UserError, match="missing"):
        image_sets.align_classes(s, ("MEL", "NV", "BCC"), "test")


def test_real_train_counts_remove_synthetic_and_augmented_records(tmp_path):
    info = {"classes": ["A", "B"], "augmentation": {"per_image": 2},
            "splits": {"train": {"counts": {"A": 3 * 5 + 4, "B": 3 * 2},
                                 "synthetic_counts": {"A": 4, "B": 0}}}}
    assert image_sets.real_train_counts(str(tmp_path), info) == {"A": 5, "B": 2}


def test_find_dataset_root_and_seeded_subset(dataset, tmp_path):
    root, _ = dataset
    assert image_sets.find_dataset_root(os.path.join(root, "train"))[0] == os.path.abspath(root)
    assert image_sets.find_dataset_root(str(tmp_path)) == (None, None)
    s = image_sets.load_image_set(root)
    a, b = image_sets.seeded_subset(s, 4, 3), image_sets.seeded_subset(s, 4, 3)
    assert len(a) == 4 and np.array_equal(a.images, b.images)
    assert image_sets.seeded_subset(s, 99, 3) is s


def test_empty_or_missing_folders_are_user_errors(tmp_path):
    with pytest.raises(UserError, match="holds no images"):
        image_sets.load_image_set(str(tmp_path))
    with pytest.raises(UserError, match="not a folder"):
        image_sets.load_image_set(str(tmp_path / "missing"))
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "dataset.json").write_text(json.dumps({"classes": ["A"], "splits": {}}))
    (tmp_path / "d" / "train").mkdir()
    with pytest.raises(UserError, match="no val split"):
        image_sets.load_prepared_split(str(tmp_path / "d"), "val")
