"""Readers never fail because they cannot write into a run: export and evaluate skip a checkpoint
that is unreadable, vanished (rotated away by a live trainer) or of another architecture, keep
what they already evaluated and fall back to the newest one that restores; they move it aside
only where the run dir is writable (docs/reliability.md)."""
import os

import pytest

from pgan_tf import cli

tf = cli.import_tensorflow()

from pgan_tf.config import TrainConfig  # noqa: E402
from pgan_tf.errors import UserError  # noqa: E402
from pgan_tf.eval import evaluate, sample_export  # noqa: E402
from pgan_tf.training import checkpoint_index as ci  # noqa: E402
from pgan_tf.training.builders import model_factories  # noqa: E402
from pgan_tf.training.generator import restore_run_generator, save_generator  # noqa: E402
from tests.eval_fixtures import TINY_RUN, copy_run, corrupt_checkpoint, tiny_run  # noqa: E402


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    return tiny_run(tmp_path_factory)  # checkpoints at 16 and 32 images


def _tree(root):
    """Every file under `root` with its bytes: what a reader must leave as it found it."""
    out = {}
    for here, _, files in os.walk(root):
        for name in files:
            with open(os.path.join(here, name), "rb") as f:
                out[os.path.relpath(os.path.join(here, name), root)] = f.read()
    return out


def test_read_only_run_dir_with_a_corrupt_newest_falls_back_and_writes_nothing(
        trained, tmp_path, capsys, monkeypatch):
    run_dir = copy_run(trained[0], tmp_path)
    corrupt_checkpoint(run_dir, 32)
    before = _tree(run_dir)
    # As on a read-only mount (the real mount: test_full_disk.py, slow): not writable.
    monkeypatch.setattr(ci.os, "access", lambda path, mode: False)
    rg = restore_run_generator(run_dir, "latest")
    assert rg.images_seen == 16
    err = capsys.readouterr().err
    assert "ckpt-32 is unreadable" in err and "left in place" in err and "intact" not in err
    results = evaluate.run_evaluation(evaluate.EvalConfig(  # a reader: nothing into the run
        output=str(tmp_path / "e.json"), metrics=("swd",), run_dir=run_dir, num_per_class=4,
        progress=False))
    assert results["images_seen"] == 16 and os.path.isfile(tmp_path / "e.json")
    assert "results are in --output only" in capsys.readouterr().err
    assert _tree(run_dir) == before


def test_a_reader_of_a_live_run_skips_an_unreadable_checkpoint_without_moving_it(
        trained, tmp_path, capsys):
    from pgan_tf.dirlock import LOCK_FILE, DirLock

    run_dir = copy_run(trained[0], tmp_path)
    corrupt_checkpoint(run_dir, 32)
    with DirLock(os.path.join(run_dir, LOCK_FILE), "training"):  # a trainer at work there
        before = _tree(run_dir)
        assert restore_run_generator(run_dir, "latest").images_seen == 16
        assert ci.readable_checkpoints(run_dir, move=False) == {
            16: os.path.join(run_dir, "checkpoints", "ckpt-16")}
        with pytest.raises(UserError, match="ckpt-32 is unreadable .*left in place"):
            restore_run_generator(run_dir, "0.032")
        assert _tree(run_dir) == before  # its state file stays the trainer's alone
    assert "ckpt-32 is unreadable" in capsys.readouterr().err
    assert restore_run_generator(run_dir, "latest").images_seen == 16  # no trainer: moved
    assert os.listdir(os.path.join(run_dir, "checkpoints", ci.UNREADABLE_DIR))


def _list_foreign_checkpoint(run_dir, images_seen):
    """A readable checkpoint of ANOTHER generator (latent size 16) listed as the newest."""
    other = TrainConfig(**{**TINY_RUN, "latent_size": 16, "data_dir": "x", "run_dir": "y"})
    model = model_factories(other)[0](name="generator_ema")
    folder = os.path.join(run_dir, "checkpoints")
    tf.train.Checkpoint(G_ema=model).write(os.path.join(folder, f"ckpt-{images_seen}"))
    listed = [os.path.basename(p) for p in tf.train.get_checkpoint_state(folder)
              .all_model_checkpoint_paths] + [f"ckpt-{images_seen}"]
    tf.compat.v1.train.update_checkpoint_state(folder, listed[-1],
                                               all_model_checkpoint_paths=listed)


def test_checkpoint_of_another_architecture_counts_as_unreadable(trained, tmp_path, capsys):
    run_dir = copy_run(trained[0], tmp_path)
    _list_foreign_checkpoint(run_dir, 48)
    with pytest.raises(UserError, match=r"^--checkpoint=0.048: .*ckpt-48 does not restore into "
                                        r"this run's generator .*choose another --checkpoint$"):
        restore_run_generator(run_dir, "0.048")
    rg = restore_run_generator(run_dir, "latest")
    assert rg.images_seen == 32
    assert "ckpt-48 is unreadable" in capsys.readouterr().err
    assert os.listdir(os.path.join(run_dir, "checkpoints", ci.UNREADABLE_DIR))
    reference = restore_run_generator(trained[0], "latest")  # the weights are ckpt-32's, all
    for mine, theirs in zip(rg.model.variables, reference.model.variables):
        assert (mine.numpy() == theirs.numpy()).all()


def test_evaluate_all_keeps_its_results_when_a_checkpoint_is_rotated_away(
        trained, tmp_path, capsys, monkeypatch):
    run_dir = copy_run(trained[0], tmp_path)
    original = sample_export.at_checkpoint

    def rotated_meanwhile(run_generator, images_seen, path):
        if images_seen == 16:  # the live trainer's rotation removes it after the listing
            for name in tf.io.gfile.glob(path + ".*"):
                os.remove(name)
        return original(run_generator, images_seen, path)

    monkeypatch.setattr(sample_export, "at_checkpoint", rotated_meanwhile)
    results = evaluate.run_evaluation(evaluate.EvalConfig(
        output=str(tmp_path / "a.json"), checkpoints="all", metrics=("swd",), run_dir=run_dir,
        num_per_class=4, progress=False))
    assert list(results["checkpoints"]) == ["0.032"]
    assert results["checkpoints"]["0.032"]["checkpoint"].endswith("ckpt-32")
    assert "ckpt-16 cannot be restored any more" in capsys.readouterr().err


def test_export_into_a_symlinked_run_export_is_refused_before_writing(trained, tmp_path):
    run_dir = copy_run(trained[0], tmp_path)
    os.makedirs(os.path.join(run_dir, "export"))
    target = os.path.join(run_dir, "export", "generator")
    os.symlink(str(tmp_path / "elsewhere"), target)
    rg = restore_run_generator(run_dir, "latest")
    with pytest.raises(UserError, match="is a symlink"):
        save_generator(rg, target)
    assert os.listdir(os.path.join(run_dir, "export")) == ["generator"]  # no temp folder left
    assert not os.path.exists(tmp_path / "elsewhere")


@pytest.mark.slow  # a real read-only bind mount (root) and a pgan-export subprocess
def test_pgan_export_of_a_read_only_run_with_a_corrupt_newest_uses_the_previous(trained,
                                                                                tmp_path):
    import json
    import subprocess
    import sys

    from tests.test_full_disk import _mounted

    run_dir = copy_run(trained[0], tmp_path)
    corrupt_checkpoint(run_dir, 32)
    before = _tree(run_dir)
    out = tmp_path / "out"
    with _mounted(str(tmp_path / "ro"), read_only_bind=run_dir) as ro:
        result = subprocess.run(
            [sys.executable, "-m", "pgan_tf.cli.export", f"--run_dir={ro}",
             f"--output_dir={out}", "--num_per_class=1", "--progress=false"],
            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "ckpt-32 is unreadable" in result.stderr and "left in place" in result.stderr
    with open(out / "manifest.json") as f:
        assert json.load(f)["images_seen"] == 16
    assert _tree(run_dir) == before


@pytest.mark.slow  # resumes the tiny run (a stage compile, ~15 s)
def test_failed_save_names_the_checkpoint_really_kept_not_a_skipped_corrupt_one(
        trained, tmp_path, monkeypatch):
    from pgan_tf import disk, faults
    from pgan_tf.training import loop

    run_dir = copy_run(trained[0], tmp_path)
    corrupt_checkpoint(run_dir, 32)
    folder, access = os.path.join(run_dir, "checkpoints"), os.access
    # checkpoints/ cannot be written (the corrupt ckpt-32 stays listed), then the save fails.
    monkeypatch.setattr(ci.os, "access", lambda p, mode: access(p, mode) and p != folder)
    monkeypatch.setenv(faults.ENOSPC_VAR, "checkpoint:1")
    monkeypatch.setattr(faults, "_counts", {})
    config = TrainConfig(data_dir=trained[1], run_dir=run_dir, **{**TINY_RUN, "total_kimg": 0.048})
    with pytest.raises(disk.WriteError) as err:
        loop.run(config)
    assert "ckpt-16 is intact" in str(err.value) and "ckpt-32" not in str(err.value)
