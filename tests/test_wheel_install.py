"""An installed wheel's console scripts run the demo pipeline, offline.

The wheel is built from a clean copy of the tree (`wheel_helpers`) and installed with `--no-deps
--force-reinstall` into a fresh venv. That venv sees the project venv's packages (TensorFlow etc.)
through a `.pth` line naming the project venv's site-packages: `python -m venv
--system-site-packages` from a venv's interpreter would expose the base interpreter's packages
instead. A plain path line does not run the `.pth` files of that folder, so the project's editable
install of pgan_tf stays invisible; the test checks that `pgan_tf` is imported from the new venv.
Then pgan-synthetic -> pgan-prepare -> pgan-train -> pgan-export -> pgan-evaluate at 16x16, run
from a folder outside the repository, and a `pgan-reproduce --dry_run` that finds the paper's
flagfiles inside the installed package.
"""
import os
import subprocess
import sys
import sysconfig

import pytest

from tests import wheel_helpers

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not wheel_helpers.is_git_checkout(),
                                 reason="needs a git checkout to make a clean copy")]
# 16x16 from the start, 2-image-wide networks: one compiled stage, 64 images of training.
TRAIN_FLAGS = ("--resolution=16", "--lod_initial_resolution=16", "--latent_size=8",
               "--fmap_base=32", "--fmap_max=8", "--minibatch_dict=16:8", "--tick_kimg=0.032",
               "--total_kimg=0.064", "--attention_stages=16", "--g_lr=0.001", "--d_lr=0.004",
               "--seed=3")


def _fresh_venv(root):
    """A venv at `root` (no pip) whose site-packages also lists the project venv's."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", root], check=True)
    python = os.path.join(root, "bin", "python")
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True).stdout.strip()
    with open(os.path.join(site, "project_venv.pth"), "w") as f:
        f.write(sysconfig.get_paths()["purelib"] + "\n")
    return python


def _run(venv, script, *args, cwd):
    """Run `venv/bin/<script>`; returns stdout. Offline: no index, no network is needed."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "TF_CPP_MIN_LOG_LEVEL")}
    out = subprocess.run([os.path.join(venv, "bin", script), *args], cwd=cwd, env=env,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, (script, out.stdout[-2000:], out.stderr[-4000:])
    return out


def test_installed_wheel_runs_the_demo_pipeline(tmp_path):
    wheel = wheel_helpers.build_wheel(str(tmp_path / "build"))
    venv = str(tmp_path / "venv")
    python = _fresh_venv(venv)
    subprocess.run([sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-deps",
                    "--force-reinstall", "--no-index", wheel], check=True, capture_output=True)
    work = str(tmp_path / "work")
    os.makedirs(work)
    where = _run(venv, "python", "-c", "import pgan_tf; print(pgan_tf.__file__)", cwd=work)
    assert where.stdout.strip().startswith(venv + os.sep), where.stdout  # not the editable copy
    _run(venv, "pgan-synthetic", "--output_dir=isic", "--num_images=60", "--seed=1",
         "--noprogress", cwd=work)
    _run(venv, "pgan-prepare", "--input_dir=isic", "--output_dir=data", "--resolution=16",
         "--val_size=15", "--seed=1", "--workers=1", "--noprogress", cwd=work)
    train = _run(venv, "pgan-train", "--data_dir=data", "--run_dir=run", *TRAIN_FLAGS, cwd=work)
    assert "reached total_kimg" in train.stdout and train.stderr.strip() == "", train.stderr
    assert os.path.isfile(os.path.join(work, "run", "export", "generator", "MODEL_CARD.md"))
    _run(venv, "pgan-export", "--run_dir=run", "--num_per_class=2", "--output_dir=samples",
         "--noprogress", cwd=work)
    assert os.path.isfile(os.path.join(work, "samples", "MODEL_CARD.md"))
    _run(venv, "pgan-evaluate", "--run_dir=run", "--metrics=gan_test,swd", "--num_per_class=4",
         "--epochs=1", "--classifier_width=4", "--output=results.json", "--noprogress", cwd=work)
    assert os.path.isfile(os.path.join(work, "results.json"))
    card = open(os.path.join(work, "run", "export", "generator", "MODEL_CARD.md")).read()
    assert "GAN-test accuracy" in card   # evaluation refreshed the SavedModel's card
    plan = _run(venv, "pgan-reproduce", "--experiment=table2", "--scale=test", "--data_dir=data",
                "--work_dir=reproduce", "--dry_run", cwd=work).stdout
    shipped = os.path.join(os.path.dirname(where.stdout.strip()), "flags")
    for model in ("pgan", "apgan", "apgan_ttur"):
        assert f"pgan_tf.cli.train --flagfile={shipped}/{model}.cfg" in plan, plan
    assert plan.count("pgan_tf.cli.evaluate --run_dir=") == 3
    assert not os.path.exists(os.path.join(work, "reproduce"))   # a dry run writes nothing
