"""Distribution on the CPU, each check in its own process (devices are fixed at TF start)."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from tests.tiny_dataset import make_tiny_dataset
from tests.train_helpers import REPO, log_lines, train_env

# Each check starts TensorFlow in subprocesses with 2 virtual devices or 2 workers: 1–3 minutes
# each on 2 cores, so they run in `make test-slow` (which .ci/run also runs).
pytestmark = pytest.mark.slow


def test_mirrored_two_devices_equal_one_device_per_half_batch():
    out = subprocess.run([sys.executable, "-m", "tests.mirrored_check"], cwd=REPO, env=train_env(),
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["replicas"] == 2
    mirrored = np.array([l[:2] for l in result["losses"]["mirrored"]])
    single = np.array([l[:2] for l in result["losses"]["single"]])
    whole = np.array([l[:2] for l in result["losses"]["whole"]])
    assert all(l[2] for l in result["losses"]["mirrored"])
    np.testing.assert_allclose(mirrored, single, rtol=1e-5, atol=1e-5)
    assert result["max_weight_diff"] < 1e-5
    # Not vacuous: per-replica minibatch stddev and draws make the whole-batch run differ.
    assert np.max(np.abs(whole - single)) > 1e-3


def test_mirrored_ada_shares_one_p_across_replicas():
    out = subprocess.run([sys.executable, "-m", "tests.mirrored_check", "ada"], cwd=REPO,
                         env=train_env(), capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    # Each step's r (reduced over replicas) moves p by 8 / 100 images; both copies alike, and
    # the same as the single device computing the two half-batches.
    for copies, single in zip(result["p"]["mirrored"], result["p"]["single"]):
        assert copies[0] == copies[1] == single
    assert len(set(result["p"]["single"])) > 1
    assert result["max_weight_diff"] < 1e-5


def test_mirrored_float16_loss_scaling_skips_on_every_replica_alike():
    out = subprocess.run([sys.executable, "-m", "tests.mirrored_check", "mixed_float16"], cwd=REPO,
                         env=train_env(), capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    overflow, fits = result["64.0"], result["8.0"]
    # Official init: the scaled fp16 loss overflows, both runs skip, every copy of the scale −1.
    assert overflow["finite"] == [False, False]
    assert overflow["scale_copies"] == [63.0, 63.0] and overflow["single_scale"] == 63.0
    assert overflow["d_changed"] == 0.0
    # A scale that fits: both apply, the copies agree at log2 + 0.0005, D moved, losses agree.
    assert fits["finite"] == [True, True]
    np.testing.assert_allclose(fits["scale_copies"], [8.0005, 8.0005], rtol=0, atol=1e-6)
    assert fits["d_changed"] > 0
    np.testing.assert_allclose(fits["loss_d"][0], fits["loss_d"][1], rtol=1e-2, atol=1e-2)


def _two_workers(data_dir, run_dir, total_kimg, scratch):
    return subprocess.run([sys.executable, "-m", "tests.multiworker_check", data_dir, str(run_dir),
                           str(total_kimg), str(scratch)], cwd=REPO, env=train_env(),
                          capture_output=True, text=True, timeout=500)


def _checkpoint_values(run_dir, name):
    import tensorflow as tf

    reader = tf.train.load_checkpoint(str(run_dir / "checkpoints" / name))
    return {k: reader.get_tensor(k) for k in reader.get_variable_to_shape_map()
            if k.startswith(("G/", "D/", "G_ema/"))}


def test_two_worker_run_on_localhost_writes_one_checkpoint_dir_and_resumes(tmp_path):
    data_dir = make_tiny_dataset(str(tmp_path / "data"), resolution=16)
    run_dir, scratch = tmp_path / "run", tmp_path / "scratch"
    scratch.mkdir()
    out = _two_workers(data_dir, run_dir, 0.032, scratch)
    assert out.returncode == 0, out.stdout[-4000:]
    checkpoints = sorted(f for f in os.listdir(run_dir / "checkpoints") if f.endswith(".index"))
    assert checkpoints == ["ckpt-16.index", "ckpt-32.index"]
    assert log_lines(run_dir)[-1] == "Training reached total_kimg at kimg 0.032"
    assert os.listdir(scratch) == []  # the non-chief's temporary copies are gone
    # Stopped at 0.016 kimg and resumed under the strategy: the same weights as the run above.
    part = tmp_path / "part"
    for kimg in (0.016, 0.032):
        out = _two_workers(data_dir, part, kimg, scratch)
        assert out.returncode == 0, out.stdout[-4000:]
    assert [l for l in log_lines(part) if l.startswith("Resuming from")] == [
        f"Resuming from {part / 'checkpoints' / 'ckpt-16'} at kimg 0.016"]
    full, resumed = (_checkpoint_values(d, "ckpt-32") for d in (run_dir, part))
    assert full.keys() == resumed.keys() and len(full) > 10
    for key in full:
        np.testing.assert_allclose(full[key], resumed[key], rtol=1e-4, atol=1e-5, err_msg=key)
