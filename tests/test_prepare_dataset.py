"""prepare_dataset: output contract, values, split, labels order, reproducibility, every bad-input
case (library calls; a few through the tool to check exit code, one stderr line and no OUT), and
the end-to-end synthesize → prepare → read a batch at two resolutions."""
import collections
import dataclasses
import hashlib
import json
import os
import re

import numpy as np
import pytest
from PIL import Image

import data_fixtures as fx
from pgan_tf.data import pipeline, prepare, synthetic, tfrecords
from pgan_tf.errors import UserError

CLASSES = list(synthetic.ISIC_CLASSES)


# ---- a synthetic set prepared once ---------------------------------------------------------------

@pytest.fixture(scope="module")
def synth_dir(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("synth") / "isic")
    synthetic.write_synthetic_isic(root, 60, seed=5)
    return root


def _config(input_dir, output_dir, **kw):
    base = dict(input_dir=input_dir, output_dir=output_dir, resolution=16, val_size=10,
                augment_per_image=1, seed=7, workers=1, progress=False)
    base.update(kw)
    return prepare.PrepareConfig(**base)


@pytest.fixture(scope="module")
def prepared(synth_dir, tmp_path_factory):
    out = str(tmp_path_factory.mktemp("prep") / "out")
    info = prepare.prepare_dataset(_config(synth_dir, out))
    return out, info


def _ground_truth(root):
    _, rows = fx.read_csv(fx.gt_csv(root))
    _, groups = fx.read_csv(os.path.join(root, fx.GROUPINGS))
    return {r[0]: r.index("1.0") - 1 for r in rows}, dict(groups)


def test_dataset_json_contract(prepared):
    out, info = prepared
    assert sorted(os.listdir(out)) == ["dataset.json", "train", "val"]
    with open(os.path.join(out, "dataset.json")) as f:
        assert json.load(f) == info
    assert {"classes", "resolution", "source", "seed", "preprocessing", "augmentation", "splits",
            "skipped", "converted"} <= set(info)
    assert info["classes"] == CLASSES and info["resolution"] == 16 and info["seed"] == 7
    assert info["source"] == "isic2018" and info["skipped"] == [] and info["converted"] == []
    assert info["synthetic"] is True          # written by pgan-synthetic: never called ISIC data
    train, val = info["splits"]["train"], info["splits"]["val"]
    assert len(train["images"]) == sum(train["counts"].values()) == train["num_images"]
    assert train["augmented_images"] == train["num_images"] // 2  # K = 1 copy per real image
    augmentation = info["augmentation"]  # operations, parameters and the fill rule
    assert augmentation["per_image"] == 1 and "source image" in augmentation["fill_rule"]
    assert [op["op"] for op in augmentation["operations"]][0] == "rotate"
    assert augmentation["rotation_rule"] == "quarter_turns_then_crop"  # true geometry, no mirror
    assert len(train["sha256"]) == 64 and train["sha256"] != val["sha256"]
    assert sorted(os.listdir(os.path.join(out, "train"))) == [
        "train-r02.tfrecords", "train-r03.tfrecords", "train-r04.tfrecords", "train-rxx.labels"]
    for name in ("train", "val"):  # one sha256 per file, over the file's bytes
        folder = os.path.join(out, name)
        assert info["splits"][name]["files"] == {
            f: hashlib.sha256(open(os.path.join(folder, f), "rb").read()).hexdigest()
            for f in os.listdir(folder)}


def test_split_is_lesion_grouped_complete_and_near_val_size(prepared, synth_dir):
    _, info = prepared
    labels, lesion = _ground_truth(synth_dir)
    train = {i.split("#")[0] for i in info["splits"]["train"]["images"]}
    val = set(info["splits"]["val"]["images"])
    assert train | val == set(labels) and not train & val
    assert not {lesion[i] for i in train} & {lesion[i] for i in val}
    assert abs(len(val) - 10) <= 3
    assert all(n > 0 for n in info["splits"]["train"]["counts"].values())
    augmented = [i for i in info["splits"]["train"]["images"] if "#aug" in i]
    assert {i.split("#")[0] for i in augmented} == train  # only train images are augmented


def test_labels_rows_follow_the_record_order(prepared, synth_dir):
    out, info = prepared
    labels, _ = _ground_truth(synth_dir)
    for split in ("train", "val"):
        ids = info["splits"][split]["images"]
        rows = pipeline.read_labels(os.path.join(out, split))
        expected = np.eye(7, dtype=np.float32)[[labels[i.split("#")[0]] for i in ids]]
        np.testing.assert_array_equal(rows, expected)
        assert info["splits"][split]["counts"] == dict(zip(CLASSES, expected.sum(0).astype(int)
                                                           .tolist()))


def test_records_are_the_cropped_resized_images_and_their_box_averages(prepared, synth_dir):
    out, info = prepared
    folder = os.path.join(out, "val")
    full = tfrecords.read_level(tfrecords.level_path(folder, 4))  # [N, 3, 16, 16]
    for record, image in zip(full, info["splits"]["val"]["images"]):
        with Image.open(fx.input_path(synth_dir, image)) as img:
            ref = np.asarray(img.convert("RGB").crop((75, 0, 525, 450)).resize((16, 16),
                                                                                Image.LANCZOS))
        np.testing.assert_array_equal(record.transpose(1, 2, 0), ref)
    for log2, factor in ((3, 2), (2, 4)):
        low = tfrecords.read_level(tfrecords.level_path(folder, log2)).astype(np.float64)
        n, c, r, _ = full.shape
        expected = np.rint(full.astype(np.float64).reshape(n, c, r // factor, factor,
                                                           r // factor, factor).mean((3, 5)))
        np.testing.assert_array_equal(low, expected)


def test_augmented_copy_differs_from_its_image(prepared):
    out, info = prepared
    ids = info["splits"]["train"]["images"]
    full = tfrecords.read_level(tfrecords.level_path(os.path.join(out, "train"), 4))
    position = {image: i for i, image in enumerate(ids)}
    originals = [i for i in ids if "#" not in i][:5]
    for image in originals:
        assert not np.array_equal(full[position[image]], full[position[image + "#aug1"]])


def test_same_seed_same_dataset_whatever_the_worker_count(prepared, synth_dir, tmp_path):
    _, info = prepared
    again = prepare.prepare_dataset(_config(synth_dir, str(tmp_path / "again"), workers=2))
    for split in ("train", "val"):
        assert again["splits"][split]["images"] == info["splits"][split]["images"]
        assert again["splits"][split]["sha256"] == info["splits"][split]["sha256"]


# ---- small hand-made inputs for the bad-input cases ----------------------------------------------

def _tiny(tmp_path, labels=None, **kw):
    root = str(tmp_path / "in")
    fx.make_isic_dir(root, fx.balanced_labels(3) if labels is None else labels, **kw)
    return root


def _tiny_config(root, tmp_path, **kw):
    base = dict(resolution=8, val_size=7, augment_per_image=0)
    base.update(kw)
    return _config(root, str(tmp_path / "out"), **base)


def _fails(config, pattern):
    with pytest.raises(UserError, match=pattern):
        prepare.prepare_dataset(config)
    parent = os.path.dirname(os.path.realpath(config.output_dir))
    assert not os.path.exists(config.output_dir)
    assert not os.path.isdir(parent) or not [n for n in os.listdir(parent) if ".tmp-" in n]


def test_truncated_image(tmp_path):
    root = _tiny(tmp_path)
    path = fx.input_path(root, fx.image_id(4))
    data = open(path, "rb").read()
    open(path, "wb").write(data[:len(data) // 2])
    _fails(_tiny_config(root, tmp_path), r"ISIC_0000004.jpg: cannot decode image.*--skip_bad")


def _edit_csv(root, edit):
    header, rows = fx.read_csv(fx.gt_csv(root))
    header, rows = edit(header, rows)
    fx.write_csv(fx.gt_csv(root), header, rows)


@pytest.mark.parametrize("edit, pattern", [
    (lambda h, r: (h[:-1], [x[:-1] for x in r]), r"missing columns \['VASC'\]"),
    (lambda h, r: (h + ["UNK"], [x + ["0.0"] for x in r]), r"extra columns \['UNK'\]"),
    (lambda h, r: (h, r[:2] + [r[2][:-1]] + r[3:]), r"line 4 has 7 columns but the header has 8"),
    (lambda h, r: (h, r[:1] + [r[1][:1] + ["0.0"] * 7] + r[2:]), r"line 3 .*found 0 ones"),
    (lambda h, r: (h, r[:1] + [r[1][:1] + ["1.0"] * 2 + ["0.0"] * 5] + r[2:]), "found 2 ones"),
    (lambda h, r: (h, r + [r[0]]), "duplicate image id ISIC_0000000"),
    (lambda h, r: (h, r[:-1]), "found under .* but not listed in .*GroundTruth.csv: ISIC_0000020"),
])
def test_bad_ground_truth_csv(tmp_path, edit, pattern):
    root = _tiny(tmp_path)
    _edit_csv(root, edit)
    _fails(_tiny_config(root, tmp_path), pattern)


def test_image_listed_but_missing_on_disk(tmp_path):
    root = _tiny(tmp_path)
    os.remove(fx.input_path(root, fx.image_id(3)))
    _fails(_tiny_config(root, tmp_path), "listed in .* but not found under .*: ISIC_0000003")


def test_duplicate_image_id_on_disk(tmp_path):
    root = _tiny(tmp_path)
    Image.new("RGB", (8, 8)).save(fx.input_path(root, fx.image_id(2))[:-4] + ".png")
    _fails(_tiny_config(root, tmp_path), "duplicate image id ISIC_0000002")


def test_class_without_images(tmp_path):
    root = _tiny(tmp_path, labels=[c for c in range(6) for _ in range(3)])
    _fails(_tiny_config(root, tmp_path), "class VASC has no image")


def test_split_leaving_a_class_without_training_images(tmp_path):
    _fails(_tiny_config(_tiny(tmp_path), tmp_path, val_size=20),
           "would leave class .* without a training image")


@pytest.mark.parametrize("val_size", [501, 20])   # the default on a small set; too many for a class
def test_refused_val_size_names_one_that_works_and_it_does(tmp_path, val_size):
    root = _tiny(tmp_path)                            # 3 images per class, 21 in all
    with pytest.raises(UserError) as err:
        prepare.prepare_dataset(_tiny_config(root, tmp_path, val_size=val_size))
    suggested = int(re.search(r"--val_size=(\d+) works", str(err.value)).group(1))
    assert 0 < suggested < val_size
    info = prepare.prepare_dataset(_tiny_config(root, tmp_path, val_size=suggested))
    assert info["splits"]["val"]["num_images"] > 0
    assert all(n > 0 for n in info["splits"]["train"]["counts"].values())


@pytest.mark.parametrize("field, value, pattern", [
    ("resolution", 48, "--resolution=48 must be a power of two"),
    ("resolution", 2, "--resolution=2 must be a power of two ≥ 4"),
    ("val_size", -1, "--val_size=-1 must be ≥ 0"), ("workers", 0, "--workers=0 must be ≥ 1"),
    ("augment_per_image", -2, "--augment_per_image=-2"), ("source", "zip", "--source=zip"),
    ("max_per_class", -1, "--max_per_class=-1 must be ≥ 0"),
    ("extra_train", "/no/such/dir", "--extra_train=/no/such/dir is not a folder"),
])
def test_bad_flags(tmp_path, field, value, pattern):
    config = dataclasses.replace(_tiny_config(str(tmp_path), tmp_path), **{field: value})
    _fails(config, pattern)


def test_output_dir_holding_a_dataset_needs_overwrite(tmp_path):
    root = _tiny(tmp_path)
    config = _tiny_config(root, tmp_path)
    prepare.prepare_dataset(config)
    with pytest.raises(UserError, match="already holds a dataset; pass --overwrite"):
        prepare.prepare_dataset(config)
    (tmp_path / "out" / "stale.txt").write_text("old")
    info = prepare.prepare_dataset(dataclasses.replace(config, overwrite=True, seed=8))
    assert info["seed"] == 8 and not (tmp_path / "out" / "stale.txt").exists()
    with pytest.raises(UserError, match="contains --input_dir"):
        prepare.check_output_dir(dataclasses.replace(config, output_dir=str(tmp_path)))


def test_skip_bad_and_colour_conversions_are_listed(tmp_path):
    root = _tiny(tmp_path)
    open(fx.input_path(root, fx.image_id(0)), "wb").write(b"garbage")
    Image.new("L", (40, 30), 90).save(fx.input_path(root, fx.image_id(5)))
    Image.new("CMYK", (40, 30)).save(fx.input_path(root, fx.image_id(9)))
    os.remove(fx.input_path(root, fx.image_id(12)))
    Image.new("RGBA", (40, 30)).save(fx.input_path(root, fx.image_id(12))[:-4] + ".png")
    info = prepare.prepare_dataset(_tiny_config(root, tmp_path, skip_bad=True))
    assert [s["image"] for s in info["skipped"]] == ["ISIC_0000000"]
    assert "cannot decode" in info["skipped"][0]["reason"]
    assert sorted((c["image"], c["from"]) for c in info["converted"]) == [
        ("ISIC_0000005", "L"), ("ISIC_0000009", "CMYK"), ("ISIC_0000012", "RGBA")]
    splits = info["splits"]
    assert splits["train"]["num_images"] + splits["val"]["num_images"] == 20
    assert "ISIC_0000000" not in splits["train"]["images"] + splits["val"]["images"]


def test_val_from_a_separate_set(tmp_path):
    root = _tiny(tmp_path)
    val_root = str(tmp_path / "val_in")
    fx.make_isic_dir(val_root, list(range(7)), first=100, seed=1)
    info = prepare.prepare_dataset(_tiny_config(root, tmp_path, val_from=val_root))
    assert info["splits"]["val"]["images"] and sorted(info["splits"]["val"]["images"]) == [
        fx.image_id(100 + i) for i in range(7)]
    assert info["splits"]["val"]["origin"] == "val_from"
    assert info["splits"]["train"]["num_images"] == 21


def test_extra_train_adds_synthetic_images_to_train_only(tmp_path):
    root = _tiny(tmp_path)
    extra = tmp_path / "export"
    rows = []
    for c, name in enumerate(CLASSES):
        (extra / name).mkdir(parents=True)
        Image.new("RGB", (16, 16), (c * 30, 0, 0)).save(extra / name / "000.png")
        rows.append([f"{name}/000"] + ["1.0" if k == c else "0.0" for k in range(7)])
    fx.write_csv(str(extra / "labels.csv"), ["image"] + CLASSES, rows)
    info = prepare.prepare_dataset(_tiny_config(root, tmp_path, extra_train=str(extra)))
    train, val = info["splits"]["train"], info["splits"]["val"]
    assert sorted(train["synthetic_images"]) == sorted(f"synthetic:{n}/000" for n in CLASSES)
    assert set(train["synthetic_images"]) <= set(train["images"])
    assert not any(i.startswith("synthetic:") for i in val["images"])
    assert train["synthetic_counts"] == {c: 1 for c in CLASSES}
    fx.write_csv(str(extra / "labels.csv"), ["image"] + CLASSES[:-1] + ["OTHER"], rows)
    _fails(_tiny_config(root, tmp_path / "x", extra_train=str(extra)),
           r"labels.csv: classes .* do not match .*extra: \[.OTHER.\]")


def test_class_folders_source(tmp_path):
    for c, name in enumerate(("cat", "ant")):
        (tmp_path / "in" / name).mkdir(parents=True)
        for i in range(4):
            Image.new("RGB", (12, 9), (c * 200, i * 50, 0)).save(
                tmp_path / "in" / name / f"{i}.jpg")
    info = prepare.prepare_dataset(_tiny_config(str(tmp_path / "in"), tmp_path, source="folders",
                                                val_size=2))
    assert info["classes"] == ["ant", "cat"] and info["synthetic"] is False
    assert info["splits"]["val"]["counts"] == {"ant": 1, "cat": 1}


# ---- through the binaries ------------------------------------------------------------------------

def _tool_fails(args, pattern, out):
    result = fx.run_tool("prepare_dataset", *args)
    lines = fx.error_lines(result.stderr)
    assert result.returncode != 0
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert pattern in lines[0]
    assert not os.path.exists(out)


def test_tool_reports_bad_input_on_one_line(tmp_path):
    root = _tiny(tmp_path)
    out = str(tmp_path / "out")
    _tool_fails(["--input_dir", root, "--output_dir", out, "--resolution", "48"],
                "--resolution=48 must be a power of two", out)
    _edit_csv(root, lambda h, r: (h, r[:1] + [r[1][:1] + ["1.0"] * 2 + ["0.0"] * 5] + r[2:]))
    _tool_fails(["--input_dir", root, "--output_dir", out], "line 3 (image ISIC_0000001)", out)
    os.makedirs(out)
    open(os.path.join(out, "dataset.json"), "w").write("{}")
    result = fx.run_tool("prepare_dataset", "--input_dir", root, "--output_dir", out)
    assert result.returncode != 0 and "already holds a dataset" in result.stderr
    assert os.listdir(out) == ["dataset.json"]


def test_tool_corrupt_image_leaves_nothing_behind(tmp_path):
    root = _tiny(tmp_path)
    open(fx.input_path(root, fx.image_id(6)), "wb").write(b"\xff\xd8\xff garbage")
    out = str(tmp_path / "out")
    _tool_fails(["--input_dir", root, "--output_dir", out, "--resolution", "8", "--workers", "1",
                 "--val_size", "7", "--noprogress"], "ISIC_0000006.jpg: cannot decode", out)
    assert sorted(os.listdir(tmp_path)) == ["in"]


def test_end_to_end_synthesize_prepare_read(tmp_path):
    isic, out = str(tmp_path / "isic"), str(tmp_path / "data")
    made = fx.run_tool("make_synthetic_isic", "--output_dir", isic, "--num_images", "40",
                       "--seed", "3", "--noprogress")
    assert made.returncode == 0, made.stderr
    done = fx.run_tool("prepare_dataset", "--input_dir", isic, "--output_dir", out,
                       "--resolution", "32", "--val_size", "7", "--workers", "2", "--noprogress")
    assert done.returncode == 0, done.stderr
    assert "train:" in done.stdout and "val:" in done.stdout
    train = os.path.join(out, "train")
    assert pipeline.list_resolutions(train) == [4, 8, 16, 32]
    assert pipeline.read_dataset_info(train)["splits"]["train"]["num_images"] == \
        pipeline.dataset_size(train)
    for res, batch in ((8, 16), (32, 4)):
        images, labels = next(iter(pipeline.make_dataset(train, res, batch, seed=1, mirror=True)))
        assert images.shape == (batch, res, res, 3) and labels.shape == (batch, 7)
        assert -1 <= images.numpy().min() < images.numpy().max() <= 1
        np.testing.assert_array_equal(labels.numpy().sum(1), np.ones(batch))
    counts = collections.Counter(np.argmax(pipeline.read_labels(train), 1).tolist())
    assert len(counts) == 7


# ---- --max_per_class: a limited-data training set ------------------------------------------------

def test_max_per_class_picks_n_per_class_deterministically(synth_dir, tmp_path):
    full_classes, full = prepare.plan_splits(_config(synth_dir, str(tmp_path / "a")))[:2]
    picked = prepare.plan_splits(_config(synth_dir, str(tmp_path / "b"), max_per_class=2))[1]
    again = prepare.plan_splits(_config(synth_dir, str(tmp_path / "c"), max_per_class=2))[1]
    other = prepare.plan_splits(_config(synth_dir, str(tmp_path / "d"), max_per_class=2,
                                        seed=8))[1]
    ids = lambda tasks: sorted({t.source_id for t in tasks})  # noqa: E731
    counts = collections.Counter(t.label for t in picked["train"] if t.aug_k == 0)
    full_counts = collections.Counter(t.label for t in full["train"] if t.aug_k == 0)
    assert counts == {c: min(n, 2) for c, n in full_counts.items()}
    assert max(full_counts.values()) > 2  # the cap did cut something
    assert set(ids(picked["train"])) <= set(ids(full["train"]))
    assert ids(picked["train"]) == ids(again["train"])  # same seed, same pick
    assert ids(picked["train"]) != ids(other["train"])  # the pick depends on the seed
    assert ids(picked["val"]) == ids(full["val"])  # val is untouched
    # What the cap left out is the spare split (held-out reals for the overfitting statistic),
    # originals only; without the cap there is none.
    assert set(ids(picked["spare"])) == set(ids(full["train"])) - set(ids(picked["train"]))
    assert all(t.aug_k == 0 for t in picked["spare"]) and not full["spare"]


def test_max_per_class_is_recorded(synth_dir, tmp_path):
    info = prepare.prepare_dataset(_config(synth_dir, str(tmp_path / "o"), max_per_class=3,
                                           augment_per_image=0))
    assert info["max_per_class"] == 3
    assert max(info["splits"]["train"]["counts"].values()) == 3
    spare = info["splits"]["spare"]
    assert spare["dir"] == "spare" and spare["num_images"] > 0
    assert not set(spare["images"]) & set(info["splits"]["train"]["images"])
    with open(tmp_path / "o" / "dataset.json") as f:
        assert json.load(f)["max_per_class"] == 3


def test_full_disk_leaves_the_previous_dataset_and_no_temp_folder(tmp_path, monkeypatch):
    from pgan_tf import disk
    from pgan_tf import faults

    root = _tiny(tmp_path)
    config = dataclasses.replace(_tiny_config(root, tmp_path), overwrite=True)
    info = prepare.prepare_dataset(config)
    before = sorted(os.listdir(tmp_path))
    monkeypatch.setattr(faults, "_counts", {})
    monkeypatch.setenv(faults.ENOSPC_VAR, "prepare:1")  # after the new record files are written
    out = os.path.realpath(config.output_dir)
    with pytest.raises(disk.WriteError, match=f"^cannot write the dataset {out}: no space left "
                       "on device; the dataset already there is intact$"):
        prepare.prepare_dataset(dataclasses.replace(config, seed=8))
    assert sorted(os.listdir(tmp_path)) == before  # the temp folder is gone
    with open(os.path.join(out, "dataset.json")) as f:
        assert json.load(f) == info
