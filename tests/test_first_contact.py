"""What a new user meets first, outside a clone: a flagfile path that only a clone has names the
copy inside the installed package; a Python without TensorFlow gets one line naming the extra to
install (no traceback), from every path into TensorFlow."""
import os
import subprocess
import sys

import pytest

import data_fixtures as fx
from pgan_tf import cli
from pgan_tf.errors import UserError
from pgan_tf.flagfiles import PACKAGE_DIR, expand_flagfiles

# Runs a module as `python -m` in a Python where `import tensorflow` fails as if not installed.
WITHOUT_TENSORFLOW = """
import runpy, sys
class NoTensorFlow:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "tensorflow":
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
sys.meta_path.insert(0, NoTensorFlow())
sys.argv = sys.argv[1:]
runpy.run_module(sys.argv[0], run_name="__main__")
"""


def test_a_clone_flagfile_path_names_the_packaged_copy(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)                        # no clone here: flags/ does not exist
    with pytest.raises(UserError) as err:
        expand_flagfiles(["pgan-train", "--flagfile=flags/apgan_ttur.cfg"])
    assert f"--flagfile={os.path.join(PACKAGE_DIR, 'apgan_ttur.cfg')}" in str(err.value)
    assert expand_flagfiles(["pgan-train", f"--flagfile={PACKAGE_DIR}/apgan_ttur.cfg"])[1:]
    with pytest.raises(UserError, match=r"package's own flagfiles \(apgan.cfg, .*pgan.cfg\)"):
        expand_flagfiles(["pgan-train", "--flagfile=mine.cfg"])


def _without_tensorflow(module, *args, cwd):
    env = {**os.environ, "PYTHONPATH": fx.REPO}
    return subprocess.run([sys.executable, "-c", WITHOUT_TENSORFLOW, module, *args], cwd=cwd,
                          env=env, capture_output=True, text=True, timeout=120)


def test_binaries_without_tensorflow_name_the_extra_to_install(tmp_path):
    root = str(tmp_path / "isic")
    fx.make_isic_dir(root, fx.balanced_labels(3))
    runs = [_without_tensorflow("pgan_tf.cli.gpu_plan", cwd=str(tmp_path)),    # cli.import_tensorflow
            _without_tensorflow("pgan_tf.cli.prepare", "--input_dir", root,    # a library import
                                "--output_dir", str(tmp_path / "out"), "--resolution", "8",
                                "--val_size", "7", cwd=str(tmp_path))]
    for result in runs:
        assert result.returncode == 2, result.stderr
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
        assert lines[0].startswith("error: TensorFlow is not installed")
        assert "pip install 'pgan_tf[cpu]'" in lines[0] and "'pgan_tf[gpu]'" in lines[0]
    assert not os.path.exists(tmp_path / "out")


def test_other_missing_modules_are_not_blamed_on_tensorflow():
    err = ModuleNotFoundError("No module named 'scipy'", name="scipy")
    assert cli.missing_tensorflow(err) is err
    tf_err = ModuleNotFoundError("No module named 'tensorflow.python'", name="tensorflow.python")
    assert isinstance(cli.missing_tensorflow(tf_err), UserError)
