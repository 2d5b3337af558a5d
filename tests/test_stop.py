"""Signals outside the step loop (`pgan_tf/training/stop.py`) and the end-of-run export being
complete or absent. In-process on copies of the shared tiny run; the binary's exit codes are
checked in tests/test_reliability.py (slow)."""
import os
import shutil
import signal

import pytest

from pgan_tf import cli

tf = cli.import_tensorflow()

from pgan_tf.config import TrainConfig  # noqa: E402
from pgan_tf.training import checkpoint_index as ci  # noqa: E402
from pgan_tf.training import loop  # noqa: E402
from pgan_tf.training.generator import EXPORT_DIR, export_done  # noqa: E402
from tests.eval_fixtures import TINY_RUN, tiny_run  # noqa: E402


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    return tiny_run(tmp_path_factory)  # checkpoints at 16 and 32 images, export written


def _copy(trained, tmp_path, export=False):
    run_dir = str(tmp_path / "run")
    shutil.copytree(trained[0], run_dir)
    if not export:
        shutil.rmtree(os.path.join(run_dir, "export"))
    return run_dir


def _config(trained, run_dir, total_kimg):
    return TrainConfig(data_dir=trained[1], run_dir=run_dir,
                       **{**TINY_RUN, "total_kimg": total_kimg})


def _files(run_dir):
    return sorted(os.path.relpath(os.path.join(d, f), run_dir)
                  for d, _, names in os.walk(run_dir) for f in names)


def test_sigterm_before_the_first_step_saves_nothing(trained, tmp_path, monkeypatch, capfd):
    run_dir = _copy(trained, tmp_path)
    real_restore = loop._Run.restore

    def restore(self):  # the signal lands while the run is being set up
        os.kill(os.getpid(), signal.SIGTERM)
        return real_restore(self)

    monkeypatch.setattr(loop._Run, "restore", restore)
    handler = signal.getsignal(signal.SIGTERM)
    checkpoints = sorted(ci.list_checkpoints(run_dir))
    logged = open(os.path.join(run_dir, "log.txt")).read().splitlines()
    state = loop.run(_config(trained, run_dir, 0.064))
    assert state.images_seen == 32  # restored, then stopped before the first step
    assert sorted(ci.list_checkpoints(run_dir)) == checkpoints == [16, 32]
    added = open(os.path.join(run_dir, "log.txt")).read().splitlines()[len(logged):]
    assert [line.split(" at kimg")[0] for line in added] == [
        f"Resuming from {run_dir}/checkpoints/ckpt-32"]  # no tick, no stop line
    err = [line for line in capfd.readouterr().err.splitlines() if line.strip()]
    assert err == ["Received SIGTERM before training started: stopping without saving anything "
                   "(rerun the same command to start or resume)"]
    assert signal.getsignal(signal.SIGTERM) is handler
    assert not os.path.exists(os.path.join(run_dir, ".lock"))


def test_second_ctrl_c_stops_at_once_with_one_line(trained, tmp_path, monkeypatch, capfd):
    run_dir = _copy(trained, tmp_path)
    real_reached = loop.faults.reached

    def reached(point):
        real_reached(point)
        if point == "step":
            os.kill(os.getpid(), signal.SIGINT)
            os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(loop.faults, "reached", reached)
    capfd.readouterr()
    with pytest.raises(SystemExit) as stopped:
        loop.run(_config(trained, run_dir, 0.064))
    assert stopped.value.code == 128 + signal.SIGINT
    err = [line for line in capfd.readouterr().err.splitlines() if line.strip()]
    assert err == ["Received SIGINT: finishing the tick and saving a checkpoint",
                   "Received SIGINT again: stopped at once; the last checkpoint written is kept "
                   "(rerun the same command to resume)"]
    assert sorted(ci.list_checkpoints(run_dir)) == [16, 32]
    assert not os.path.exists(os.path.join(run_dir, ".lock"))


def test_export_is_complete_or_absent_and_a_rerun_finishes_it(trained, tmp_path, monkeypatch,
                                                              capfd):
    """SIGTERM inside the end-of-run export: abandoned, temp folder removed, one line, no
    traceback. The rerun (the run is at total_kimg) writes the export, also removing the temp
    folder a SIGKILLed export left; a folder `export/` alone does not count as done."""
    run_dir = _copy(trained, tmp_path)
    real_save = tf.saved_model.save

    def save(obj, path, **kwargs):
        real_save(obj, path, **kwargs)  # the temp folder is written, the rename not done yet
        assert os.path.isdir(path) and os.path.basename(path).startswith(".generator.tmp")
        os.kill(os.getpid(), signal.SIGTERM)

    monkeypatch.setattr(tf.saved_model, "save", save)
    loop.run(_config(trained, run_dir, 0.032))
    assert os.listdir(os.path.join(run_dir, "export")) == []  # neither the export nor its temp
    assert not export_done(run_dir)
    err = [line for line in capfd.readouterr().err.splitlines() if line.strip()]
    assert err == [f"Received SIGTERM during the export: {EXPORT_DIR} was not written (its "
                   "temporary folder is removed); rerun the same command to write it"]
    monkeypatch.setattr(tf.saved_model, "save", real_save)
    killed = os.path.join(run_dir, "export", ".generator.tmp99999999")
    os.makedirs(os.path.join(killed, "variables"))  # what a SIGKILL in the export leaves
    before = [f for f in _files(run_dir) if not f.startswith(("export", "tensorboard", "log"))]
    loop.run(_config(trained, run_dir, 0.032))
    assert "nothing to do" in capfd.readouterr().out
    assert export_done(run_dir)
    assert os.listdir(os.path.join(run_dir, "export")) == ["generator"]
    import pgan_tf
    assert pgan_tf.load_generator(run_dir) is not None
    after = [f for f in _files(run_dir) if not f.startswith(("export", "tensorboard", "log"))]
    assert [f for f in after if f != "config.json"] == [f for f in before if f != "config.json"]


def test_claim_takes_sigterm_back_from_a_handler_installed_meanwhile():
    """TensorFlow's MultiWorkerMirroredStrategy installs its own SIGTERM handler when it starts
    (behind Python's back); `claim` puts ours back, so the signal reaches the run again."""
    import os
    import signal

    from pgan_tf.training.stop import TRAINING, StopRequest

    with StopRequest() as stop:
        stop.phase = TRAINING
        swallowed = []
        signal.signal(signal.SIGTERM, lambda signum, frame: swallowed.append(signum))
        os.kill(os.getpid(), signal.SIGTERM)
        assert swallowed == [signal.SIGTERM] and not stop.requested
        stop.claim()
        os.kill(os.getpid(), signal.SIGTERM)
        assert stop.requested and stop.signum == signal.SIGTERM and swallowed == [signal.SIGTERM]
