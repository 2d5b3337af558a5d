""""Quarantine, never delete": an unreadable checkpoint is moved aside and unlisted, and
every consumer of "latest" (resume, export, evaluate, the experiment) takes the newest READABLE
checkpoint by images seen. The original bug (SIGTERM after resuming past a corrupt checkpoint)
is tested through the train binary in tests/test_reliability.py."""
import os
import shutil

import numpy as np
import pytest

from pgan_tf import cli

tf = cli.import_tensorflow()

from pgan_tf.config import TrainConfig  # noqa: E402
from pgan_tf.errors import UserError  # noqa: E402
from pgan_tf.eval import evaluate, experiment, sample_export  # noqa: E402
from pgan_tf.training import checkpoint_index as ci  # noqa: E402
from pgan_tf.training import loop  # noqa: E402
from pgan_tf.training.generator import restore_run_generator  # noqa: E402
from tests.eval_fixtures import TINY_RUN, copy_run, corrupt_checkpoint, tiny_run  # noqa: E402


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    return tiny_run(tmp_path_factory)  # checkpoints at 16 and 32 images


def _corrupt_newest(trained, tmp_path):
    """A copy of the tiny run whose newest checkpoint (32 images) has a few-byte data file."""
    run_dir = copy_run(trained[0], tmp_path)
    corrupt_checkpoint(run_dir, 32)
    return run_dir


def _assert_quarantined(run_dir, capsys):
    """ckpt-32 moved to checkpoints/unreadable/ (bytes kept), unlisted, named in one warning."""
    ckpts = os.path.join(run_dir, "checkpoints")
    moved = sorted(os.listdir(os.path.join(ckpts, ci.UNREADABLE_DIR)))
    assert moved == ["ckpt-32.data-00000-of-00001", "ckpt-32.index"]
    with open(os.path.join(ckpts, ci.UNREADABLE_DIR, moved[0]), "rb") as f:
        assert f.read() == b"oops"  # nothing deleted
    assert not tf.io.gfile.glob(os.path.join(ckpts, "ckpt-32.*"))
    state = tf.train.get_checkpoint_state(ckpts)
    assert [os.path.basename(p) for p in state.all_model_checkpoint_paths] == ["ckpt-16"]
    assert os.path.basename(state.model_checkpoint_path) == "ckpt-16"
    err = capsys.readouterr().err
    assert err.count("ckpt-32 is unreadable") == 1 and "moved to" in err


def test_restore_run_generator_latest_skips_and_quarantines(trained, tmp_path, capsys):
    run_dir = _corrupt_newest(trained, tmp_path)
    rg = restore_run_generator(run_dir, "latest")
    assert rg.images_seen == 16 and rg.checkpoint.endswith("ckpt-16")
    _assert_quarantined(run_dir, capsys)
    # Never chosen again, and no second warning.
    assert restore_run_generator(run_dir).images_seen == 16
    assert ci.list_checkpoints(run_dir) == {16: os.path.join(run_dir, "checkpoints", "ckpt-16")}
    assert capsys.readouterr().err == ""


def test_export_samples_uses_the_newest_readable(trained, tmp_path, capsys):
    run_dir = _corrupt_newest(trained, tmp_path)
    manifest = sample_export.export_samples(sample_export.ExportConfig(
        run_dir=run_dir, output_dir=str(tmp_path / "out"), num_per_class=1, progress=False))
    assert manifest["images_seen"] == 16 and manifest["checkpoint"].endswith("ckpt-16")
    _assert_quarantined(run_dir, capsys)


def test_explicit_unreadable_checkpoint_is_quarantined_and_refused(trained, tmp_path, capsys):
    run_dir = _corrupt_newest(trained, tmp_path)
    with pytest.raises(UserError, match=r"ckpt-32 is unreadable .*choose another --checkpoint"):
        restore_run_generator(run_dir, "0.032")
    assert os.listdir(os.path.join(run_dir, "checkpoints", ci.UNREADABLE_DIR))


def test_evaluate_latest_and_all_use_readable_checkpoints(trained, tmp_path, capsys):
    run_dir = _corrupt_newest(trained, tmp_path)
    common = dict(metrics=("swd",), run_dir=run_dir, num_per_class=4, progress=False)
    latest = evaluate.run_evaluation(evaluate.EvalConfig(output=str(tmp_path / "l.json"), **common))
    assert latest["images_seen"] == 16 and latest["checkpoint"].endswith("ckpt-16")
    _assert_quarantined(run_dir, capsys)
    every = evaluate.run_evaluation(evaluate.EvalConfig(output=str(tmp_path / "a.json"),
                                                        checkpoints="all", **common))
    assert list(every["checkpoints"]) == ["0.016"]


def test_evaluate_all_quarantines_an_unreadable_older_checkpoint(trained, tmp_path, capsys):
    run_dir = str(tmp_path / "run")
    shutil.copytree(trained[0], run_dir)
    with open(os.path.join(run_dir, "checkpoints", "ckpt-16.index"), "wb") as f:
        f.write(b"garbage")
    assert ci.readable_checkpoints(run_dir) == {32: os.path.join(run_dir, "checkpoints",
                                                                 "ckpt-32")}
    assert "ckpt-16 is unreadable" in capsys.readouterr().err
    assert list(ci.list_checkpoints(run_dir)) == [32]


def test_experiment_gan_arm_uses_the_newest_readable(trained, tmp_path, capsys):
    run_dir = _corrupt_newest(trained, tmp_path)
    images, _, _, used = experiment.gan_extra(run_dir, ("MEL",), 2, seed=3, resolution=16)
    expected = sample_export.generate_class(restore_run_generator(run_dir, "0.016"), 0, 2, 3)
    np.testing.assert_array_equal(images, expected)
    assert used["images_seen"] == 16        # recorded in the experiment's results.json
    _assert_quarantined(run_dir, capsys)


def test_resume_quarantines_then_end_of_run_export_succeeds(trained, tmp_path, capsys):
    run_dir = _corrupt_newest(trained, tmp_path)
    config = TrainConfig(data_dir=trained[1], run_dir=run_dir, **{**TINY_RUN, "total_kimg": 0.048})
    state = loop.run(config)
    out = capsys.readouterr()
    assert f"Resuming from {run_dir}/checkpoints/ckpt-16 at kimg 0.016" in out.out
    assert out.err.count("ckpt-32 is unreadable") == 1
    # The resumed timeline wrote a new ckpt-32 and ckpt-48; the export is at 48.
    assert sorted(ci.list_checkpoints(run_dir)) == [16, 32, 48]
    assert state.ckpt.manager.latest_checkpoint.endswith("ckpt-48")
    assert os.path.isdir(os.path.join(run_dir, "export", "generator"))
    assert restore_run_generator(run_dir).images_seen == 48
    assert len(os.listdir(os.path.join(run_dir, "checkpoints", ci.UNREADABLE_DIR))) == 2


def test_newer_listed_checkpoints_are_superseded_not_deleted(trained, tmp_path, capsys):
    run_dir = str(tmp_path / "run")
    shutil.copytree(trained[0], run_dir)
    moved = ci.supersede_newer(run_dir, 16)
    assert [os.path.basename(m) for m in moved] == ["ckpt-32"]
    assert "newer than the resumed kimg 0.016" in capsys.readouterr().err
    assert sorted(os.listdir(os.path.join(run_dir, "checkpoints", ci.SUPERSEDED_DIR))) == \
        ["ckpt-32.data-00000-of-00001", "ckpt-32.index"]
    assert list(ci.list_checkpoints(run_dir)) == [16]


def test_quarantine_never_overwrites_an_earlier_quarantined_copy(trained, tmp_path, capsys):
    run_dir = str(tmp_path / "run")
    shutil.copytree(trained[0], run_dir)
    path = os.path.join(run_dir, "checkpoints", "ckpt-32")
    backup = str(tmp_path / "backup")
    os.makedirs(backup)
    for name in tf.io.gfile.glob(path + ".*"):
        shutil.copy(name, backup)
    first = ci.quarantine(path, "test")
    for name in os.listdir(backup):
        shutil.copy(os.path.join(backup, name), os.path.dirname(path))
    second = ci.quarantine(path, "test")
    assert first != second and second.endswith("ckpt-32.copy2")
    assert len(os.listdir(os.path.dirname(first))) == 4


def test_all_unreadable_stays_refused(trained, tmp_path, capsys):
    run_dir = str(tmp_path / "run")
    shutil.copytree(trained[0], run_dir)
    for path in tf.io.gfile.glob(os.path.join(run_dir, "checkpoints", "*.index")):
        with open(path, "wb") as f:
            f.write(b"garbage")
    for _ in range(2):  # the second time nothing is listed any more: still refused
        with pytest.raises(UserError, match="no readable checkpoint"):
            ci.newest_readable(run_dir)
    assert len(os.listdir(os.path.join(run_dir, "checkpoints", ci.UNREADABLE_DIR))) == 4


def _damage_state(run_dir, how):
    """The rolling folder's state file overwritten with garbage, emptied, or removed."""
    state = os.path.join(run_dir, "checkpoints", ci.STATE_FILE)
    if how == "missing":
        os.remove(state)
    else:
        with open(state, "w") as f:
            f.write("" if how == "empty" else "\x00garbage{{ not a proto\n")


@pytest.mark.parametrize("how", ["missing", "empty", "unparsable"])
def test_damaged_state_file_lists_the_checkpoints_from_their_files(trained, tmp_path, capsys, how):
    """Readers (no write) and the trainer's start-up (rebuild) find ckpt-16 and ckpt-32 by their
    files; nothing is deleted and the rebuilt state file is TensorFlow's format again."""
    run_dir = str(tmp_path / "run")
    shutil.copytree(trained[0], run_dir)
    _damage_state(run_dir, how)
    ckpts = os.path.join(run_dir, "checkpoints")
    assert list(ci.list_checkpoints(run_dir)) == [16, 32]
    assert ci.newest_readable(run_dir)[0] == 32
    ci.rebuild_state(ckpts)
    err = capsys.readouterr().err
    assert err.count("warning:") == 1 and f"checkpoint is {how}; rebuilt" in err
    state = tf.train.get_checkpoint_state(ckpts)
    assert [os.path.basename(p) for p in state.all_model_checkpoint_paths] == \
        ["ckpt-16", "ckpt-32"]
    ci.rebuild_state(ckpts)  # a good, complete state file: untouched, no second warning
    assert capsys.readouterr().err == ""
    assert len(tf.io.gfile.glob(os.path.join(ckpts, "ckpt-*.index"))) == 2


def test_partial_save_is_recognised_by_its_temp_folder_not_by_the_state_file(trained, tmp_path):
    """A save killed midway leaves `ckpt-N_temp/`: that checkpoint is removed at start-up; a
    complete but unlisted one (killed before the state file was updated) is kept and listed."""
    from pgan_tf.training.checkpoint import _remove_partial_saves

    run_dir = str(tmp_path / "run")
    shutil.copytree(trained[0], run_dir)
    ckpts = os.path.join(run_dir, "checkpoints")
    _damage_state(run_dir, "missing")
    for name in os.listdir(ckpts):  # ckpt-48: a partial save (marker), ckpt-40: complete
        if name.startswith("ckpt-32."):
            for number in (40, 48):
                shutil.copy(os.path.join(ckpts, name),
                            os.path.join(ckpts, name.replace("32", str(number))))
    os.makedirs(os.path.join(ckpts, "ckpt-48_temp"))
    assert list(ci.list_checkpoints(run_dir)) == [16, 32, 40]  # a partial save is no candidate
    _remove_partial_saves(ckpts)
    ci.rebuild_state(ckpts)
    assert sorted(os.listdir(ckpts)) == ["checkpoint"] + [
        f"ckpt-{n}.{ext}" for n in (16, 32, 40) for ext in ("data-00000-of-00001", "index")]
    assert ci.read_state(ckpts) == ([os.path.join(ckpts, f"ckpt-{n}") for n in (16, 32, 40)],
                                    None)


def test_resume_with_a_garbage_state_file_continues_from_the_newest(trained, tmp_path, capsys):
    run_dir = str(tmp_path / "run")
    shutil.copytree(trained[0], run_dir)
    shutil.rmtree(os.path.join(run_dir, "export"))
    _damage_state(run_dir, "unparsable")
    config = TrainConfig(data_dir=trained[1], run_dir=run_dir, **{**TINY_RUN, "total_kimg": 0.048})
    loop.run(config)
    out = capsys.readouterr()
    assert f"Resuming from {run_dir}/checkpoints/ckpt-32 at kimg 0.032" in out.out
    assert out.err.count("warning:") == 1 and "rebuilt the checkpoint list" in out.err
    assert sorted(ci.list_checkpoints(run_dir)) == [16, 32, 48]
    assert restore_run_generator(run_dir).images_seen == 48


def test_resume_writes_the_milestone_its_period_lacks(trained, tmp_path):
    """ckpt-32 resumed with a milestone every 16 images: period [32, 48) has no milestone (as
    after a kill between the rolling and the milestone save), so the resume writes it."""
    run_dir = str(tmp_path / "run")
    shutil.copytree(trained[0], run_dir)  # export kept: the run is complete, nothing to train
    config = TrainConfig(data_dir=trained[1], run_dir=run_dir,
                         **{**TINY_RUN, "keep_checkpoint_every_kimg": 0.016})
    loop.run(config)
    milestones = os.path.join(run_dir, "checkpoints", ci.MILESTONE_DIR)
    assert [os.path.basename(p) for p in ci.on_disk(milestones)] == ["ckpt-32"]
    assert ci.validate_checkpoint(os.path.join(milestones, "ckpt-32")) is None
    loop.run(config)  # now present: not written again
    assert len(os.listdir(milestones)) == 3  # state file, .index, .data
