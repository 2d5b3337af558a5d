"""Full disk / read-only writes: recognised in OSError and TensorFlow errors, one line, injection."""
import errno
import json
import os

import pytest

from pgan_tf import disk
from pgan_tf.eval import eval_results
from pgan_tf import faults


@pytest.fixture(autouse=True)
def fresh_counts(monkeypatch):
    monkeypatch.setattr(faults, "_counts", {})


def test_write_failure_recognises_errno_and_tensorflow_messages():
    import tensorflow as tf

    assert disk.write_failure(OSError(errno.ENOSPC, "x", "/a")) == ("no space left on device", "/a")
    assert disk.write_failure(OSError(errno.EROFS, "x")) == ("read-only file system", None)
    assert disk.write_failure(OSError(errno.EACCES, "x")) is None
    assert disk.write_failure(ValueError("No space")) is None
    err = tf.errors.ResourceExhaustedError(None, None, "{{function_node x}} /r/ckpt-1_temp/part; "
                                           "No space left on device [Op:SaveV2]")
    assert disk.write_failure(err) == ("no space left on device", "/r/ckpt-1_temp/part")
    err = tf.errors.PermissionDeniedError(None, None, "/r/tb; Disk quota exceeded")
    assert disk.write_failure(err) == ("disk quota exceeded", "/r/tb")


def test_writing_gives_one_line_naming_the_path_and_what_is_kept():
    with pytest.raises(disk.WriteError) as err:
        with disk.writing("checkpoint", "/run/checkpoints", kept=lambda: "ckpt-16 is intact"):
            raise OSError(errno.EDQUOT, os.strerror(errno.EDQUOT), "/run/checkpoints/ckpt-3_temp/a")
    assert str(err.value) == ("cannot write checkpoint /run/checkpoints: disk quota exceeded; "
                              "ckpt-16 is intact")
    assert err.value.exit_code == 74 and "\n" not in str(err.value)
    with pytest.raises(disk.WriteError, match=r"^cannot write to the run dir /run \(/run/log.txt\): "
                       "read-only file system$"):
        with disk.writing("to the run dir", "/run"):
            raise OSError(errno.EROFS, "x", "/run/log.txt")
    with pytest.raises(KeyError):  # anything else passes through unchanged
        with disk.writing("results", "/out"):
            raise KeyError("bug")


def test_injected_enospc_fires_at_the_nth_write_of_its_point_only(monkeypatch):
    monkeypatch.setenv(faults.ENOSPC_VAR, "evaluate:2")
    with disk.writing("results", "/out", point="checkpoint"):
        pass
    with disk.writing("results", "/out", point="evaluate"):
        pass  # first: fine
    with pytest.raises(disk.WriteError, match="cannot write results /out: no space left"):
        with disk.writing("results", "/out", point="evaluate"):
            pass


def test_failed_results_write_keeps_the_previous_file_and_leaves_no_temp(tmp_path, monkeypatch):
    path = str(tmp_path / "results.json")
    eval_results.write_json({"run": 1}, path)
    monkeypatch.setenv(faults.ENOSPC_VAR, "evaluate:1")
    with pytest.raises(disk.WriteError, match=f"cannot write results {path}: no space left on "
                       "device; earlier results there are intact"):
        eval_results.write_json({"run": 2}, path)
    assert json.load(open(path)) == {"run": 1}
    assert os.listdir(tmp_path) == ["results.json"]
