"""The training binary: --dry_run output, flag overrides after --flagfile, fast bad-flag errors."""
import json
import os
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _train(*args, cwd=REPO):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    return subprocess.run([sys.executable, "-m", "pgan_tf.train", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def test_dry_run_prints_config_then_parameter_counts(tmp_path):
    # From another directory: nested flagfiles resolve relative to the including file.
    out = _train(f"--flagfile={REPO}/flags/pgan.cfg", "--num_classes=7", "--d_lr=0.002",
                 "--dry_run", f"--data_dir={tmp_path}/none", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    end = lines.index("}")
    config = json.loads("\n".join(lines[:end + 1]))
    assert config["d_lr"] == 0.002 and config["g_lr"] == 0.001  # command line beats flagfile
    assert config["resolution"] == 256 and config["attention_stages"] == []
    # Official PGAN at 256x256 with 7 classes (REFERENCE §1.6).
    assert lines[end + 1:] == ["G parameters: 23101653", "D parameters: 23055944"]
    assert out.stderr.strip() == ""  # no TensorFlow start-up noise


def test_dry_run_of_the_paper_model_and_the_demo():
    out = _train("--flagfile=flags/apgan_ttur.cfg", "--dry_run")
    assert out.returncode == 0, out.stderr
    config = json.loads(out.stdout[:out.stdout.rindex("}") + 1])
    assert (config["g_lr"], config["d_lr"], config["attention_stages"]) == (0.001, 0.004, [64])
    assert (config["total_kimg"], config["resolution"]) == (8000, 256)
    # Issue 13: the paper's runs do not augment D; the settings are in the JSON.
    assert (config["d_augment"], config["d_augment_ops"]) == ("none", "blit,geom")


@pytest.mark.parametrize("flag, message", [
    ("--resolution=48", "--resolution=48: must be a power of two"),
    ("--attention_stages=12", "--attention_stages: 12"),
    ("--attention_type=gc", "--attention_type"),
    ("--minibatch_dict=4=2", "--minibatch_dict"),
    ("--d_augment_ops=blit,colour", "--d_augment_ops=blit,colour: unknown group 'colour'; "
     "valid groups: blit, geom, color, cutout"),
])
def test_bad_flags_fail_with_one_line(flag, message):
    out = _train("--flagfile=flags/apgan_ttur.cfg", flag, "--dry_run")
    assert out.returncode != 0
    errors = [l for l in out.stderr.splitlines() if l.strip() and not l.startswith("warning:")]
    assert 1 <= len(errors) <= 2 and message in out.stderr, out.stderr
    assert "Traceback" not in out.stderr
