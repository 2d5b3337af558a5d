"""The augmentation experiment (paper §3.7): picks, arms, outputs end to end, errors."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from pgan_tf.data import record_ids
from pgan_tf.errors import UserError
from pgan_tf.eval import experiment as ex
from pgan_tf.eval.classifier import ClassifierConfig
from tests.eval_fixtures import make_eval_dataset, tiny_run, tool

TINY = ClassifierConfig(epochs=1, batch_size=8, width=8, seed=0)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("experiment") / "data")
    make_eval_dataset(root, resolution=16, train_per_class=4, val_per_class=2)
    return root


@pytest.mark.slow  # end to end, minutes on 2 cores: `make test-slow`
def test_end_to_end_writes_json_markdown_and_chart(data, tmp_path):
    config = ex.ExperimentConfig(data_dir=data, output_dir=str(tmp_path / "out"),
                                 arms=("real", "standard"), per_class_real=5, per_class_extra=3,
                                 classifier=TINY, seed=1, progress=False)
    results = ex.run_experiment(config)
    assert sorted(os.listdir(tmp_path / "out")) == ["results.json", "results.md", "results.png"]
    written = json.load(open(tmp_path / "out" / "results.json"))
    assert written["arms"].keys() == {"real", "standard"}
    # The standard arm's copies use this code's rotation; the tiny dataset was made without copies.
    assert written["rotation_rule"] == {"standard_arm": "quarter_turns_then_crop",
                                        "dataset": "none (no augmented copies)"}
    # 4 real images per class < 5 requested: all are used, and a note says so for each class.
    assert results["pick"]["counts"] == {"MEL": 4, "NV": 4, "DF": 4}
    assert sum("all are used" in n for n in results["notes"]) == 3
    real, standard = results["arms"]["real"], results["arms"]["standard"]
    assert real["num_train"] == 12 and standard["num_train"] == 12 + 9
    assert standard["train_counts"] == {"MEL": 7, "NV": 7, "DF": 7}
    for arm in (real, standard):
        assert 0 <= arm["accuracy"]["mean"] <= 1 and arm["accuracy"]["std"] == 0.0
        assert arm["runs"][0]["num_test"] == 6 and arm["runs"][0]["classifier"]["epochs"] == 1
    md = open(tmp_path / "out" / "results.md").read()
    assert "| arm | training images | accuracy (%) | balanced accuracy (%) |" in md
    assert f"| standard | 21 | {100 * standard['accuracy']['mean']:.2f} ± 0.00 [" in md
    # Intervals over the 6 val images; standard against real on the same images, paired.
    assert real["interval"]["per_class_recall"]["DF"]["n"] == 2 and "vs_real" not in real
    assert standard["vs_real"]["accuracy"]["value"] == pytest.approx(
        standard["accuracy"]["mean"] - real["accuracy"]["mean"])
    assert len(standard["runs"][0]["predictions"]) == 6
    with pytest.raises(UserError, match="already exists"):
        ex.validate_experiment(config)


def test_every_arm_gets_its_interval_and_the_paired_difference_to_real():
    labels = np.array([0, 0, 0, 1, 1, 2])
    names = ("MEL", "NV", "DF")
    runs = {"real": [[0, 0, 1, 1, 1, 0], [0, 1, 1, 1, 0, 0]],       # two classifier seeds
            "gan:run": [[0, 0, 0, 1, 1, 2], [0, 0, 1, 1, 1, 2]]}
    arms = {name: {"runs": [{"predictions": p} for p in preds], "num_train": 9,
                   "accuracy": {"mean": 0.5, "std": 0.1},
                   "balanced_accuracy": {"mean": 0.4, "std": 0.1}}
            for name, preds in runs.items()}
    ex.add_intervals(arms, labels, names)
    assert "vs_real" not in arms["real"]
    diff = arms["gan:run"]["vs_real"]
    # Mean over the two seeds of (gan - real): accuracy (6/6 + 5/6 - 3/6 - 3/6) / 2.
    assert diff["accuracy"]["value"] == pytest.approx((1 + 5 / 6 - 0.5 - 0.5) / 2)
    assert diff["per_class_recall"]["DF"]["value"] == pytest.approx(1.0)
    assert diff["per_class_recall"]["DF"]["n"] == 1
    assert arms["real"]["interval"]["accuracy"]["value"] == pytest.approx(0.5)
    md = ex.results_markdown({"num_val": 6, "per_class_real": 2, "per_class_extra": 3,
                              "repeats": 2, "pretrained": False, "classes": list(names),
                              "arms": arms, "notes": []})
    assert "| gan:run | 9 | 50.00 ± 10.00 [" in md and "| +41.7 [" in md
    assert "DF (n=1)" in md


def test_pick_is_seeded_per_class_and_skips_synthetic_records():
    labels = np.array([0, 1, 0, 1, 0, 1, 0, 2])
    info = {"splits": {"train": {"images": ["a", "b", "synthetic:x", "c", "d#aug1", "e", "f",
                                            "g"]}}}
    candidates = record_ids.real_indices(info, len(labels))
    np.testing.assert_array_equal(candidates, [0, 1, 3, 5, 6, 7])
    a, notes = ex.pick_reals(labels, candidates, ("A", "B", "C"), 2, seed=4)
    b, _ = ex.pick_reals(labels, candidates, ("A", "B", "C"), 2, seed=4)
    np.testing.assert_array_equal(a, b)
    assert sorted(labels[a].tolist()) == [0, 0, 1, 1, 2] and set(a) <= set(candidates)
    assert notes == ["class C has 1 real training images (< 2): all are used"]


def test_standard_arm_cycles_over_the_picked_images():
    from pgan_tf.data import augment

    rng = np.random.RandomState(0)
    images = rng.randint(0, 256, (4, 16, 16, 3)).astype(np.uint8)
    labels = np.array([0, 0, 1, 1])
    out, out_labels = ex.standard_extra(images, labels, np.array([0, 1, 3]), 2, 3, seed=7)
    np.testing.assert_array_equal(out_labels, [0, 0, 0, 1, 1, 1])
    transform = augment.build_pipeline().torch_transform()
    # Class 0 pool [0, 1]: extra 2 = copy 2 of record 0; class 1 pool [3]: extra 1 = copy 2 of 3.
    np.testing.assert_array_equal(out[2], augment.augment_image(images[0], transform, 7, 0, 2))
    np.testing.assert_array_equal(out[4], augment.augment_image(images[3], transform, 7, 3, 2))


def test_gan_arm_samples_the_run_and_resizes(tmp_path_factory):
    from pgan_tf.eval import sample_export
    from pgan_tf.training.generator import restore_run_generator

    run_dir, _, _ = tiny_run(tmp_path_factory)
    images, labels, notes, used = ex.gan_extra(run_dir, ("DF", "MEL"), 2, seed=3, resolution=16)
    np.testing.assert_array_equal(labels, [0, 0, 1, 1])
    expected = sample_export.generate_class(restore_run_generator(run_dir), 2, 2, 3)  # DF = run class 2
    np.testing.assert_array_equal(images[:2], expected)
    assert used["images_seen"] == 32 and used["checkpoint"].endswith("ckpt-32")  # the latest
    small, _, notes, _ = ex.gan_extra(run_dir, ("DF", "MEL"), 2, seed=3, resolution=8)
    assert small.shape == (4, 8, 8, 3) and "resized to 8x8" in notes[0]


def test_gan_arm_at_a_named_checkpoint_samples_that_checkpoint(tmp_path_factory, tmp_path):
    from pgan_tf.eval import sample_export
    from pgan_tf.training.generator import restore_run_generator

    run_dir, data_dir, _ = tiny_run(tmp_path_factory)   # checkpoints at 16 and 32 images
    images, _, _, used = ex.gan_extra(run_dir, ("DF", "MEL"), 2, seed=3, resolution=16,
                                      checkpoint=16)
    assert used["images_seen"] == 16 and used["checkpoint"].endswith("ckpt-16")
    at_16 = sample_export.generate_class(restore_run_generator(run_dir, "0.016"), 2, 2, 3)
    np.testing.assert_array_equal(images[:2], at_16)
    latest = sample_export.generate_class(restore_run_generator(run_dir), 2, 2, 3)
    assert not np.array_equal(at_16, latest)   # the named checkpoint, not the latest
    config = ex.ExperimentConfig(data_dir=data_dir, output_dir=str(tmp_path / "out"),
                                 arms=(f"gan:{run_dir}@ckpt-16",), per_class_real=2,
                                 per_class_extra=2, classifier=TINY, progress=False)
    ex.run_experiment(config)
    arm = json.load(open(tmp_path / "out" / "results.json"))["arms"][f"gan:{run_dir}@ckpt-16"]
    assert (arm["images_seen"], os.path.basename(arm["checkpoint"])) == (16, "ckpt-16")
    assert arm["run_dir"] == os.path.abspath(run_dir)


def test_gan_arm_syntax():
    named, latest, at = ex.parse_arms(["gan:runs/a@ckpt-1600", "gan:runs/b", "gan:/x@y/run"])
    assert (named.run_dir, named.checkpoint, named.name) == ("runs/a", 1600, "gan:runs/a@ckpt-1600")
    assert (latest.run_dir, latest.checkpoint) == ("runs/b", None)
    assert (at.run_dir, at.checkpoint) == ("/x@y/run", None)   # '@' alone is part of the path
    for bad in ("gan:runs/a@ckpt-", "gan:runs/a@ckpt-1.6", "gan:@ckpt-16"):
        with pytest.raises(UserError, match="use gan:RUN_DIR or gan:RUN_DIR@ckpt-N"):
            ex.parse_arms([bad])


def test_validation_errors(data, tmp_path):
    def check(match, **kw):
        args = dict(data_dir=data, output_dir=str(tmp_path / "o"), arms=("real",))
        with pytest.raises(UserError, match=match):
            ex.validate_experiment(ex.ExperimentConfig(**{**args, **kw}))
    check("unknown arm", arms=("real", "mixup"))
    check("no repeats", arms=("real", "real"))
    check("not a pgan_tf run", arms=(f"gan:{tmp_path}",))
    check("must be > 0", per_class_real=0)
    check("--gan_sample_seed must be in", gan_sample_seed=-1)
    check("not a prepared dataset", data_dir=str(tmp_path))
    check("--classifier_weights=.*no such file",
          classifier=ClassifierConfig(weights_path=str(tmp_path / "none.weights.h5")))


def test_tool_rejects_bad_input(data, tmp_path):
    out = subprocess.run([sys.executable, tool("augment_experiment"), f"--data_dir={data}",
                          f"--output_dir={tmp_path / 'o'}", "--arms=real,gan:"],
                         capture_output=True, text=True, timeout=60)
    lines = out.stderr.strip().splitlines()
    assert out.returncode == 2 and len(lines) == 1 and "unknown arm 'gan:'" in lines[0]
    assert not os.path.exists(tmp_path / "o")


def test_a_checkpoint_the_run_lacks_is_one_line(tmp_path_factory, tmp_path):
    run_dir, data_dir, _ = tiny_run(tmp_path_factory)
    out = subprocess.run([sys.executable, tool("augment_experiment"), f"--data_dir={data_dir}",
                          f"--output_dir={tmp_path / 'o'}", f"--arms=real,gan:{run_dir}@ckpt-24"],
                         capture_output=True, text=True, timeout=60)
    lines = out.stderr.strip().splitlines()
    assert out.returncode == 2 and len(lines) == 1, out.stderr
    assert "has no checkpoint ckpt-24 (it has: ckpt-16, ckpt-32)" in lines[0]
    assert not os.path.exists(tmp_path / "o")
