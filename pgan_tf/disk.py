"""Writes that fail because the disk is full, the quota is used up or the file system is read-only.

Such a failure is not a bug and not bad input: the program says so in one line naming the path
(`WriteError`, exit code 74 = EX_IOERR of sysexits.h) and stops. Every writer of this package
writes to a temporary name and renames, so what was there before — the previous checkpoint, an
earlier export, a prepared dataset, earlier results — is left intact.

TensorFlow reports the same conditions as `OpError`s whose message ends in the C library's text
("...; No space left on device"); Python as `OSError` with `errno` set.
"""
import contextlib
import errno
import os

from pgan_tf.errors import UserError
from pgan_tf import faults

FULL_OR_READ_ONLY = {errno.ENOSPC: "no space left on device",
                     errno.EDQUOT: "disk quota exceeded",
                     errno.EROFS: "read-only file system"}
_TF_TEXTS = {os.strerror(code): reason for code, reason in FULL_OR_READ_ONLY.items()}


class WriteError(UserError):
    """A write failed for lack of space or a read-only file system (one line, exit 74)."""

    exit_code = 74  # EX_IOERR (sysexits.h): an I/O error, not a usage error (2)


def write_failure(err):
    """(reason, path or None) when `err` is a full-disk / quota / read-only failure, else None."""
    if isinstance(err, OSError) and err.errno in FULL_OR_READ_ONLY:
        return FULL_OR_READ_ONLY[err.errno], err.filename
    text = str(getattr(err, "message", "") or "")
    for words, reason in _TF_TEXTS.items():
        if words in text:  # TensorFlow: "<path>; No space left on device [Op:...]"
            head = text.split(words)[0].rstrip("; ").split("}} ")[-1]
            return reason, head if head.startswith(("/", "gs://", "s3://")) else None
    return None


@contextlib.contextmanager
def writing(what, path, kept="", point=None):
    """Turn a full-disk / read-only failure inside the block into one `WriteError` line:
    "cannot write <what> <path>: <reason>; <kept>" (`kept` may be a function, called then).
    `point` names the block for the test-only ENOSPC injection (`faults.py`)."""
    try:
        if point:
            faults.writing(point, path)
        yield
    except WriteError:
        raise
    except Exception as err:  # noqa: BLE001  OSError and TensorFlow's OpError subclasses
        failure = write_failure(err)
        if failure is None:
            raise
        reason, where = failure
        shown = f"{path} ({where})" if where and not _part_of(where, str(path)) else path
        kept = kept() if callable(kept) else kept
        raise WriteError(f"cannot write {what} {shown}: {reason}"
                         + (f"; {kept}" if kept else "")) from None


def _part_of(where, path):
    """True for `path` itself or a temporary file of a write to it (TF's `ckpt-N_temp/...`, our
    `.name.tmp-*` / `name.tmpPID`): the message then names `path` alone, else `path (file)`."""
    return where.rstrip("/") == path.rstrip("/") or "_temp" in where or ".tmp" in where
