"""Held-out reals for the overfitting statistic r_v (`--heldout_per_class`): which images the plan
takes (spare split first, else at most a tenth of a class's training images with their Augmentor
copies), the one-line refusal of a class too small, and a training stream that never yields them."""
import json
import os

import numpy as np
import pytest

from pgan_tf import cli
from pgan_tf.config import TrainConfig
from pgan_tf.data import heldout
from pgan_tf.data.tfrecords import LevelWriter, build_levels, write_labels
from pgan_tf.errors import UserError

CLASSES = ("MEL", "NV", "DF")


def _split(folder, classes, seed):
    """Records of 8x8 images whose first pixel encodes the record number (for identification)."""
    with LevelWriter(folder, 8) as writer:
        for i, _ in enumerate(classes):
            image = np.full((8, 8, 3), 0, np.uint8)
            image[0, 0] = (i % 256, i // 256, seed)
            writer.add(build_levels(image))
    write_labels(folder, np.eye(len(CLASSES), dtype=np.float32)[classes])


def _dataset(root, train_counts, spare_counts=None, copies=0):
    """A prepared-looking dataset: `train_counts` originals per class (each with `copies` Augmentor
    copies), optionally a spare split."""
    classes, ids = [], []
    for c, n in enumerate(train_counts):
        for j in range(n):
            for k in range(copies + 1):
                classes.append(c)
                ids.append(f"{CLASSES[c]}{j}" + (f"#aug{k}" if k else ""))
    splits = {"train": {"images": ids}}
    _split(os.path.join(root, "train"), classes, 1)
    if spare_counts:
        spare = [c for c, n in enumerate(spare_counts) for _ in range(n)]
        _split(os.path.join(root, "spare"), spare, 2)
        splits["spare"] = {"images": [f"s{i}" for i in range(len(spare))], "dir": "spare"}
    with open(os.path.join(root, "dataset.json"), "w") as f:
        json.dump({"classes": list(CLASSES), "splits": splits}, f)
    return root


def test_plan_takes_spare_images_first_else_a_tenth_of_the_class_with_its_copies(tmp_path):
    root = _dataset(str(tmp_path), train_counts=[10, 45, 5], spare_counts=[5, 2, 0], copies=1)
    plan = heldout.plan(root, 4, seed=3)
    mel, nv, df = (plan["classes"][c] for c in CLASSES)
    assert mel["split"] == "spare" and len(mel["records"]) == 4  # MEL keeps its 10
    assert nv["split"] == "train" and len(nv["records"]) == 4    # 45 // 10 = 4: at most a tenth
    assert df["split"] == "train" and len(df["records"]) == 1    # 5 images: still one held out
    with open(os.path.join(root, "dataset.json")) as f:
        ids = json.load(f)["splits"]["train"]["images"]
    held = {ids[i] for i in nv["records"] + df["records"]}
    assert all("#aug" not in name for name in held)  # originals are picked ...
    excluded = {ids[i] for i in plan["train_excluded"]}
    assert excluded == held | {f"{name}#aug1" for name in held}  # ... and leave with their copies
    assert heldout.plan(root, 4, seed=3) == plan and heldout.plan(root, 4, seed=4) != plan
    assert heldout.plan(root, 0, seed=3) is None


def test_a_class_with_one_image_is_refused_in_one_line(tmp_path):
    root = _dataset(str(tmp_path), train_counts=[30, 30, 1])
    with pytest.raises(UserError) as err:
        heldout.plan(root, 8, seed=0)
    assert str(err.value).startswith("class DF has 1 real training image(s); a held-out set needs")
    assert "\n" not in str(err.value)


def test_the_set_exists_only_when_asked_for():
    assert TrainConfig().heldout_per_class == 0  # the paper's runs: the full training split
    assert TrainConfig(d_augment="fixed").heldout_per_class == 0
    assert TrainConfig(d_augment="ada", d_augment_heuristic="rt").heldout_per_class == 0
    ada = TrainConfig(d_augment="ada")
    assert (ada.d_augment_heuristic, ada.heldout_per_class, ada.d_augment_target) == ("rv", 8, 0.5)
    assert TrainConfig(d_augment="ada", d_augment_heuristic="rt").d_augment_target == 0.6
    assert TrainConfig(heldout_per_class=3).heldout_per_class == 3  # asked for: in every arm
    with pytest.raises(UserError, match="needs held-out reals but --heldout_per_class=0"):
        TrainConfig(d_augment="ada", heldout_per_class=0)
    from pgan_tf.cli.train import config_from_args
    from tests.train_helpers import REPO
    for name in ("pgan", "apgan", "apgan_ttur", "demo"):  # the paper's runs and the demo
        config = config_from_args([f"--flagfile={os.path.join(REPO, 'flags', name + '.cfg')}"])
        assert (config.d_augment, config.heldout_per_class) == ("none", 0), name


def test_the_training_stream_never_yields_a_held_out_record_and_resumes_exactly(tmp_path):
    tf = cli.import_tensorflow()
    from pgan_tf.data import pipeline
    root = _dataset(str(tmp_path), train_counts=[6, 6, 6])
    train = os.path.join(root, "train")
    exclude = [0, 7, 13]

    def ids(start, count, balance=False):
        stream = pipeline.make_dataset(train, 8, 5, seed=1, start_index=start, exclude=exclude,
                                       balance_classes=balance)
        out = []
        for images, _ in stream.take(-(-count // 5)):
            x = (images.numpy()[:, 0, 0, :2] + 1) * 255 / 2
            out.extend(np.rint(x[:, 0] + 256 * x[:, 1]).astype(int).tolist())
        return out[:count]

    first = ids(0, 30)
    assert not set(first) & set(exclude)
    assert sorted(first[:15]) == sorted(set(range(18)) - set(exclude))  # an epoch: each once
    assert ids(10, 20) == first[10:30]                                  # resume mid-stream
    assert not set(ids(0, 40, balance=True)) & set(exclude)
    del tf


@pytest.mark.slow  # trains: about a minute on 2 idle cores
def test_a_none_run_with_a_held_out_set_logs_r_v_every_tick(tmp_path):
    cli.import_tensorflow()
    from pgan_tf.training import loop
    from tests.tiny_dataset import make_tiny_dataset
    data = make_tiny_dataset(str(tmp_path / "data"), resolution=8, num_images=40)
    run = tmp_path / "run"
    config = TrainConfig(data_dir=data, run_dir=str(run), resolution=8, lod_initial_resolution=8,
                         num_classes=3, latent_size=8, fmap_base=32, fmap_max=8,
                         minibatch_dict={8: 8}, tick_kimg=0.016, total_kimg=0.048, seed=7,
                         heldout_per_class=2, d_augment_min_res=8)
    state = loop.run(config)
    with open(run / "config.json") as f:
        assert json.load(f)["config"]["heldout_per_class"] == 2
    with open(run / "heldout.json") as f:
        plan = json.load(f)
    assert plan == heldout.plan(data, 2, seed=7)
    assert state.heldout.at(8).shape[0] == sum(len(c["records"]) for c in plan["classes"].values())
    with open(run / "log.txt") as f:
        ticks = [l.split() for l in f if l.startswith("tick ")]
    assert len(ticks) == 3 and all({"aug_rv", "aug_rt", "d_heldout"} <= set(t) for t in ticks)
    # ... and evaluation leaves them out too: the judge learns from the other 40 - k images
    from pgan_tf.eval import evaluate
    from pgan_tf.eval.classifier import ClassifierConfig
    held = sum(len(c["records"]) for c in plan["classes"].values())
    results = evaluate.run_evaluation(evaluate.EvalConfig(
        output=str(tmp_path / "eval.json"), run_dir=str(run), data_dir=data, metrics=("gan_test",),
        num_per_class=2, classifier=ClassifierConfig(epochs=1, batch_size=8, width=8),
        progress=False))
    assert results["heldout_left_out"] == {"images": held, "train_records": held}
    assert results["gan_test"]["num_train"] == 40 - held


def test_replace_resolves_auto_values_again():
    none = TrainConfig()
    ada = none.replace(d_augment="ada")
    assert (ada.heldout_per_class, ada.d_augment_target) == (8, 0.5)
    rt = ada.replace(d_augment_heuristic="rt")
    assert (rt.heldout_per_class, rt.d_augment_target) == (0, 0.6)
    assert ada.replace(d_augment_target=0.7).d_augment_target == 0.7  # given: kept
    assert TrainConfig(heldout_per_class=3).replace(d_augment="ada").heldout_per_class == 3
