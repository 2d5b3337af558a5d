"""Weak messages made one line naming the file or flag and what to do: Ctrl-C and SIGTERM on the
binaries, a missing labels file, a run dir that cannot be created on a read-only mount (exit 74),
classifier weights of another structure. The kill cases through a real pgan-export are slow."""
import errno
import os
import signal
import subprocess
import sys
import time

import pytest

from pgan_tf import cli, disk
from pgan_tf.errors import UserError


def _run_main(main, monkeypatch):
    """`cli.run(main)` in-process, as a binary would; returns its exit code."""
    monkeypatch.setattr(sys, "argv", ["pgan-test"])
    before = signal.getsignal(signal.SIGTERM)
    try:
        with pytest.raises(SystemExit) as done:
            cli.run(main)
    finally:
        signal.signal(signal.SIGTERM, before)
    return done.value.code


def test_ctrl_c_and_sigterm_end_in_one_line_after_cleanups(monkeypatch, capsys, tmp_path):
    temp = tmp_path / "tmp-folder"

    def interrupted(argv):
        temp.mkdir()
        try:
            raise KeyboardInterrupt
        finally:
            temp.rmdir()  # a staged write's cleanup

    assert _run_main(interrupted, monkeypatch) == 130
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: stopped by Ctrl-C") and not temp.exists()

    def terminated(argv):
        temp.mkdir()
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)  # the handler raises in here
        finally:
            temp.rmdir()
        return 0

    assert _run_main(terminated, monkeypatch) == 143
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: stopped by SIGTERM") and not temp.exists()


def test_missing_labels_file_is_named(tmp_path):
    from pgan_tf.config import TrainConfig
    from pgan_tf.training.dataset_meta import resolve_dataset
    from tests.tiny_dataset import make_tiny_dataset

    data_dir = make_tiny_dataset(str(tmp_path / "data"), resolution=16)
    train = os.path.join(data_dir, "train") if os.path.isdir(os.path.join(data_dir, "train")) \
        else data_dir
    labels = [f for f in os.listdir(train) if f.endswith(".labels")]
    os.remove(os.path.join(train, labels[0]))
    config = TrainConfig(data_dir=data_dir, run_dir=str(tmp_path / "run"), resolution=16,
                         num_classes=3)
    with pytest.raises(UserError) as err:
        resolve_dataset(config)
    message = str(err.value)
    assert os.path.join(train, labels[0]) in message and "--num_classes" not in message
    assert "\n" not in message


def test_new_run_dir_on_a_read_only_mount_exits_74(tmp_path, monkeypatch):
    from pgan_tf import fileio
    from pgan_tf.training import run_dir

    def read_only(path):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), path)

    monkeypatch.setattr(fileio, "makedirs", read_only)  # the real mount: test_full_disk.py
    with pytest.raises(disk.WriteError) as err:
        run_dir._makedirs(str(tmp_path / "run"))
    assert err.value.exit_code == 74 and "read-only file system" in str(err.value)
    assert str(err.value).startswith(f"--run_dir={tmp_path / 'run'}: cannot create it")


def test_classifier_weights_of_another_structure_give_one_short_line(tmp_path):
    from pgan_tf.eval import classifier as clf

    path = str(tmp_path / "narrow.weights.h5")
    clf.build_resnet18(1000, 16, width=8).save_weights(path)
    with pytest.raises(UserError) as err:
        clf.load_pretrained_backbone(clf.build_resnet18(4, 16, width=16), path, width=16)
    message = str(err.value)
    assert "\n" not in message and len(message) < 500 and path in message
    assert err.value.__cause__ is None  # no chained Keras text under --verbose either


@pytest.mark.slow  # a real pgan-export killed midway: seconds of TensorFlow start-up
@pytest.mark.parametrize("sig, code, name", [(signal.SIGTERM, 143, "SIGTERM"),
                                             (signal.SIGINT, 130, "Ctrl-C")])
def test_pgan_export_stopped_midway_removes_its_temp_folder(tmp_path_factory, tmp_path, sig,
                                                           code, name):
    from tests.eval_fixtures import tiny_run

    run_dir = tiny_run(tmp_path_factory)[0]
    out = tmp_path / "samples"
    proc = subprocess.Popen(
        [sys.executable, "-m", "pgan_tf.cli.export", f"--run_dir={run_dir}",
         f"--output_dir={out}", "--num_per_class=20000", "--progress=false"],
        stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 300
    while not [n for n in os.listdir(tmp_path) if n.startswith(".samples.tmp-")]:
        assert proc.poll() is None and time.time() < deadline, proc.stderr.read()[-3000:]
        time.sleep(0.2)
    time.sleep(1.0)  # images are being written into the temp folder
    proc.send_signal(sig)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == code, stderr[-3000:]
    assert "Traceback" not in stderr
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and errors[0].startswith(f"error: stopped by {name}")
    assert os.listdir(tmp_path) == []  # no temp folder, no lock, no half output
