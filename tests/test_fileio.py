"""fileio: local and TensorFlow file-system paths; an end-to-end run on `ram://`.

`ram://` is TensorFlow's in-memory file system: it lives inside this process, so the end-to-end
test drives the library functions (train -> resume -> export -> evaluate) in one interpreter. The
dataset stays on local disk (its reader is the data pipeline's concern); the run dir, the export
and the evaluation output are all on `ram://`, which reports modification time 0 for everything.
"""
import json
import os
import uuid

import numpy as np
import pytest

from pgan_tf import cli, fileio

tf = cli.import_tensorflow()

from pgan_tf.config import TrainConfig  # noqa: E402
from pgan_tf.errors import UserError  # noqa: E402
from pgan_tf.eval import evaluate, sample_export  # noqa: E402
from pgan_tf.eval.classifier import ClassifierConfig  # noqa: E402
from pgan_tf.training import loop  # noqa: E402
from pgan_tf.training.generator import load_generator  # noqa: E402
from tests.eval_fixtures import TINY_RUN, make_eval_dataset  # noqa: E402


@pytest.mark.parametrize("root", ["local", "ram"])
def test_atomic_write_read_list_rename_remove(tmp_path, root):
    base = str(tmp_path) if root == "local" else f"ram://fileio_{uuid.uuid4().hex}"
    path = os.path.join(base, "a", "b.json")
    fileio.write_atomic(path, '{"x": 1}')
    fileio.write_atomic(path, b'{"x": 2}')  # replaces
    assert json.loads(fileio.read_text(path)) == {"x": 2}
    assert fileio.listdir(os.path.join(base, "a")) == ["b.json"]  # no temp file left
    assert fileio.isfile(path) and fileio.isdir(os.path.join(base, "a")) and not fileio.isfile(
        os.path.join(base, "a"))
    fileio.append_text(os.path.join(base, "log.txt"), "one\n")
    fileio.append_text(os.path.join(base, "log.txt"), "two\n")
    assert fileio.read_text(os.path.join(base, "log.txt")) == "one\ntwo\n"
    assert fileio.size(os.path.join(base, "log.txt")) == 8
    fileio.rename(os.path.join(base, "a"), os.path.join(base, "c"))
    assert fileio.glob(os.path.join(base, "c"), "*.json") == [os.path.join(base, "c", "b.json")]
    with pytest.raises((FileExistsError, tf.errors.AlreadyExistsError)):
        fileio.rename(os.path.join(base, "log.txt"), os.path.join(base, "c", "b.json"))
    fileio.remove(os.path.join(base, "log.txt"))
    fileio.remove(os.path.join(base, "log.txt"))  # already gone: no error
    fileio.rmtree(os.path.join(base, "c"))
    fileio.rmtree(os.path.join(base, "c"))
    assert fileio.listdir(base) == []
    assert fileio.abspath(base) == (os.path.abspath(base) if root == "local" else base)


@pytest.mark.parametrize("root", ["local", "ram"])
def test_json_write_read_and_unreadable_json_is_one_line(tmp_path, root):
    base = str(tmp_path) if root == "local" else f"ram://fileio_{uuid.uuid4().hex}"
    path = os.path.join(base, "d", "r.json")
    fileio.write_json(path, {"a": [1, 2], "b": np.arange(2)}, default=lambda v: v.tolist())
    assert fileio.read_text(path) == '{\n  "a": [\n    1,\n    2\n  ],\n  "b": [\n    0,\n    1\n  ]\n}\n'
    assert fileio.read_json(path, "unused") == {"a": [1, 2], "b": [0, 1]}
    assert fileio.listdir(os.path.join(base, "d")) == ["r.json"]
    fileio.write_atomic(path, "{not json")
    with pytest.raises(UserError, match=r"r\.json is unreadable \(.*\); restore it$"):
        fileio.read_json(path, "restore it")
    with pytest.raises(UserError, match=r"missing\.json is unreadable .*; run it again$"):
        fileio.read_json(os.path.join(base, "missing.json"), "run it again")


@pytest.mark.parametrize("root", ["local", "ram"])
def test_staged_dir_swaps_in_only_a_finished_folder(tmp_path, root):
    base = str(tmp_path) if root == "local" else f"ram://fileio_{uuid.uuid4().hex}"
    out = os.path.join(base, "out")
    fileio.write_atomic(os.path.join(out, "old.txt"), "old")
    with pytest.raises(RuntimeError):
        with fileio.staged_dir(out) as tmp:
            fileio.write_atomic(os.path.join(tmp, "new.txt"), "new")
            raise RuntimeError("interrupted")
    assert fileio.listdir(base) == ["out"] and fileio.listdir(out) == ["old.txt"]  # untouched
    with fileio.staged_dir(out) as tmp:
        assert fileio.isdir(tmp) and os.path.dirname(tmp) == base
        fileio.write_atomic(os.path.join(tmp, "new.txt"), "new")
        assert fileio.listdir(out) == ["old.txt"]  # not swapped in before the block ends
    assert fileio.listdir(base) == ["out"] and fileio.listdir(out) == ["new.txt"]


def test_local_atomic_path_renames_on_success_and_refuses_remote(tmp_path):
    target = str(tmp_path / "w" / "m.weights.h5")
    with pytest.raises(RuntimeError):
        with fileio.local_atomic_path(target, "--output", suffix=".weights.h5") as tmp:
            assert tmp.endswith(".weights.h5") and os.path.dirname(tmp) == os.path.dirname(target)
            open(tmp, "wb").write(b"half")
            raise RuntimeError("save failed")
    assert os.listdir(tmp_path / "w") == []
    with fileio.local_atomic_path(target, "--output", suffix=".weights.h5") as tmp:
        open(tmp, "wb").write(b"whole")
    assert os.listdir(tmp_path / "w") == ["m.weights.h5"] and open(target, "rb").read() == b"whole"
    with pytest.raises(UserError, match=r"^--judge_cache=gs://b/j\.weights\.h5: must be a local"):
        with fileio.local_atomic_path("gs://b/j.weights.h5", "--judge_cache"):
            raise AssertionError("a remote path must be refused before the block runs")


def test_local_paths_do_not_import_tensorflow(tmp_path):
    import subprocess
    import sys

    code = ("import sys; from pgan_tf import fileio; p = sys.argv[1] + '/x';"
            "fileio.write_atomic(p, 'x'); fileio.listdir(sys.argv[1]); fileio.exists(p);"
            "sys.exit(1 if 'tensorflow' in sys.modules else 0)")
    assert subprocess.run([sys.executable, "-c", code, str(tmp_path)]).returncode == 0


@pytest.mark.slow  # end to end, minutes on 2 cores: `make test-slow`
def test_train_resume_export_evaluate_on_ram_filesystem(tmp_path):
    data_dir = str(tmp_path / "data")
    make_eval_dataset(data_dir)
    root = f"ram://e2e_{uuid.uuid4().hex}"
    run_dir = f"{root}/run"
    base = dict(TINY_RUN, data_dir=data_dir, run_dir=run_dir)
    loop.run(TrainConfig(**{**base, "total_kimg": 0.016}))
    state = loop.run(TrainConfig(**{**base, "total_kimg": 0.032}))  # resume
    assert state.images_seen == 32
    log = fileio.read_text(f"{run_dir}/log.txt").splitlines()
    assert f"Resuming from {run_dir}/checkpoints/ckpt-16 at kimg 0.016" in log
    assert {"config.json", "log.txt", "grids", "tensorboard", "checkpoints", "export"} <= set(
        fileio.listdir(run_dir))
    assert ".lock" not in fileio.listdir(run_dir)
    assert "reals.png" in fileio.listdir(f"{run_dir}/grids")
    generate = load_generator(run_dir)
    assert generate(np.zeros((1, 8), np.float32), np.eye(3, dtype=np.float32)[:1]).shape == \
        (1, 16, 16, 3)

    out = f"{root}/samples"
    manifest = sample_export.export_samples(sample_export.ExportConfig(
        run_dir=run_dir, output_dir=out, num_per_class=2, grid=True, progress=False))
    assert manifest["images_seen"] == 32 and manifest["run_dir"] == run_dir
    assert fileio.listdir(out) == ["DF", "MEL", "MODEL_CARD.md", "NV", "grid.png", "labels.csv",
                                   "manifest.json"]
    assert len(fileio.read_text(f"{out}/labels.csv").splitlines()) == 7
    assert [n for n in fileio.listdir(root) if n.startswith(".")] == []  # no temp or lock left

    output = f"{root}/eval/results.json"
    results = evaluate.run_evaluation(evaluate.EvalConfig(
        output=output, metrics=("swd", "gan_test"), run_dir=run_dir, num_per_class=4,
        classifier=ClassifierConfig(epochs=1, batch_size=8, width=8, seed=0), progress=False))
    assert json.loads(fileio.read_text(output))["swd"] == results["swd"]
    assert results["checkpoint"] == f"{run_dir}/checkpoints/ckpt-32"
    assert "confusion_gan_test.png" in fileio.listdir(f"{root}/eval")
    assert fileio.listdir(f"{run_dir}/tensorboard/eval")
    assert not os.path.exists("ram:")  # nothing went to a local folder named after the scheme


def test_glob_takes_the_folder_literally(tmp_path):
    """A folder named like a pattern is a path: its own files match, a look-alike's do not."""
    literal = tmp_path / "a[b]*?c"
    lookalike = tmp_path / "abXc"  # what `a[b]*?c` would match as a pattern
    for folder in (literal, lookalike):
        folder.mkdir()
        (folder / "ckpt-1.index").write_text("x")
    (literal / "ckpt-[2].index").write_text("x")
    assert fileio.glob(str(literal), "ckpt-*.index") == [
        str(literal / "ckpt-1.index"), str(literal / "ckpt-[2].index")]
    assert fileio.glob(str(literal), fileio.literal("ckpt-[2]") + ".*") == [
        str(literal / "ckpt-[2].index")]
    assert fileio.glob(str(tmp_path / "missing"), "*") == []
