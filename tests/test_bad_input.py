"""Every command answers bad input with exit ≠ 0, one clear stderr line, no traceback,
and leaves nothing behind. Table-driven over the binaries; `{data}`, `{run}`, `{tmp}` are filled in.
"""
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from tests import data_fixtures as fx
from tests.tiny_dataset import make_tiny_dataset, make_tiny_dataset_with_val
from tests.train_helpers import REPO, TINY_FLAGS, train_command, train_env

TRAIN = [sys.executable, "-m", "pgan_tf.train"]
TINY = list(TINY_FLAGS)


def _tool(name):
    return [sys.executable, os.path.join(REPO, "tools", name)]


# (id, command, message fragment, path that must not exist afterwards)
CASES = [
    ("train-resolution-not-pow2", TRAIN + ["--resolution=48"], "--resolution=48", None),
    ("train-negative-lr", TRAIN + ["--d_lr=-1"], "--d_lr=-1.0: must be >= 0", None),
    ("train-unknown-attention-stage", TRAIN + ["--attention_stages=12"], "--attention_stages: 12", None),
    ("train-unknown-attention-type", TRAIN + ["--attention_type=gc"], "--attention_type", None),
    ("train-unknown-flag", TRAIN + ["--fmap_maxx=3"], "fmap_maxx", None),
    ("train-minibatch-dict-junk", TRAIN + ["--minibatch_dict=4:x"], "--minibatch_dict", None),
    ("train-missing-flagfile", TRAIN + ["--flagfile={tmp}/nope.cfg"], "nope.cfg", None),
    ("train-missing-data-dir", TRAIN + TINY + ["--data_dir={tmp}/none", "--run_dir={run}"],
     "--data_dir", "{run}"),
    ("train-resolution-above-dataset", TRAIN + TINY + ["--data_dir={data}", "--run_dir={run}",
                                                      "--resolution=32"], "--resolution=32", "{run}"),
    ("train-class-count-mismatch", TRAIN + TINY + ["--data_dir={data}/train", "--run_dir={run}",
                                                  "--num_classes=5"], "--num_classes=5", "{run}"),
    ("train-balanced-reals-without-labels", TRAIN + TINY + ["--data_dir={unlabelled}",
                                                          "--run_dir={run}", "--num_classes=0",
                                                          "--real_sampling=balanced"],
     "--real_sampling=balanced", "{run}"),
    ("train-wrong-dataset-format", TRAIN + TINY + ["--data_dir={tmp}/notrecords", "--run_dir={run}"],
     "tfrecords", "{run}"),
    ("train-foreign-run-dir", TRAIN + TINY + ["--data_dir={data}", "--run_dir={tmp}/foreign"],
     "not empty", None),
    ("train-unwritable-run-dir", TRAIN + TINY + ["--data_dir={data}", "--run_dir={tmp}/afile/run"],
     "--run_dir", None),
    ("train-multi-worker-without-tf-config", TRAIN + TINY + ["--data_dir={data}", "--run_dir={run}",
                                                            "--strategy=multi_worker"], "TF_CONFIG",
     "{run}"),
    ("train-heldout-class-too-small", TRAIN + TINY + ["--data_dir={data_one}", "--run_dir={run}",
                                                     "--d_augment=ada"],
     "class MEL has 1 real training image(s); a held-out set needs at least 2", "{run}"),
    ("train-unknown-diffaug-op", TRAIN + ["--d_augment=diffaug", "--diffaug_policy=translation,hue"],
     "--diffaug_policy=translation,hue: unknown op 'hue'", None),
    ("synthetic-too-few-images", _tool("make_synthetic_isic.py") + ["--output_dir={tmp}/syn",
                                                                    "--num_images=3"],
     "--num_images", "{tmp}/syn"),
    ("prepare-missing-input", _tool("prepare_dataset.py") + ["--input_dir={tmp}/none",
                                                             "--output_dir={tmp}/out"],
     "--input_dir", "{tmp}/out"),
    ("prepare-resolution-not-pow2", _tool("prepare_dataset.py") + ["--input_dir={tmp}",
                                                                   "--output_dir={tmp}/out",
                                                                   "--resolution=300"],
     "--resolution", "{tmp}/out"),
    ("export-missing-run-dir", _tool("export_samples.py") + ["--run_dir={tmp}/none",
                                                             "--num_per_class=2",
                                                             "--output_dir={tmp}/samples"],
     "not a pgan_tf run", "{tmp}/samples"),
    ("export-foreign-run-dir", _tool("export_samples.py") + ["--run_dir={tmp}/foreign",
                                                             "--num_per_class=2",
                                                             "--output_dir={tmp}/samples"],
     "not a pgan_tf run", "{tmp}/samples"),
    ("export-zero-per-class", _tool("export_samples.py") + ["--run_dir={trained}",
                                                            "--num_per_class=0",
                                                            "--output_dir={tmp}/samples"],
     "--num_per_class", "{tmp}/samples"),
    ("export-to-existing-folder", _tool("export_samples.py") + ["--run_dir={trained}",
                                                                "--num_per_class=2",
                                                                "--output_dir={tmp}/foreign"],
     "--overwrite", None),
    ("evaluate-unknown-metric", _tool("evaluate.py") + ["--run_dir={tmp}/foreign", "--metrics=fidd",
                                                        "--output={tmp}/results.json"],
     "--metrics", "{tmp}/results.json"),
    ("experiment-unknown-arm", _tool("augment_experiment.py") + ["--data_dir={data}",
                                                                 "--arms=real,bogus",
                                                                 "--output_dir={tmp}/exp"],
     "--arms", "{tmp}/exp"),
    ("reproduce-unknown-experiment", _tool("reproduce.py") + ["--experiment=table5",
                                                             "--data_dir={data}",
                                                             "--work_dir={tmp}/work"],
     "--experiment=table5", "{tmp}/work"),
    ("reproduce-data-below-resolution", _tool("reproduce.py") + ["--experiment=table2",
                                                                "--scale=demo", "--data_dir={data}",
                                                                "--work_dir={tmp}/work"],
     "prepared at 16x16", "{tmp}/work"),
    ("reproduce-data-without-val", _tool("reproduce.py") + ["--experiment=fig8", "--scale=test",
                                                           "--data_dir={data}",
                                                           "--work_dir={tmp}/work"],
     "no val split", "{tmp}/work"),
    ("reproduce-work-dir-of-other-scale", _tool("reproduce.py") + ["--experiment=table2",
                                                                  "--scale=test",
                                                                  "--data_dir={data_val}",
                                                                  "--work_dir={tmp}/otherscale"],
     "other settings (scale 'demo', not 'test')", "{tmp}/otherscale/table2/runs"),
    ("prepare-existing-dataset", _tool("prepare_dataset.py") + ["--input_dir={tmp}/notrecords",
                                                                "--output_dir={data}"],
     "--overwrite", None),
    # TensorFlow's checkpoint reader and manager glob the paths they get: a run dir holding
    # [ ] * ? is refused by every binary that reads or writes checkpoints, before any write.
    ("train-run-dir-with-pattern-characters", TRAIN + TINY + ["--data_dir={data}",
                                                              "--run_dir={tmp}/runs/a[b]*?c"],
     "--run_dir={tmp}/runs/a[b]*?c: TensorFlow's checkpoint files cannot live under a path "
     "holding [ ] * ?", "{tmp}/runs"),
    ("export-run-dir-with-pattern-characters", _tool("export_samples.py") + [
        "--run_dir={tmp}/runs/a[b]*?c", "--num_per_class=2", "--output_dir={tmp}/samples"],
     "--run_dir={tmp}/runs/a[b]*?c: TensorFlow's", "{tmp}/samples"),
    ("evaluate-run-dir-with-pattern-characters", _tool("evaluate.py") + [
        "--run_dir={tmp}/runs/a[b]*?c", "--output={tmp}/results.json"],
     "--run_dir={tmp}/runs/a[b]*?c: TensorFlow's", "{tmp}/results.json"),
    ("experiment-gan-arm-with-pattern-characters", _tool("augment_experiment.py") + [
        "--data_dir={data}", "--arms=real,gan:{tmp}/runs/a[b]*?c", "--output_dir={tmp}/exp"],
     "--arms=gan:{tmp}/runs/a[b]*?c: TensorFlow's", "{tmp}/exp"),
    ("reproduce-work-dir-with-pattern-characters", _tool("reproduce.py") + [
        "--experiment=table2", "--scale=test", "--data_dir={data_val}", "--work_dir={tmp}/w[1]"],
     "--work_dir={tmp}/w[1]: TensorFlow's", "{tmp}/w[1]"),
]


@pytest.fixture(scope="module")
def places(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("bad")
    data = make_tiny_dataset(str(tmp / "data"), resolution=16)
    data_one = make_tiny_dataset(str(tmp / "data_one"), resolution=16, num_images=3)  # 1 a class
    (tmp / "notrecords").mkdir()
    (tmp / "notrecords" / "readme.txt").write_text("not a dataset")
    (tmp / "foreign").mkdir()
    (tmp / "foreign" / "notes.txt").write_text("someone else's folder")
    (tmp / "afile").write_text("a file, not a folder")
    data_val = make_tiny_dataset_with_val(str(tmp / "data_val"), resolution=16)
    (tmp / "otherscale" / "table2").mkdir(parents=True)  # a pgan-reproduce work dir of the demo
    (tmp / "otherscale" / "table2" / "state.json").write_text(
        '{"settings": {"scale": "demo"}, "done": {}}')
    unlabelled = str(tmp / "unlabelled")  # an official dataset_tool folder without labels
    fx.write_official(unlabelled, np.full((4, 16, 16, 3), 128, np.uint8))
    trained = str(tmp / "trained")  # a real (one-step) run for the export cases
    subprocess.run(train_command(data, trained, "--total_kimg=0.008"), cwd=REPO, env=train_env(),
                   check=True, capture_output=True, timeout=300)
    return {"tmp": str(tmp), "data": data, "run": str(tmp / "run"), "trained": trained,
            "data_val": data_val, "unlabelled": unlabelled, "data_one": data_one}


def _fill(text, places):
    return text.format(**places)


@pytest.mark.parametrize("name, command, message, absent", CASES, ids=[c[0] for c in CASES])
def test_bad_input_gives_one_clear_line(places, name, command, message, absent):
    command = [_fill(c, places) for c in command]
    out = subprocess.run(command, cwd=REPO, env=train_env(), capture_output=True, text=True,
                         timeout=120)
    assert out.returncode != 0
    assert "Traceback" not in out.stderr, out.stderr
    lines = [l for l in out.stderr.splitlines() if l.strip() and not l.startswith("warning:")]
    # absl's own flag errors take two clear lines (the error and a pointer to --help).
    assert 1 <= len(lines) <= 2, out.stderr
    assert _fill(message, places) in out.stderr, out.stderr
    if absent:
        assert not os.path.exists(_fill(absent, places)), "left something behind"
    shutil.rmtree(places["run"], ignore_errors=True)
