"""Test-only fault injection: `PGAN_TF_KILL_AT=<point>:<n>` SIGKILLs the process at the n-th time
the training loop passes the named point (`make soak`); `PGAN_TF_ENOSPC_AT=<point>:<n>` makes
the n-th write at a point fail as on a full disk (see `disk.writing`). Unset in normal use: one
dict lookup.

Points: `checkpoint` (a timer fires a few milliseconds into the n-th checkpoint write, so the kill
lands inside TensorFlow's save), `stage` (right after the n-th phase change, before its first step),
`step` (before the n-th training step).
"""
import errno
import os
import signal
import threading

ENV_VAR = "PGAN_TF_KILL_AT"
# `PGAN_TF_ENOSPC_AT=<point>:<n>`: the n-th write at <point> fails as on a full disk (OSError
# ENOSPC naming the path). Points: `checkpoint` (training save), `export` (the run's SavedModel,
# exported samples), `prepare` (a prepared dataset's files), `evaluate` (evaluation results),
# `lock` (a run dir's or export's lock file, `dirlock`).
ENOSPC_VAR = "PGAN_TF_ENOSPC_AT"
_CHECKPOINT_DELAY_S = 0.005  # lands inside the write: saving even a tiny run takes ~10 ms+
_counts = {}


def _target(var=ENV_VAR):
    spec = os.environ.get(var, "")
    point, _, count = spec.partition(":")
    return (point, int(count or 1)) if point else (None, 0)


def reached(point):
    """Kill the process here if the env var asks for this point and hit count."""
    target, count = _target()
    if target != point:
        return
    _counts[point] = _counts.get(point, 0) + 1
    if _counts[point] != count:
        return
    if point == "checkpoint":
        threading.Timer(_CHECKPOINT_DELAY_S, _kill).start()
    else:
        _kill()


def _kill():
    os.kill(os.getpid(), signal.SIGKILL)


def writing(point, path):
    """Raise OSError(ENOSPC) for `path` if `PGAN_TF_ENOSPC_AT` asks for this point and hit count
    (called right before the real write, inside the code that reports write failures)."""
    target, count = _target(ENOSPC_VAR)
    if target != point:
        return
    key = "enospc:" + point
    _counts[key] = _counts.get(key, 0) + 1
    if _counts[key] == count:
        raise OSError(errno.ENOSPC, f"{os.strerror(errno.ENOSPC)} (injected by {ENOSPC_VAR})",
                      str(path))
