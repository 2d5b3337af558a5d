"""Issue 12 "Two runs, one run dir": the writer lock of a run dir / export folder."""
import json
import os
import platform
import subprocess
import sys

import pytest

from pgan_tf import dirlock
from pgan_tf.dirlock import DirLock
from pgan_tf.errors import UserError


def _dead_pid():
    """The pid of a process that has exited (and was reaped)."""
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    return int(proc.stdout)


def _write_lock(path, **record):
    with open(path, "w") as f:
        json.dump({"host": platform.node(), "pid": os.getpid(), "started": "t0", **record}, f)


def test_second_writer_is_refused_naming_the_first_then_free_after_release(tmp_path):
    path = str(tmp_path / ".lock")
    first = DirLock(path, "training").acquire()
    held = json.load(open(path))
    assert held["pid"] == os.getpid() and held["host"] == platform.node()
    with pytest.raises(UserError) as err:
        DirLock(path, "training").acquire()
    message = str(err.value)
    assert "\n" not in message
    assert f"pid {os.getpid()} on host {platform.node()}" in message and path in message
    first.release()
    assert not os.path.exists(path)
    with DirLock(path, "training"):
        assert os.path.exists(path)
    assert not os.path.exists(path)


def test_stale_lock_of_a_dead_process_on_this_host_is_taken_over(tmp_path, capsys):
    path = str(tmp_path / ".lock")
    dead = _dead_pid()
    _write_lock(path, pid=dead)
    lock = DirLock(path, "training").acquire()
    assert json.load(open(path))["token"] == lock.record["token"]
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"taking over the stale lock of pid {dead}" in err
    lock.release()


def test_lock_from_before_a_reboot_is_stale(tmp_path, capsys):
    if dirlock._boot_id() is None:
        pytest.skip("no boot id on this system")
    path = str(tmp_path / ".lock")
    _write_lock(path, pid=1, boot_id="another-boot")  # pid 1 is alive, but in another boot
    DirLock(path, "training").acquire().release()
    assert "stale lock" in capsys.readouterr().err


def test_lock_of_another_host_is_refused_with_how_to_remove_it(tmp_path):
    path = str(tmp_path / ".lock")
    _write_lock(path, host="other-machine", pid=_dead_pid())
    with pytest.raises(UserError, match=f"pid .* on host other-machine .*delete {path}"):
        DirLock(path, "training").acquire()
    assert json.load(open(path))["host"] == "other-machine"  # untouched


def test_release_leaves_a_lock_that_is_not_ours(tmp_path):
    path = str(tmp_path / ".lock")
    lock = DirLock(path, "training").acquire()
    _write_lock(path, token="someone-else")
    lock.release()
    assert os.path.exists(path)


def test_object_store_best_effort_on_ram_filesystem():
    tf = pytest.importorskip("tensorflow")
    path = "ram://dirlock_test/run/.lock"
    tf.io.gfile.makedirs("ram://dirlock_test/run")
    lock = DirLock(path, "training").acquire()
    with pytest.raises(UserError, match="in use by pid"):
        DirLock(path, "training").acquire()
    lock.release()
    assert not tf.io.gfile.exists(path)


def test_second_trainer_on_a_locked_run_dir_refuses(tmp_path):
    """Library level (loop.run): refused before anything in the run dir is touched."""
    from tests.tiny_dataset import make_tiny_dataset

    from pgan_tf.config import TrainConfig
    from pgan_tf.training import loop

    data_dir = make_tiny_dataset(str(tmp_path / "data"), resolution=16)
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        _write_lock(str(run_dir / ".lock"), pid=holder.pid)
        config = TrainConfig(data_dir=data_dir, run_dir=str(run_dir), resolution=16,
                             num_classes=3, latent_size=8, fmap_base=32, fmap_max=8,
                             attention_stages=())
        with pytest.raises(UserError, match=f"training refused: {run_dir} is in use by pid "
                                            f"{holder.pid} on host"):
            loop.run(config)
    finally:
        holder.kill()
        holder.wait()
    assert os.listdir(run_dir) == [".lock"]  # no config.json written


def test_second_export_into_the_same_folder_refuses(tmp_path):
    from pgan_tf.eval import sample_export

    out = tmp_path / "samples"
    with sample_export.staged_output(str(out), overwrite=False):
        with pytest.raises(UserError, match=f"export refused: {out} is in use by pid "
                                            f"{os.getpid()}"):
            with sample_export.staged_output(str(out), overwrite=True):
                pass
    assert os.path.isdir(out) and not os.path.exists(tmp_path / ".samples.lock")
