"""Reading labelled sources: ISIC 2018 layout, HAM10000 metadata, class folders, exported sets."""
import os

import numpy as np
import pytest
from PIL import Image

import data_fixtures as fx
from pgan_tf.data import sources
from pgan_tf.errors import UserError


def test_isic2018_layout_labels_lesions_and_non_images(tmp_path):
    root = str(tmp_path / "isic")
    labels = [1, 0, 6, 1, 3, 2, 4, 5]
    lesions = ["L1", "L2", "L3", "L1", "L4", "L5", "L6", "L7"]
    ids = fx.make_isic_dir(root, labels, lesions=lesions)
    src = sources.read_source("isic2018", root)
    assert src.classes == ("MEL", "NV", "BCC", "AKIEC", "BKL", "DF", "VASC")
    assert [r.image_id for r in src.records] == sorted(ids)  # LICENSE.txt is not an image
    assert [r.label for r in src.records] == labels
    assert [r.lesion_id for r in src.records] == lesions
    assert all(os.path.isfile(r.path) for r in src.records)


def test_isic2018_class_order_is_the_csv_column_order(tmp_path):
    root = str(tmp_path / "isic")
    order = ("NV", "MEL", "VASC", "DF", "BKL", "AKIEC", "BCC")
    fx.make_isic_dir(root, [0, 1, 2, 3, 4, 5, 6], classes=order)
    src = sources.read_source("isic2018", root)
    assert src.classes == order
    assert [r.label for r in src.records] == [0, 1, 2, 3, 4, 5, 6]


def test_without_lesion_file_every_image_is_its_own_lesion(tmp_path):
    root = str(tmp_path / "isic")
    ids = fx.make_isic_dir(root, [0, 1, 2, 3, 4, 5, 6])
    src = sources.read_source("isic2018", root)
    assert [r.lesion_id for r in src.records] == ids


def test_ham10000_metadata_tab_separated_without_extension(tmp_path):
    root = tmp_path / "ham"
    (root / "HAM10000_images_part_1").mkdir(parents=True)
    rows = [("HAM_1", "ISIC_0000001", "nv"), ("HAM_1", "ISIC_0000002", "nv"),
            ("HAM_2", "ISIC_0000003", "mel"), ("HAM_3", "ISIC_0000004", "bcc"),
            ("HAM_4", "ISIC_0000005", "akiec"), ("HAM_5", "ISIC_0000006", "bkl"),
            ("HAM_6", "ISIC_0000007", "df"), ("HAM_7", "ISIC_0000008", "vasc")]
    for _, image, _ in rows:
        Image.new("RGB", (8, 6)).save(root / "HAM10000_images_part_1" / (image + ".jpg"))
    with open(root / "HAM10000_metadata", "w") as f:
        f.write("lesion_id\timage_id\tdx\tdx_type\tage\n")
        f.writelines(f"{l}\t{i}\t{d}\thisto\t50\n" for l, i, d in rows)
    src = sources.read_source("isic2018", str(root))
    assert src.classes == sources.ISIC_CLASSES
    assert [(r.image_id, src.classes[r.label], r.lesion_id) for r in src.records] == [
        (i, d.upper(), l) for l, i, d in rows]
    # The Dataverse download also holds the test set's ground truth: the metadata still wins.
    fx.write_csv(str(root / "ISIC2018_Task3_Test_GroundTruth.csv"),
                 ["image"] + list(sources.ISIC_CLASSES), [["ISIC_0034524", "1.0"] + ["0.0"] * 6])
    again = sources.read_source("isic2018", str(root))
    assert [r.image_id for r in again.records] == [r.image_id for r in src.records]


def test_class_folders(tmp_path):
    for cls, names in {"b_cls": ["x", "y"], "a_cls": ["z"]}.items():
        (tmp_path / cls / "sub").mkdir(parents=True)
        for n in names:
            Image.new("RGB", (8, 8)).save(tmp_path / cls / f"{n}.png")
        (tmp_path / cls / "notes.txt").write_text("ignored")
    Image.new("L", (8, 8)).save(tmp_path / "b_cls" / "sub" / "w.jpg")
    src = sources.read_source("folders", str(tmp_path))
    assert src.classes == ("a_cls", "b_cls")
    assert [(r.image_id, r.label) for r in src.records] == [
        ("a_cls/z", 0), ("b_cls/sub/w", 1), ("b_cls/x", 1), ("b_cls/y", 1)]
    assert len({r.lesion_id for r in src.records}) == 4


def test_class_folder_without_images_is_an_error(tmp_path):
    (tmp_path / "a").mkdir()
    Image.new("RGB", (8, 8)).save(tmp_path / "a" / "x.png")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "readme.txt").write_text("no images")
    with pytest.raises(UserError, match=r"class folder .*b has no image"):
        sources.read_source("folders", str(tmp_path))


def _write_export(folder, classes):
    """An export folder: labels.csv with columns `classes` and one image `<class>/0.png` each."""
    rows = [[f"{c}/0"] + ["1.0" if k == c else "0.0" for k in classes] for c in classes]
    fx.write_csv(str(folder / "labels.csv"), ["image", *classes], rows)
    for name in classes:
        (folder / name).mkdir()
        Image.new("RGB", (8, 8)).save(folder / name / "0.png")


def test_labelled_export_maps_classes_by_name(tmp_path):
    _write_export(tmp_path, ["B", "A"])
    records = sources.read_labelled_export(str(tmp_path), ("A", "B"), "syn:")
    assert [(r.image_id, r.label) for r in records] == [("syn:A/0", 0), ("syn:B/0", 1)]
    with pytest.raises(UserError, match=r"do not match .*extra: \['B'\]"):
        sources.read_labelled_export(str(tmp_path), ("A", "C"), "syn:")
    os.remove(tmp_path / "A" / "0.png")
    with pytest.raises(UserError, match="lists image A/0"):
        sources.read_labelled_export(str(tmp_path), ("A", "B"), "syn:")


def test_labelled_export_of_some_of_the_classes_adds_to_those(tmp_path):
    # A run trained on class folders named with ISIC codes (MEL/, NV/) exports image,MEL,NV; it
    # may be added to that dataset, or to a 7-class ISIC one, mapping by name.
    _write_export(tmp_path, ["NV", "MEL"])
    for classes in (("MEL", "NV"), sources.ISIC_CLASSES):
        records = sources.read_labelled_export(str(tmp_path), classes, "syn:")
        assert [(r.image_id, classes[r.label]) for r in records] == [("syn:MEL/0", "MEL"),
                                                                      ("syn:NV/0", "NV")]


@pytest.mark.parametrize("values, ones", [(["0.0"] * 7, 0), (["1.0", "1.0"] + ["0.0"] * 5, 2)])
def test_onehot_rows_must_have_exactly_one_one(tmp_path, values, ones):
    path = str(tmp_path / "gt.csv")
    fx.write_csv(path, ["image"] + list(sources.ISIC_CLASSES), [["ISIC_1"] + values])
    with pytest.raises(UserError, match=rf"gt.csv: line 2 \(image ISIC_1\).*found {ones} ones"):
        sources.read_onehot_csv(path)


def test_unknown_source_kind():
    with pytest.raises(UserError, match="--source=zip is unknown"):
        sources.read_source("zip", ".")


def test_records_are_sorted_whatever_the_csv_order(tmp_path):
    root = str(tmp_path / "isic")
    fx.make_isic_dir(root, [0, 1, 2, 3, 4, 5, 6])
    header, rows = fx.read_csv(fx.gt_csv(root))
    fx.write_csv(fx.gt_csv(root), header, rows[::-1])
    src = sources.read_source("isic2018", root)
    ids = [r.image_id for r in src.records]
    assert ids == sorted(ids)
    assert np.array_equal([r.label for r in src.records], np.arange(7))
