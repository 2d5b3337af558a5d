""""Two runs, one run dir": the writer lock of a run dir / export folder."""
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


def _holder_process(path):
    """A live process holding the lock `path` (its flock and JSON) until killed."""
    code = ("import sys, time; from pgan_tf.dirlock import DirLock; "
            "DirLock(sys.argv[1], 'training').acquire(); print('held', flush=True); time.sleep(60)")
    proc = subprocess.Popen([sys.executable, "-c", code, path], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_second_trainer_on_a_locked_run_dir_refuses(tmp_path):
    """Library level (loop.run): refused before anything in the run dir is touched."""
    from tests.tiny_dataset import make_tiny_dataset

    from pgan_tf.config import TrainConfig
    from pgan_tf.training import loop

    data_dir = make_tiny_dataset(str(tmp_path / "data"), resolution=16)
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    holder = _holder_process(str(run_dir / ".lock"))
    try:
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


def test_liveness_is_the_kernel_lock_whatever_the_pid_says(tmp_path, capsys):
    """A live holder is refused even when its JSON names a dead pid; once it is SIGKILLed the
    lock is free even when the JSON names this very process (a restarted container's pid)."""
    path = str(tmp_path / ".lock")
    holder = _holder_process(path)
    try:
        record = json.load(open(path))
        with open(path, "w") as f:  # same file, same flock: only the message changes
            json.dump({**record, "pid": _dead_pid()}, f)
        with pytest.raises(UserError, match="in use by pid"):
            DirLock(path, "training").acquire()
    finally:
        holder.kill()
        holder.wait()
    with open(path, "w") as f:
        json.dump({**record, "pid": os.getpid()}, f)
    DirLock(path, "training").acquire().release()
    assert "the kernel lock is free" in capsys.readouterr().err
    assert not os.path.exists(path)


def test_another_hosts_lock_on_a_local_disk_is_judged_by_the_kernel(tmp_path, monkeypatch):
    path = str(tmp_path / ".lock")
    _write_lock(path, host="old-container-name", pid=12345, flock=True)
    monkeypatch.setattr(dirlock, "_network_fs", lambda p: True)  # on NFS: refused as before
    with pytest.raises(UserError, match="delete"):
        DirLock(path, "training").acquire()
    monkeypatch.setattr(dirlock, "_network_fs", lambda p: False)
    DirLock(path, "training").acquire().release()


@pytest.mark.parametrize("content", [b"", b"{not json"])
def test_empty_or_garbage_lock_is_stale_unless_fresh_or_held(tmp_path, monkeypatch, content):
    path = str(tmp_path / ".lock")
    with open(path, "wb") as f:
        f.write(content)
    with pytest.raises(UserError, match="empty or unreadable"):  # may be being written now
        DirLock(path, "training").acquire()
    os.utime(path, (os.path.getmtime(path) - 30,) * 2)
    with monkeypatch.context() as patch:  # no kernel lock to ask: a minute's grace
        patch.setattr(DirLock, "_kernel_free", lambda self: None)
        with pytest.raises(UserError, match="in use"):
            DirLock(path, "training").acquire()
    DirLock(path, "training").acquire().release()  # its flock is free: stale
    with open(path, "wb") as f:
        f.write(content)
    os.utime(path, (os.path.getmtime(path) - 120,) * 2)
    monkeypatch.setattr(DirLock, "_kernel_free", lambda self: None)
    DirLock(path, "training").acquire().release()
    assert not os.path.exists(path)


def _wait_for_exec(proc, word, seconds=10.0):
    """Until /proc/<pid>/cmdline of the just-started `proc` holds `word` (it has exec'd)."""
    import time

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with open(f"/proc/{proc.pid}/cmdline", "rb") as f:
            if word.encode() in f.read():
                return
        time.sleep(0.01)
    raise AssertionError(f"pid {proc.pid} did not start {word!r} within {seconds} s")


def test_without_a_kernel_lock_own_pid_and_unrelated_programs_are_stale(tmp_path, monkeypatch,
                                                                         capsys):
    monkeypatch.setattr(DirLock, "_kernel_free", lambda self: None)
    path = str(tmp_path / ".lock")
    _write_lock(path, pid=os.getpid(), token="before-the-restart")
    DirLock(path, "training").acquire().release()
    assert "restarted container" in capsys.readouterr().err
    unrelated = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    ours = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "pgan-train"])
    try:
        _wait_for_exec(ours, "pgan-train")  # a child not yet exec'd still shows pytest's command
        _wait_for_exec(unrelated, "time.sleep")
        _write_lock(path, pid=unrelated.pid, command=["/venv/bin/pgan-train"])
        DirLock(path, "training").acquire().release()
        assert "not a pgan_tf binary" in capsys.readouterr().err
        _write_lock(path, pid=ours.pid, command=["/venv/bin/pgan-train"])
        with pytest.raises(UserError, match=f"in use by pid {ours.pid}"):
            DirLock(path, "training").acquire()
    finally:
        for proc in (unrelated, ours):
            proc.kill()
            proc.wait()


def test_a_lock_that_cannot_be_written_is_removed(tmp_path, monkeypatch):
    from pgan_tf import disk, faults

    path = str(tmp_path / ".lock")
    monkeypatch.setenv(faults.ENOSPC_VAR, "lock:1")  # the disk is full once the file exists
    monkeypatch.setattr(faults, "_counts", {})
    with pytest.raises(disk.WriteError) as err:
        DirLock(path, "training").acquire()
    assert err.value.exit_code == 74 and "no space left" in str(err.value)
    assert not os.path.exists(path)  # no empty lock refusing every later start
    DirLock(path, "training").acquire().release()


def test_second_export_into_the_same_folder_refuses(tmp_path):
    from pgan_tf.eval import sample_export

    out = tmp_path / "samples"
    with sample_export.staged_output(str(out), overwrite=False):
        with pytest.raises(UserError, match=f"export refused: {out} is in use by pid "
                                            f"{os.getpid()}"):
            with sample_export.staged_output(str(out), overwrite=True):
                pass
    assert os.path.isdir(out) and not os.path.exists(tmp_path / ".samples.lock")


@pytest.mark.slow  # needs `unshare` (root): two processes started as PID 1, as in containers
def test_a_container_restarted_as_pid_1_takes_its_own_lock_over(tmp_path):
    import shutil

    if shutil.which("unshare") is None:
        pytest.skip("no unshare here")
    path = str(tmp_path / ".lock")
    code = ("import os, sys; from pgan_tf.dirlock import DirLock; "
            "DirLock(sys.argv[1], 'training').acquire(); print(os.getpid(), flush=True); "
            "sys.argv[2:] and os._exit(9)")  # as killed: no release (PID 1 ignores SIGKILL)
    container = ["unshare", "--pid", "--fork", "--mount-proc", sys.executable, "-c", code, path]
    first = subprocess.run(container + ["oom-kill"], capture_output=True, text=True)
    if first.stdout.strip() != "1":
        pytest.skip(f"cannot start a process as PID 1 here ({first.stderr.strip()[-200:]})")
    assert json.load(open(path))["pid"] == 1  # SIGKILLed: the lock file stays
    restarted = subprocess.run(container, capture_output=True, text=True)
    assert restarted.returncode == 0, restarted.stderr[-2000:]
    assert restarted.stdout.strip() == "1" and "taking over the stale lock" in restarted.stderr
    assert not os.path.exists(path)  # released normally this time
