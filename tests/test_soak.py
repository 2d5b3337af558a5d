"""Soak: SIGKILL training at random moments (some inside checkpoint writes, some at stage
changes), restart the same command each time, and check nothing is lost.

`make soak` runs PGAN_TF_SOAK_KILLS kills (default there: 12; 3 when the file is run alone), and
.ci/run runs it first; `make test` and `make test-slow` leave it out (marker `soak`) so CI does not
run it twice.
"""
import glob
import os
import random
import re
import subprocess

import pytest

from pgan_tf import cli

tf = cli.import_tensorflow()

from pgan_tf.training.checkpoint import validate_checkpoint  # noqa: E402
from tests.tiny_dataset import make_tiny_dataset  # noqa: E402
from tests.train_helpers import REPO, log_lines, train_command, train_env  # noqa: E402

TOTAL_IMAGES = 200  # 4 → 8 → 16 with 32-image phases; a checkpoint every 16 images
pytestmark = pytest.mark.soak
_RESUME = re.compile(r"^Resuming from (\S+) at kimg ([\d.]+)$")


def _kill_plan(kills, rng):
    """Alternate kinds so every kind occurs: inside a checkpoint write, at a stage change, random."""
    kinds = ["checkpoint", "stage", "random"]
    return [(kinds[i % 3], rng.randint(1, 3)) for i in range(kills)]


def _run_until_killed(data_dir, run_dir, kind, nth, rng):
    total = f"--total_kimg={TOTAL_IMAGES / 1000}"
    env = train_env(**({"PGAN_TF_KILL_AT": f"{kind}:{nth}"} if kind != "random" else {}))
    proc = subprocess.Popen(train_command(data_dir, run_dir, total), cwd=REPO, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if kind == "random":
        try:
            proc.wait(timeout=rng.uniform(3.0, 12.0))
        except subprocess.TimeoutExpired:
            proc.kill()
    _, err = proc.communicate(timeout=300)
    return proc.returncode, err


def _resumes(run_dir):
    return [_RESUME.match(l).groups() for l in log_lines(run_dir) if _RESUME.match(l)]


def test_training_survives_repeated_sigkill(tmp_path):
    kills = int(os.environ.get("PGAN_TF_SOAK_KILLS", "3"))
    rng = random.Random(kills)
    data_dir = make_tiny_dataset(str(tmp_path / "data"), resolution=16)
    run_dir = str(tmp_path / "run")
    ckpt_dir = os.path.join(run_dir, "checkpoints")
    expected_resumes = []
    for kind, nth in _kill_plan(kills, rng):
        latest = tf.train.latest_checkpoint(ckpt_dir) if os.path.isdir(ckpt_dir) else None
        if latest:
            expected_resumes.append(latest)
        code, err = _run_until_killed(data_dir, run_dir, kind, nth, rng)
        assert code in (-9, 0), err  # killed, or finished before the kill point came
        assert "Traceback" not in err, err
    latest = tf.train.latest_checkpoint(ckpt_dir) if os.path.isdir(ckpt_dir) else None
    if latest:
        expected_resumes.append(latest)
    final = subprocess.run(train_command(data_dir, run_dir, f"--total_kimg={TOTAL_IMAGES / 1000}"),
                           cwd=REPO, env=train_env(), capture_output=True, text=True, timeout=300)
    assert final.returncode == 0, final.stderr
    # A normal (resumed) run is quiet: no TensorFlow start-up or Grappler lines reach the user;
    # the one warning allowed takes over the lock the last SIGKILLed trainer left (dirlock).
    lines = final.stderr.strip().splitlines()
    assert len(lines) <= 1 and all("taking over the stale lock" in l for l in lines), final.stderr
    _check_run(run_dir, ckpt_dir, expected_resumes)


def _check_run(run_dir, ckpt_dir, expected_resumes):
    resumes = _resumes(run_dir)
    # Every restart that got as far as restoring resumed from the newest complete checkpoint of
    # its moment (a random kill may land before the restore: no line then), in order; the final
    # restart did restore; images seen never went backwards.
    assert _is_subsequence([path for path, _ in resumes], expected_resumes)
    assert resumes[-1][0] == expected_resumes[-1]
    kimgs = [float(k) for _, k in resumes]
    assert kimgs == sorted(kimgs)
    done = f"Training reached total_kimg at kimg {TOTAL_IMAGES / 1000:.3f}"
    lines = log_lines(run_dir)
    assert lines.count(done) == 1  # finished once (maybe before the last planned kill)
    assert lines[-1] == done or lines[-1].startswith("Run already reached total_kimg")
    assert tf.train.latest_checkpoint(ckpt_dir).endswith(f"ckpt-{TOTAL_IMAGES}")
    indexes = glob.glob(os.path.join(ckpt_dir, "**", "*.index"), recursive=True)
    for index in indexes:
        assert validate_checkpoint(index[:-len(".index")]) is None, index
    # Disk stays bounded: 3 rolling + one milestone per 64 images, no leftovers of killed saves.
    assert len(indexes) <= 3 + TOTAL_IMAGES // 64 + 1
    assert not glob.glob(os.path.join(ckpt_dir, "**", "*_temp*"), recursive=True)
    for events in glob.glob(os.path.join(run_dir, "tensorboard", "events.*")):
        _read_events(events)


def _is_subsequence(items, sequence):
    it = iter(sequence)
    return all(any(item == candidate for candidate in it) for item in items)


def _read_events(path):
    """All records readable; a truncated last record (killed writer) is acceptable."""
    try:
        for _ in tf.compat.v1.train.summary_iterator(path):
            pass
    except tf.errors.DataLossError:
        pass
