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
    # Official PGAN at 256x256 with 7 classes (docs/design.md#parameter-counts).
    assert lines[end + 1:] == ["G parameters: 23101653", "D parameters: 23055944"]
    assert out.stderr.strip() == ""  # no TensorFlow start-up noise


def test_dry_run_of_the_paper_model_and_the_demo():
    out = _train("--flagfile=flags/apgan_ttur.cfg", "--dry_run")
    assert out.returncode == 0, out.stderr
    config = json.loads(out.stdout[:out.stdout.rindex("}") + 1])
    # --attention_stages=auto (apgan.cfg) resolves to R/2 = 128, the second-to-last block (§3.4).
    assert (config["g_lr"], config["d_lr"], config["attention_stages"]) == (0.001, 0.004, [128])
    assert (config["total_kimg"], config["resolution"]) == (8000, 256)
    # The paper's runs do not augment D; the settings are in the JSON.
    assert (config["d_augment"], config["d_augment_ops"], config["d_augment_p_max"]) == (
        "none", "blit,geom", 0.8)


# The config --dry_run prints (`config_from_flags`), without the TensorFlow start-up of a dry run.
_CONFIG_ONLY = ("import json, sys; from absl import flags; from pgan_tf.cli import train; "
                "from pgan_tf.flagfiles import expand_flagfiles; train.define_flags(); "
                "flags.FLAGS(expand_flagfiles(sys.argv)); "
                "print(json.dumps(train.config_from_flags().to_dict())); "
                "assert 'tensorflow' not in sys.modules")


@pytest.mark.parametrize("args, stages", [
    (["--flagfile=flags/apgan.cfg"], [128]),                      # auto at 256
    (["--flagfile=flags/demo.cfg"], [16]),                        # auto at 32
    (["--flagfile=flags/pgan.cfg"], []),                          # no attention
    (["--flagfile=flags/apgan.cfg", "--resolution=128"], [64]),   # auto follows --resolution
    # An explicit list still works (paper Table 1 at 128x128: stages 32, 64, 128).
    (["--flagfile=flags/apgan.cfg", "--resolution=128", "--attention_stages=32,128"], [32, 128]),
])
def test_attention_stages_resolve_to_one_list(args, stages):
    out = subprocess.run([sys.executable, "-c", _CONFIG_ONLY, *args], cwd=REPO,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["attention_stages"] == stages


@pytest.mark.parametrize("flag, message", [
    ("--resolution=48", "--resolution=48: must be a power of two"),
    ("--attention_stages=12", "--attention_stages: 12"),
    ("--attention_stages=automatic", "--attention_stages=automatic: expected auto"),
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
