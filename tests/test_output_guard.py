"""Nothing deletes what it did not write: every output check refuses an output that would destroy
an input or a run (`pgan_tf/output_guard.py`), in one line, before anything is touched."""
import json
import os

import pytest

from pgan_tf import output_guard
from pgan_tf.errors import UserError


def _fake_run(root, data_dir="data"):
    """A run dir as the trainer leaves it (config.json, checkpoints/, export/, ...), no weights."""
    os.makedirs(root)
    for folder in output_guard.RUN_FOLDERS:
        os.makedirs(os.path.join(root, folder))
    with open(os.path.join(root, "checkpoints", "ckpt-16.index"), "w") as f:
        f.write("weights")
    with open(os.path.join(root, "config.json"), "w") as f:
        json.dump({"config": {"data_dir": data_dir}, "classes": ["MEL", "NV"]}, f)
    return str(root)


def _snapshot(root):
    return sorted((here, tuple(sorted(files))) for here, _, files in os.walk(root))


def _refused(fn, *words):
    with pytest.raises(UserError) as err:
        fn()
    message = str(err.value)
    assert "\n" not in message
    for word in words:
        assert word in message
    return message


@pytest.mark.parametrize("where", ["run", "parent", "checkpoints", "export/samples", "grids",
                                   "tensorboard/x", "link"])
def test_export_overwrite_never_replaces_the_run_or_its_folders(tmp_path, where):
    from pgan_tf.eval import sample_export

    run = _fake_run(tmp_path / "runs" / "r")
    out = {"run": run, "parent": str(tmp_path / "runs"), "link": str(tmp_path / "link")}.get(
        where, os.path.join(run, where))
    if where == "link":
        os.symlink(run, out)
    before = _snapshot(tmp_path)
    config = sample_export.ExportConfig(run_dir=run, output_dir=out, num_per_class=1,
                                        overwrite=True)
    _refused(lambda: sample_export.validate_export(config), "--output_dir=")
    with pytest.raises(UserError):  # the staged swap checks again before it moves anything
        sample_export.staged_output(out, overwrite=True).__enter__()
    assert _snapshot(tmp_path) == before


def test_a_run_of_another_command_and_a_dangling_link_are_refused(tmp_path):
    run = _fake_run(tmp_path / "r")
    _refused(lambda: output_guard.check_output(run), "is a pgan_tf run dir")
    _refused(lambda: output_guard.check_output(os.path.join(run, "config.json"), flag="--output"),
             "config.json")
    link = tmp_path / "dangling"
    os.symlink(tmp_path / "missing", link)
    _refused(lambda: output_guard.check_output(str(link)), "does not exist", str(link))
    # Allowed: a new folder inside the run beside its own folders, and unrelated folders.
    output_guard.check_output(os.path.join(run, "samples"), [("--run_dir", run)])
    output_guard.check_output(str(tmp_path / "elsewhere"), [("--run_dir", run)])


def test_every_overwriting_binary_refuses_an_output_holding_its_input(tmp_path):
    from pgan_tf.data import prepare, synthetic
    from pgan_tf.eval import evaluate, experiment
    from pgan_tf.eval.classifier import ClassifierConfig

    data = tmp_path / "work" / "data"
    for split in ("train", "val"):
        os.makedirs(data / split)
    with open(data / "dataset.json", "w") as f:
        json.dump({"classes": ["MEL", "NV"], "resolution": 16, "splits": {}}, f)
    run = _fake_run(tmp_path / "work" / "run", data_dir=str(data))
    work = str(tmp_path / "work")
    reals = tmp_path / "reals"
    os.makedirs(reals)
    before = _snapshot(tmp_path)
    _refused(lambda: prepare.check_output_dir(prepare.PrepareConfig(
        input_dir=str(data), output_dir=work, overwrite=True)), "contains --input_dir")
    _refused(lambda: synthetic.write_synthetic_isic(run, 4, 0, overwrite=True), "run dir")
    _refused(lambda: experiment.validate_experiment(experiment.ExperimentConfig(
        data_dir=str(data), arms=("real",), output_dir=work, overwrite=True)),
        "contains --data_dir")
    _refused(lambda: evaluate.validate_eval(evaluate.EvalConfig(
        output=str(reals / "r.json"), fakes=str(data), reals=str(reals), metrics=("swd",),
        classifier=ClassifierConfig())), "inside --reals")
    _refused(lambda: evaluate.validate_eval(evaluate.EvalConfig(
        output=os.path.join(run, "config.json"), run_dir=run, metrics=("swd",),
        classifier=ClassifierConfig())), "--output=", "config.json")
    assert _snapshot(tmp_path) == before


def test_a_folder_that_merely_holds_a_config_json_is_not_a_run(tmp_path):
    with open(tmp_path / "config.json", "w") as f:
        f.write("{}")
    output_guard.check_output(str(tmp_path / "export" / "samples"))  # no checkpoints/: no run
    output_guard.check_output(str(tmp_path / "config.json"), flag="--output")
