"""The real classifier of GAN-train / GAN-test learns from the real originals only: on a
dataset prepared with K = 1 Augmentor copy per training image, the reference and GAN-test's judge
train on exactly the source images, the val split and the SWD/memorization train split keep every
record, and the results JSON says how many records the classifier used."""
import json
import os

import numpy as np
import pytest
from PIL import Image

from pgan_tf.data import heldout, prepare, synthetic
from pgan_tf.errors import UserError
from pgan_tf.eval import evaluate, reals
from pgan_tf.eval.classifier import ClassifierConfig

TINY = ClassifierConfig(epochs=1, batch_size=8, width=8, seed=0)


@pytest.fixture(scope="module")
def augmented(tmp_path_factory):
    """(root, dataset.json) of a 16x16 synthetic set prepared with one copy per training image."""
    base = tmp_path_factory.mktemp("reals")
    synthetic.write_synthetic_isic(str(base / "isic"), 40, seed=5)
    out = str(base / "data")
    info = prepare.prepare_dataset(prepare.PrepareConfig(
        input_dir=str(base / "isic"), output_dir=out, resolution=16, val_size=8,
        augment_per_image=1, seed=7, workers=1, progress=False))
    return out, info


class Recorder:
    """Stands in for a trained classifier: keeps its training set, always predicts class 0."""

    def __init__(self, images, labels, num_classes, *_):
        self.images, self.labels, self.num_classes = images, labels, num_classes
        self.input_shape = (None,) + images.shape[1:]

    def predict_on_batch(self, batch):
        return np.eye(self.num_classes)[np.zeros(len(batch), np.int64)]


@pytest.fixture
def recorded(monkeypatch):
    """Every real classifier `reals.RealClassifiers` trains, as a `Recorder` (no TensorFlow)."""
    made = []

    def train(*args):
        made.append(Recorder(*args))
        return made[-1]
    monkeypatch.setattr(reals, "train_classifier", train)
    return made


def test_the_real_reference_trains_on_exactly_the_originals(augmented, recorded, tmp_path):
    root, info = augmented
    ids = info["splits"]["train"]["images"]
    originals = [i for i, name in enumerate(ids) if "#aug" not in name]
    assert 0 < len(originals) == len(ids) // 2          # K = 1: one copy per source image
    loaded = evaluate.load_reals(root, 16, need_val=True)
    np.testing.assert_array_equal(loaded.originals, originals)
    assert len(loaded.train) == len(ids)                 # SWD / memorization keep every record
    assert len(loaded.val) == info["splits"]["val"]["num_images"]   # the test set is unchanged
    config = evaluate.EvalConfig(output=str(tmp_path / "r.json"), metrics=("gan_test",),
                                 classifier=TINY, progress=False)
    models = evaluate.RealClassifiers(loaded, TINY)
    result = evaluate.real_reference(loaded, config, models)
    (model,) = recorded
    np.testing.assert_array_equal(model.images, loaded.train.images[originals])
    np.testing.assert_array_equal(model.labels, loaded.train.labels[originals])
    assert result["num_train"] == len(originals) and result["num_test"] == len(loaded.val)
    assert loaded.classifier_record()["num_train"] == len(originals)
    assert loaded.classifier_record()["left_out"] == len(ids) - len(originals)


def _class_folders(folder, class_names, per_class):
    """A class-folder image set (the fakes of sets mode): `per_class` 16x16 PNGs per class."""
    rng = np.random.RandomState(0)
    for name in class_names:
        os.makedirs(folder / name)
        for i in range(per_class):
            pixels = rng.randint(0, 256, (16, 16, 3)).astype(np.uint8)
            Image.fromarray(pixels).save(folder / name / f"{i}.png")


def test_sets_mode_subset_keeps_only_its_originals_and_records_them(augmented, recorded, tmp_path):
    root, info = augmented
    _class_folders(tmp_path / "fakes", info["classes"], 2)   # 14 fakes: 14 of the train records
    results = evaluate.run_evaluation(evaluate.EvalConfig(
        output=str(tmp_path / "r.json"), metrics=("gan_test",), fakes=str(tmp_path / "fakes"),
        reals=root, classifier=TINY, progress=False))
    ids = np.array(info["splits"]["train"]["images"])
    order = np.sort(np.random.RandomState(0).permutation(len(ids))[:14])   # seeded_subset's draw
    kept = [i for i in order if "#aug" not in ids[i]]
    (model,) = recorded
    assert len(model.images) == len(kept) < 14
    written = json.load(open(tmp_path / "r.json"))
    assert written["real_classifier_train"]["num_train"] == len(kept)
    assert written["real_classifier_train"]["left_out"] == 14 - len(kept)
    assert results["gan_test"]["num_train"] == len(kept) and written["num_reals"] == 14


def test_a_dataset_without_copies_trains_on_every_record():
    info = {"splits": {"train": {"images": ["a", "b", "c"]}}}
    assert reals.originals_of(info, 3) is None
    assert reals.originals_of({}, 3) is None                       # no ids: nothing to leave out
    info = {"splits": {"train": {"images": ["a", "a#aug1", "synthetic:x", "b"]}}}
    np.testing.assert_array_equal(reals.originals_of(info, 4), [0, 3])
    np.testing.assert_array_equal(reals.originals_of(info, 4, order=np.array([1, 3])), [1])


def test_a_runs_held_out_reals_and_their_copies_are_left_out_of_every_real_set(
        augmented, recorded, tmp_path):
    """r_v's held-out reals (RUN/heldout.json) are used by no evaluation: their records and
    Augmentor copies leave the train split (the judge's and SWD's reals), by id; val is kept."""
    root, info = augmented
    ids = info["splits"]["train"]["images"]
    sources = sorted({name for name in ids if "#aug" not in name})
    held = frozenset(sources[:3])
    run = tmp_path / "run"
    run.mkdir()
    (run / "heldout.json").write_text(json.dumps(
        {"per_class": 1, "classes": {"X": {"split": "train", "records": [], "ids": sorted(held)}}}))
    assert heldout.run_ids(str(run)) == held
    assert heldout.run_ids(str(tmp_path)) == frozenset()          # a run without a set
    full = evaluate.load_reals(root, 16, need_val=True)
    loaded = evaluate.load_reals(root, 16, need_val=True, exclude_ids=heldout.run_ids(str(run)))
    kept = [i for i, name in enumerate(ids) if name.split("#aug")[0] not in held]
    assert loaded.heldout_left_out == len(ids) - len(kept) == 6   # 3 images, 1 copy each
    np.testing.assert_array_equal(loaded.train.images, full.train.images[kept])
    np.testing.assert_array_equal(loaded.train.labels, full.train.labels[kept])
    originals = [k for k, i in enumerate(kept) if "#aug" not in ids[i]]
    np.testing.assert_array_equal(loaded.originals, originals)
    np.testing.assert_array_equal(loaded.val.images, full.val.images)
    evaluate.RealClassifiers(loaded, TINY).get(0)
    (model,) = recorded
    trained_ids = {ids[kept[k]] for k in originals}
    assert len(model.images) == len(trained_ids) and not trained_ids & held


def test_held_out_reals_without_ids_to_find_them_by_are_refused(augmented, tmp_path):
    root, info = augmented
    no_ids = {**info, "splits": {**info["splits"], "train": {
        k: v for k, v in info["splits"]["train"].items() if k != "images"}}}
    with pytest.raises(UserError, match="lists no ids"):
        reals.kept_records(no_ids, 10, frozenset({"ISIC_0"}))
    assert reals.kept_records(no_ids, 10, frozenset()) is None      # nothing to leave out
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "heldout.json").write_text("{not json")
    with pytest.raises(UserError, match="heldout.json is unreadable"):
        heldout.run_ids(str(tmp_path / "run"))
