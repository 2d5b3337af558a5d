"""SIGTERM to one worker of a two-worker `--strategy=multi_worker` run (a preemption).

Every worker must save the same final checkpoint and exit 0; both workers rerun resume from it.
"""
import os
import signal
import subprocess

import pytest

from tests.multiworker_check import start_workers
from tests.tiny_dataset import make_tiny_dataset
from tests.train_helpers import log_lines

pytestmark = pytest.mark.slow
_NO_TICK_SNAPSHOTS = ("--snapshot_ticks=1000",)


def _finish(procs, timeout=300):
    """Wait for both workers; [(exit code, stdout, stderr)]."""
    results = []
    for proc in procs:
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            for p in procs:
                p.kill()
            raise
        results.append((proc.returncode, out, err))
    return results


def test_sigterm_to_one_worker_stops_all_with_one_checkpoint_and_both_resume(tmp_path):
    data_dir = make_tiny_dataset(str(tmp_path / "data"), resolution=16)
    run_dir, scratch = tmp_path / "run", tmp_path / "scratch"
    scratch.mkdir()
    # No checkpoint at ticks: the one checkpoint is the stop's, a collective save of both workers
    # (the stop takes no step after the signal, so with a checkpoint per tick a signal landing in
    # tick 2's save would leave nothing more to write).
    procs = start_workers(data_dir, run_dir, 100, str(scratch), *_NO_TICK_SNAPSHOTS)
    try:
        for line in procs[1].stdout:  # the non-chief worker logs its ticks too
            if line.startswith("tick 2 "):
                break
        procs[1].send_signal(signal.SIGTERM)
    finally:
        results = _finish(procs)
    for index, (code, out, err) in enumerate(results):
        assert code == 0, f"worker {index}: {err[-3000:]}"
    assert "Received SIGTERM" in results[1][2] and "Received SIGTERM" not in results[0][2]
    last = log_lines(run_dir)[-1]
    assert last.startswith("Training stopped by signal at kimg"), last
    images = round(float(last.split()[-1]) * 1000)
    checkpoints = sorted(int(f[5:-6]) for f in os.listdir(run_dir / "checkpoints")
                         if f.endswith(".index"))
    assert checkpoints == [images]  # the stop's checkpoint, written once, by the chief
    assert images >= 32 and os.listdir(scratch) == []  # tick 2 or later; the non-chief's copy gone
    # Both workers rerun: they resume from that checkpoint and go on.
    results = _finish(start_workers(data_dir, run_dir, (images + 16) / 1000, str(scratch),
                                    *_NO_TICK_SNAPSHOTS))
    assert [code for code, _, _ in results] == [0, 0], results[0][2][-3000:]
    resumes = [l for l in log_lines(run_dir) if l.startswith("Resuming from")]
    assert resumes == [f"Resuming from {run_dir / 'checkpoints' / f'ckpt-{images}'} at kimg "
                       f"{images / 1000:.3f}"]
    assert log_lines(run_dir)[-1] == f"Training reached total_kimg at kimg {(images + 16) / 1000:.3f}"
