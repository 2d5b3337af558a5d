"""Graceful stop, corrupt-checkpoint fallback, non-finite stop, determinism."""
import glob
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from pgan_tf import cli

tf = cli.import_tensorflow()

from pgan_tf import disk  # noqa: E402
from pgan_tf.config import TrainConfig  # noqa: E402
from pgan_tf.errors import UserError  # noqa: E402
from pgan_tf import faults  # noqa: E402
from pgan_tf.training import loop  # noqa: E402
from tests.tiny_dataset import make_tiny_dataset  # noqa: E402
from tests.train_helpers import REPO, log_lines, train_command, train_env  # noqa: E402

TINY = dict(resolution=16, num_classes=3, latent_size=8, fmap_base=32, fmap_max=8,
            lod_training_kimg=0.032, lod_transition_kimg=0.032, tick_kimg=0.016,
            minibatch_dict={4: 8, 8: 8, 16: 8}, snapshot_ticks=1, seed=11)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return make_tiny_dataset(str(tmp_path_factory.mktemp("tiny")), resolution=16)


def test_sigterm_saves_a_checkpoint_and_exits_zero(data_dir, tmp_path):
    run_dir = tmp_path / "run"
    proc = subprocess.Popen(train_command(data_dir, run_dir, "--total_kimg=100"), cwd=REPO,
                            env=train_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    for line in proc.stdout:  # wait until training is under way
        if line.startswith("tick 2 "):
            break
    sent = time.time()
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert time.time() - sent < 30
    lines = log_lines(run_dir)
    assert lines[-1].startswith("Training stopped by signal at kimg")
    kimg = float(lines[-1].split()[-1])
    newest = tf.train.latest_checkpoint(str(run_dir / "checkpoints"))
    assert newest.endswith(f"ckpt-{round(kimg * 1000)}")
    # SIGTERM (a preemption's signal) exits without the SavedModel export; Ctrl-C writes it (below).
    assert not os.path.exists(run_dir / "export")
    assert "Stopped without writing export/generator" in err


def test_stop_during_a_checkpoint_takes_no_further_step_and_skips_the_export(data_dir, tmp_path,
                                                                            monkeypatch, capfd):
    """SIGTERM while tick 2 writes its checkpoint (ticks end slowly, so signals land there). The
    loop used to take one more step — at a stage change tracing that stage first, seconds idle and
    a minute under load — then export the SavedModel: 45-60 s before exit. Now it stops at once."""
    points = []
    real_reached = loop.faults.reached

    def reached(point):
        points.append(point)
        real_reached(point)
        if point == "checkpoint" and points.count("checkpoint") == 2:
            os.kill(os.getpid(), signal.SIGTERM)

    monkeypatch.setattr(loop.faults, "reached", reached)
    run_dir = tmp_path / "run"
    handler = signal.getsignal(signal.SIGTERM)
    loop.run(TrainConfig(data_dir=data_dir, run_dir=str(run_dir), total_kimg=1, **TINY))
    assert points.count("step") == 4 and points[-1] == "checkpoint"  # no step after the signal
    assert log_lines(run_dir)[-1] == "Training stopped by signal at kimg 0.032"
    assert tf.train.latest_checkpoint(str(run_dir / "checkpoints")).endswith("ckpt-32")
    assert not os.path.exists(run_dir / "export")
    assert "Stopped without writing export/generator" in capfd.readouterr().err
    assert signal.getsignal(signal.SIGTERM) is handler  # the stop's handler is removed


@pytest.mark.slow  # end to end, minutes on 2 cores: `make test-slow`
def test_ctrl_c_after_resuming_past_a_corrupt_checkpoint_exits_zero(data_dir, tmp_path):
    """The reported case: a killed run (stale lock left), its newest checkpoint overwritten with a
    few bytes, rerun, stopped after it resumed. It used to exit 1 with `IndexError: Read less
    bytes than requested` from the stop's export, which picked the corrupt checkpoint. Ctrl-C
    (SIGINT): the stop that still writes the export (a SIGTERM stop skips it).
    Also the issue-6 fallback: a warning names the corrupt checkpoint, the run resumes from the
    previous one."""
    run_dir = tmp_path / "run"
    loop.run(TrainConfig(data_dir=data_dir, run_dir=str(run_dir), total_kimg=0.048, **TINY))
    shutil.rmtree(run_dir / "export")
    with open(glob.glob(str(run_dir / "checkpoints" / "ckpt-48.data-*"))[0], "wb") as f:
        f.write(b"oops")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    with open(run_dir / ".lock", "w") as f:  # what the SIGKILLed trainer left behind
        json.dump({"host": platform.node(), "pid": int(dead), "started": "earlier"}, f)
    proc = subprocess.Popen(train_command(data_dir, run_dir, "--total_kimg=100", *_tiny_flags()),
                            cwd=REPO, env=train_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    resumed = next(line for line in proc.stdout if line.startswith("Resuming from"))
    # The stop handler is installed milliseconds after that line; the first step (tracing) takes
    # seconds: the run stops at 40 images, before it could overwrite the corrupt ckpt-48.
    time.sleep(1.0)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert resumed == f"Resuming from {run_dir}/checkpoints/ckpt-32 at kimg 0.032\n"
    assert log_lines(run_dir)[-1] == "Training stopped by signal at kimg 0.040"
    assert err.count("ckpt-48 is unreadable") == 1 and f"stale lock of pid {dead}" in err
    assert sorted(os.listdir(run_dir / "checkpoints" / "unreadable")) == [
        "ckpt-48.data-00000-of-00001", "ckpt-48.index"]
    assert tf.train.latest_checkpoint(str(run_dir / "checkpoints")).endswith("ckpt-40")
    assert os.path.isdir(run_dir / "export" / "generator")  # the export was written (at 40)
    assert not os.path.exists(run_dir / ".lock")  # released on the graceful stop


@pytest.mark.slow  # a subprocess trainer: `make test-slow`
def test_sigterm_before_the_loop_saves_nothing_and_exits_zero(data_dir, tmp_path):
    """SIGTERM once the run dir exists but before the first step (models being built): exit 0
    with one line, no checkpoint, the lock released (it used to exit 143 with no message)."""
    run_dir = tmp_path / "run"
    proc = subprocess.Popen(train_command(data_dir, run_dir, "--total_kimg=1", *_tiny_flags()),
                            cwd=REPO, env=train_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 240
    while not (run_dir / "config.json").exists() and time.time() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=240)
    assert proc.returncode == 0, err
    lines = [l for l in err.splitlines() if l.strip() and not l.startswith("warning:")]
    assert lines == ["Received SIGTERM before training started: stopping without saving "
                     "anything (rerun the same command to start or resume)"], err
    assert not glob.glob(str(run_dir / "checkpoints" / "**" / "ckpt-*"), recursive=True)
    assert not any(l.startswith(("tick ", "Training stopped")) for l in log_lines(run_dir))
    assert not os.path.exists(run_dir / ".lock")


def _tiny_flags():
    return ("--seed=11", "--attention_stages=")


def test_all_checkpoints_unreadable_refuses_to_start_over(data_dir, tmp_path):
    run_dir = tmp_path / "run"
    loop.run(TrainConfig(data_dir=data_dir, run_dir=str(run_dir), total_kimg=0.016, **TINY))
    for path in glob.glob(str(run_dir / "checkpoints" / "**" / "*.index"), recursive=True):
        with open(path, "wb") as f:
            f.write(b"garbage")
    with pytest.raises(UserError, match="no readable checkpoint"):
        loop.run(TrainConfig(data_dir=data_dir, run_dir=str(run_dir), total_kimg=0.032, **TINY))


def test_consecutive_non_finite_steps_stop_naming_last_good_checkpoint(data_dir, tmp_path,
                                                                       monkeypatch):
    run_dir = tmp_path / "run"
    loop.run(TrainConfig(data_dir=data_dir, run_dir=str(run_dir), total_kimg=0.016, **TINY))
    real_make_dataset = loop.pipeline.make_dataset

    def poisoned(*args, **kwargs):  # every real image NaN from now on
        return real_make_dataset(*args, **kwargs).map(lambda x, y: (x * np.nan, y))

    monkeypatch.setattr(loop.pipeline, "make_dataset", poisoned)
    with pytest.raises(UserError) as err:
        loop.run(TrainConfig(data_dir=data_dir, run_dir=str(run_dir), total_kimg=1,
                             max_nonfinite_steps=3, **TINY))
    newest = tf.train.latest_checkpoint(str(run_dir / "checkpoints"))
    assert f"3 consecutive non-finite training steps at kimg 0.040; last good checkpoint: " \
           f"{newest}." in str(err.value)
    ticks = [l for l in log_lines(run_dir) if l.startswith("tick ")]
    assert ticks[-1].split()[ticks[-1].split().index("skipped") + 1] == "3"
    # Skipped steps leave the weights alone: the checkpoint taken meanwhile is still good.
    reader = tf.train.load_checkpoint(newest)
    for name in reader.get_variable_to_shape_map():
        value = reader.get_tensor(name)
        if np.issubdtype(np.asarray(value).dtype, np.floating):
            assert np.all(np.isfinite(value)), name


@pytest.mark.slow  # end to end, minutes on 2 cores: `make test-slow`
def test_deterministic_runs_write_identical_checkpoints(data_dir, tmp_path):
    paths = []
    for name in ("a", "b"):
        cfg = TrainConfig(data_dir=data_dir, run_dir=str(tmp_path / name), total_kimg=0.048,
                          deterministic=True, mirror_augment=True, **TINY)
        loop.run(cfg)
        paths.append(tf.train.latest_checkpoint(cfg.run_dir + "/checkpoints"))
    readers = [tf.train.load_checkpoint(p) for p in paths]
    names = sorted(readers[0].get_variable_to_shape_map())
    assert names == sorted(readers[1].get_variable_to_shape_map())
    for name in names:
        if name == "save_counter/.ATTRIBUTES/VARIABLE_VALUE" or name.startswith("_CHECKPOINT"):
            continue
        np.testing.assert_array_equal(readers[0].get_tensor(name), readers[1].get_tensor(name),
                                      err_msg=name)


def _without_file_hashes(root):
    """Drop the per-file sha256 from dataset.json, as written before they existed."""
    path = os.path.join(root, "dataset.json")
    with open(path) as f:
        info = json.load(f)
    del info["splits"]["train"]["files"]
    with open(path, "w") as f:
        json.dump(info, f)


def _damaged(path, what):
    return f"^{path}: damaged TFRecord data \\({what} record at \\d+\\); re-create the dataset"


def _flip_byte(path, offset_from_end=100):
    data = bytearray(open(path, "rb").read())
    data[-offset_from_end] ^= 0x01
    open(path, "wb").write(bytes(data))


def test_changed_dataset_file_is_refused_at_start_before_the_run_dir_is_written(tmp_path):
    root = make_tiny_dataset(str(tmp_path / "data"), resolution=16)  # with per-file sha256
    target = os.path.join(root, "train", "train-r03.tfrecords")
    _flip_byte(target)
    run_dir = tmp_path / "run"
    with pytest.raises(UserError, match=f"{target} changed since the dataset was prepared"):
        loop.run(TrainConfig(data_dir=root, run_dir=str(run_dir), total_kimg=0.016, **TINY))
    assert not run_dir.exists()


def test_damaged_or_truncated_record_stops_with_one_line_naming_the_file(tmp_path):
    # dataset.json without file hashes (older version): warned, then caught by the record CRCs.
    root = make_tiny_dataset(str(tmp_path / "data"), resolution=16)
    _without_file_hashes(root)
    target = os.path.join(root, "train", "train-r02.tfrecords")  # read by the first stage
    _flip_byte(target)
    config = TrainConfig(data_dir=root, run_dir=str(tmp_path / "run"), total_kimg=0.1, **TINY)
    with pytest.raises(UserError, match=_damaged(target, "corrupted")):
        loop.run(config)
    _flip_byte(target)  # restored
    target = os.path.join(root, "train", "train-r04.tfrecords")  # read for the reals grid
    with open(target, "r+b") as f:
        f.truncate(os.path.getsize(target) - 10)
    with pytest.raises(UserError, match=_damaged(target, "truncated")):
        loop.run(config.replace(run_dir=str(tmp_path / "run2")))


def test_checkpoint_or_export_that_cannot_be_written_stops_the_run(data_dir, tmp_path,
                                                                  monkeypatch):
    monkeypatch.setattr(faults, "_counts", {})
    monkeypatch.setenv(faults.ENOSPC_VAR, "checkpoint:2")  # the save at kimg 0.032 fails
    run_dir = str(tmp_path / "run")
    config = TrainConfig(data_dir=data_dir, run_dir=run_dir, total_kimg=0.064, **TINY)
    ckpt_dir = os.path.join(run_dir, "checkpoints")
    with pytest.raises(disk.WriteError, match=f"^cannot write checkpoint {ckpt_dir}: no space "
                       f"left on device; the previous checkpoint {ckpt_dir}/ckpt-16 is intact$"):
        loop.run(config)
    assert [l.split()[3] for l in log_lines(run_dir) if l.startswith("tick")] == ["0.016", "0.032"]
    assert tf.train.latest_checkpoint(ckpt_dir).endswith("ckpt-16")  # no training past it
    assert not os.path.exists(os.path.join(run_dir, "export"))
    monkeypatch.setenv(faults.ENOSPC_VAR, "export:1")  # a run at its end: only the export left
    with pytest.raises(disk.WriteError, match=f"^cannot write the generator export {run_dir}/"):
        loop.run(config.replace(total_kimg=0.016))
    assert sorted(os.listdir(run_dir)) == sorted(  # no half-written export left behind
        ["checkpoints", "config.json", "dataset_files.json", "grids", "log.txt", "tensorboard"])
