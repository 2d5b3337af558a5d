"""Sample export: deterministic files, labels.csv, manifest, balance counts, atomicity, errors."""
import csv
import hashlib
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

import pgan_tf
from pgan_tf import sampling
from tests import sheet_helpers
from pgan_tf.errors import UserError
from pgan_tf.eval import sample_export
from tests.eval_fixtures import CLASSES, tiny_run, tool


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return tiny_run(tmp_path_factory)


@pytest.fixture(scope="module")
def generator(run):
    from pgan_tf.training.generator import restore_run_generator

    return restore_run_generator(run[0])


def _export(run_dir, out, rg=None, **kw):
    config = sample_export.ExportConfig(run_dir=run_dir, output_dir=str(out), progress=False, **kw)
    return sample_export.export_samples(config, run_generator=rg)


def _files(folder):
    """{relative path: bytes} of every file but the manifest (which records the time)."""
    out = {}
    for here, _, names in os.walk(folder):
        for name in names:
            rel = os.path.relpath(os.path.join(here, name), folder)
            if rel != "manifest.json":
                out[rel] = open(os.path.join(here, name), "rb").read()
    return out


def test_export_is_deterministic_and_writes_labels_and_manifest(run, generator, tmp_path):
    run_dir = run[0]
    m = _export(run_dir, tmp_path / "a", generator, num_per_class=3, seed=5, grid=True)
    _export(run_dir, tmp_path / "b", generator, num_per_class=3, seed=5, grid=True)
    assert _files(tmp_path / "a") == _files(tmp_path / "b")
    rows = list(csv.reader(open(tmp_path / "a" / "labels.csv")))
    assert rows[0] == ["image", "MEL", "NV", "DF"]
    stem = "run-000000-5-{:06d}"  # run folder "run", kimg 0 (32 images seen), seed 5
    assert rows[1:] == [[f"{c}/{stem.format(i)}"] + ["1.0" if d == c else "0.0" for d in CLASSES]
                        for c in CLASSES for i in range(3)]
    for row in rows[1:]:
        assert os.path.isfile(tmp_path / "a" / (row[0] + ".png"))
    saved = json.load(open(os.path.join(run_dir, "config.json")))
    on_disk = json.load(open(tmp_path / "a" / "manifest.json"))
    assert on_disk["counts"] == {"MEL": 3, "NV": 3, "DF": 3} == m["counts"]
    assert on_disk["config_sha256"] == hashlib.sha256(
        json.dumps(saved["config"], sort_keys=True).encode()).hexdigest()
    assert (on_disk["images_seen"], on_disk["kimg"], on_disk["seed"]) == (32, 0.032, 5)
    assert on_disk["stage_resolution"] == 16 and on_disk["upsampled"] is False
    assert on_disk["checkpoint"].endswith("ckpt-32") and on_disk["provenance"]["packages"]
    grid = np.asarray(Image.open(tmp_path / "a" / "grid.png"))
    margin = sheet_helpers.margin_width(grid)
    assert grid.shape == (3 * 64, margin + 3 * 64, 3)  # 3 classes x 3 images, 16 px shown at 64
    assert margin >= 30 and (grid[:, :4] == 255).all()  # a white margin holding the names
    assert sheet_helpers.row_labels(grid, 3, CLASSES) == on_disk["classes"]


def test_images_follow_the_documented_latents(run, generator, tmp_path):
    _export(run[0], tmp_path / "out", generator, num_per_class=2, seed=9, classes=("DF",))
    # Independently: class DF = index 2, latents = RandomState(SeedSequence([9, 2])) rows.
    entropy = np.random.SeedSequence([9, 2]).generate_state(1)[0]
    latents = np.random.RandomState(entropy).standard_normal([2, 8]).astype(np.float32)
    labels = np.tile(np.float32([0, 0, 1]), (2, 1))
    expected = sampling.to_uint8(generator(latents, labels))
    for i in range(2):
        got = np.asarray(Image.open(tmp_path / "out" / "DF" / f"run-000000-9-{i:06d}.png"))
        np.testing.assert_array_equal(got, expected[i])
    assert sorted(os.listdir(tmp_path / "out")) == ["DF", "MODEL_CARD.md", "labels.csv",
                                                    "manifest.json"]


def test_more_images_or_other_classes_keep_earlier_images(run, generator, tmp_path):
    _export(run[0], tmp_path / "small", generator, num_per_class=1, classes=("NV",))
    _export(run[0], tmp_path / "big", generator, num_per_class=3)
    name = "NV/run-000000-0-000000.png"
    small, big = (open(tmp_path / d / name, "rb").read() for d in ("small", "big"))
    assert small == big


def test_existing_output_is_refused_and_failures_leave_nothing(run, generator, tmp_path):
    out = tmp_path / "out"
    _export(run[0], out, generator, num_per_class=1)
    with pytest.raises(UserError, match="already exists"):
        _export(run[0], out, generator, num_per_class=1)
    _export(run[0], out, generator, num_per_class=2, overwrite=True)
    assert len(os.listdir(out / "MEL")) == 2

    class Broken:
        config, images_seen, class_names = generator.config, 0, list(CLASSES)

        def __call__(self, *a, **k):
            raise RuntimeError("disk full")
    with pytest.raises(RuntimeError):
        _export(run[0], tmp_path / "new", Broken(), num_per_class=1)
    assert sorted(os.listdir(tmp_path)) == ["out"]  # no OUT, no temp folder left


def test_balance_to_tops_up_real_training_counts(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    info = {"classes": ["MEL", "NV", "DF"], "augmentation": {"per_image": 1},
            "splits": {"train": {"counts": {"MEL": 2 * 3, "NV": 2 * 12 + 5, "DF": 2 * 1},
                                 "synthetic_counts": {"MEL": 0, "NV": 5, "DF": 0}}}}
    (data / "dataset.json").write_text(json.dumps(info))
    saved = {"config": {"data_dir": str(data)}, "classes": ["MEL", "NV", "DF"]}
    config = sample_export.ExportConfig(run_dir="r", output_dir="o", balance_to=10)
    counts, real = sample_export.plan_counts(config, saved)
    assert real == {"MEL": 3, "NV": 12, "DF": 1}
    assert counts == {"MEL": 7, "NV": 0, "DF": 9}  # max(0, 10 - real)


def test_validation_errors(run, tmp_path):
    def check(match, **kw):
        args = dict(run_dir=run[0], output_dir=str(tmp_path / "o"), num_per_class=2)
        with pytest.raises(UserError, match=match):
            sample_export.validate_export(sample_export.ExportConfig(**{**args, **kw}))
    check("not a pgan_tf run", run_dir=str(tmp_path))
    check("BCC not in the run's classes", classes=("MEL", "BCC"))
    check("must be > 0", num_per_class=0)
    check("exactly one", balance_to=5)
    check("format", image_format="gif")


def _tool(*args):
    return subprocess.run([sys.executable, tool("export_samples"), *args], capture_output=True,
                          text=True, timeout=60)


@pytest.mark.parametrize("args, message", [
    (["--num_per_class=2"], "not a pgan_tf run (no config.json)"),
    (["--num_per_class=2", "--classes=XYZ"], "XYZ not in the run's classes"),
    (["--num_per_class=-1"], "--num_per_class must be > 0"),
])
def test_tool_rejects_bad_input_with_one_line(run, tmp_path, args, message):
    run_dir = str(tmp_path) if "not a pgan_tf" in message else run[0]
    out = _tool(f"--run_dir={run_dir}", f"--output_dir={tmp_path / 'o'}", *args)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0]
    assert not os.path.exists(tmp_path / "o")


def test_tool_refuses_an_existing_output_dir(run, tmp_path):
    (tmp_path / "o").mkdir()
    (tmp_path / "o" / "keep.txt").write_text("x")
    out = _tool(f"--run_dir={run[0]}", f"--output_dir={tmp_path / 'o'}", "--num_per_class=1")
    assert out.returncode == 2 and "already exists; pass --overwrite" in out.stderr
    assert os.listdir(tmp_path / "o") == ["keep.txt"]


def test_load_generator_without_an_export_says_how_to_get_samples(tmp_path):
    """A run stopped by SIGTERM has checkpoints but no export yet: the error names both routes."""
    with pytest.raises(UserError, match=r"resumed to its end.*pgan-export --run_dir"):
        pgan_tf.load_generator(str(tmp_path))
