"""Nested flagfiles resolve relative to the including file, from any working directory."""
import os

import pytest

from pgan_tf.errors import UserError
from pgan_tf.flagfiles import PACKAGE_DIR, expand_flagfiles

FLAGS_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "flags")


def test_nesting_is_relative_to_the_including_file(tmp_path, monkeypatch):
    (tmp_path / "sub").mkdir()
    (tmp_path / "base.cfg").write_text("# comment\n--a=1\n\n--b=2\n")
    (tmp_path / "sub" / "top.cfg").write_text("--flagfile=../base.cfg\n--b=3\n")
    monkeypatch.chdir("/")
    argv = expand_flagfiles(["prog", f"--flagfile={tmp_path}/sub/top.cfg", "--c=4"])
    assert argv == ["prog", "--a=1", "--b=2", "--b=3", "--c=4"]


def test_missing_and_cyclic_flagfiles_are_user_errors(tmp_path):
    with pytest.raises(UserError, match="cannot read"):
        expand_flagfiles(["prog", f"--flagfile={tmp_path}/nope.cfg"])
    (tmp_path / "a.cfg").write_text("--flagfile=b.cfg\n")
    (tmp_path / "b.cfg").write_text("--flagfile=a.cfg\n")
    with pytest.raises(UserError, match="cycle"):
        expand_flagfiles(["prog", f"--flagfile={tmp_path}/a.cfg"])


def _last_values(argv):
    """{--name: last value} of expanded arguments (later values win)."""
    last = {}
    for arg in argv[1:]:
        name, _, value = arg.partition("=")
        last[name] = value
    return last


@pytest.mark.parametrize("folder", [FLAGS_DIR, PACKAGE_DIR])
def test_paper_flagfiles_nest_to_apgan_ttur(monkeypatch, tmp_path, folder):
    monkeypatch.chdir(tmp_path)  # not the repo root: nesting must still work
    last = _last_values(expand_flagfiles(["prog", f"--flagfile={folder}/apgan_ttur.cfg"]))
    assert last["--attention_stages"] == "auto"  # R/2, resolved by the trainer
    assert (last["--g_lr"], last["--d_lr"]) == ("0.001", "0.004")
    assert (last["--resolution"], last["--total_kimg"]) == ("256", "8000")


def test_clone_flagfiles_only_include_the_package_ones(monkeypatch):
    # One copy of every flag value (the package's); flags/x.cfg holds one line naming it.
    clone = sorted(f for f in os.listdir(FLAGS_DIR) if f.endswith(".cfg"))
    assert clone == sorted(f for f in os.listdir(PACKAGE_DIR) if f.endswith(".cfg"))
    for name in clone:
        with open(os.path.join(FLAGS_DIR, name), encoding="utf-8") as f:
            lines = [l.strip() for l in f if l.strip() and not l.startswith("#")]
        assert lines == [f"--flagfile=../pgan_tf/flags/{name}"], name
        monkeypatch.chdir("/")
        assert (expand_flagfiles(["prog", f"--flagfile={FLAGS_DIR}/{name}"])
                == expand_flagfiles(["prog", f"--flagfile={PACKAGE_DIR}/{name}"]))


def test_demo_paths_stay_relative_to_the_working_directory(monkeypatch, tmp_path):
    # Flag values are not flagfile paths: demo.cfg's folders are where `make demo` runs.
    monkeypatch.chdir(tmp_path)
    last = _last_values(expand_flagfiles(["prog", f"--flagfile={FLAGS_DIR}/demo.cfg"]))
    assert (last["--data_dir"], last["--run_dir"]) == ("demo_out/data", "demo_out/run")
    assert (last["--resolution"], last["--d_lr"]) == ("32", "0.004")


def test_every_binary_expands_a_clone_include_before_absl_reads_it(tmp_path):
    # `make demo` step 5: pgan-evaluate --flagfile=flags/demo_eval.cfg (a one-line include of the
    # packaged file). absl alone resolves the nested path against the working directory and fails;
    # the binary must get as far as its own validation of --run_dir.
    import subprocess
    import sys
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = subprocess.run([sys.executable, os.path.join(repo, "tools", "evaluate.py"),
                          "--flagfile=flags/demo_eval.cfg", f"--run_dir={tmp_path / 'missing'}",
                          f"--data_dir={tmp_path / 'missing_data'}",
                          f"--output={tmp_path / 'out.json'}"],
                         cwd=repo, capture_output=True, text=True, timeout=300)
    assert out.returncode == 2, out.stderr
    assert "flagfile" not in out.stderr.lower(), out.stderr
