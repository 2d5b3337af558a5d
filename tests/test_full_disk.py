"""Real failures: a full tmpfs (ENOSPC) and a read-only bind mount (EROFS).

Needs `mount` (root in a sandbox that allows it); skipped with the reason otherwise. Every mount
is undone in a `finally`. The fast tests use the ENOSPC injection of `faults.py` instead.
"""
import contextlib
import os
import subprocess

import pytest

import data_fixtures as fx
from pgan_tf import disk
from pgan_tf.data import prepare
from tests.tiny_dataset import make_tiny_dataset
from tests.train_helpers import log_lines, run_train

pytestmark = pytest.mark.slow


def _mount(*args):
    return subprocess.run(["mount", *args], capture_output=True, text=True)


@contextlib.contextmanager
def _mounted(target, *args, read_only_bind=None):
    """tmpfs (`args`) or a read-only bind of `read_only_bind` at `target`; unmounted at exit."""
    os.makedirs(target, exist_ok=True)
    if read_only_bind:
        out = _mount("--bind", read_only_bind, target)
        if out.returncode == 0:
            out = _mount("-o", "remount,bind,ro", target)
            if out.returncode:
                subprocess.run(["umount", target], check=False)
    else:
        out = _mount(*args, target)
    if out.returncode:
        pytest.skip(f"cannot mount here ({out.stderr.strip() or 'mount failed'}); "
                    "needs root where mounting is permitted")
    try:
        yield target
    finally:
        subprocess.run(["umount", target], check=False)


def _fill(folder, leave_bytes):
    """Fill the file system of `folder` up to `leave_bytes` free."""
    stat = os.statvfs(folder)
    free = stat.f_bavail * stat.f_frsize
    with open(os.path.join(folder, "filler"), "wb") as f:
        f.write(b"\0" * max(free - leave_bytes, 0))


def _one_error_line(result):
    lines = [l for l in result.stderr.splitlines() if l.startswith("error:")]
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    assert len(lines) == 1, result.stderr[-3000:]
    return lines[0]


def test_full_then_read_only_run_dir_stops_with_one_line_and_keeps_the_checkpoint(tmp_path):
    data_dir = make_tiny_dataset(str(tmp_path / "data"), resolution=16)
    with _mounted(str(tmp_path / "small"), "-t", "tmpfs", "-o", "size=1m", "tmpfs") as small:
        run_dir = os.path.join(small, "run")
        first = run_train(data_dir, run_dir, "--total_kimg=0.016")  # ~400 kB: fits
        assert first.returncode == 0, first.stderr[-3000:]
        ckpt = os.path.join(run_dir, "checkpoints", "ckpt-16")
        _fill(small, 60_000)  # room for the log and a grid, not for a 130 kB checkpoint
        full = run_train(data_dir, run_dir, "--total_kimg=0.064")
        assert full.returncode == 74, full.stderr[-3000:]
        line = _one_error_line(full)
        assert line.startswith(f"error: cannot write ") and "no space left on device" in line
        assert run_dir in line
        assert not [l for l in log_lines(run_dir) if l.startswith("tick")
                    and float(l.split()[3]) > 0.032]  # no training past the failed write
        _assert_latest_readable(run_dir, ckpt)
        os.remove(os.path.join(small, "filler"))
        with _mounted(str(tmp_path / "ro"), read_only_bind=run_dir) as ro_run:
            read_only = run_train(data_dir, ro_run, "--total_kimg=0.064")
            assert read_only.returncode == 74, read_only.stderr[-3000:]
            line = _one_error_line(read_only)
            assert line.startswith(f"error: cannot write to the run dir {ro_run}")
            assert "read-only file system" in line
        _assert_latest_readable(run_dir, ckpt)


def _assert_latest_readable(run_dir, ckpt):
    import tensorflow as tf

    from pgan_tf.training.checkpoint import validate_checkpoint

    assert tf.train.latest_checkpoint(os.path.join(run_dir, "checkpoints")) == ckpt
    assert validate_checkpoint(ckpt) is None


def test_prepare_into_a_read_only_folder_says_so_in_one_line(tmp_path):
    root = str(tmp_path / "isic")
    fx.make_isic_dir(root, [0, 1, 2, 3, 4, 5, 6] * 2)
    target = tmp_path / "target"
    target.mkdir()
    with _mounted(str(tmp_path / "ro"), read_only_bind=str(target)) as ro:
        out = os.path.join(ro, "out")
        config = prepare.PrepareConfig(input_dir=root, output_dir=out, resolution=8, val_size=0,
                                       progress=False)
        with pytest.raises(disk.WriteError, match=f"^cannot write the dataset {out}: read-only "
                           "file system"):
            prepare.prepare_dataset(config)
    assert os.listdir(target) == []
