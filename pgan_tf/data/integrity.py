"""Damaged or changed dataset files: found at start-up by per-file sha256, or at the record by CRC.

`pgan-prepare` records a sha256 of every file of a split in `dataset.json`
(`splits.<split>.files`: {file name: sha256}). A training run checks the files it reads against
them on its first start — one sequential read of each file, cheaper than decoding — and refuses a
dataset whose files changed since preparation. The result is recorded in the run dir
(`dataset_files.json`: name, size, mtime, sha256 per file); a resume whose files still have the
recorded size and modification time trusts it and does not re-hash (the quick check of rsync/make;
a file changed in place without either changing is still caught record by record: see below).

TFRecord framing carries a CRC of every record's length and data, so a flipped byte or a truncated
tail also fails when the record is read; `read_errors` turns TensorFlow's `DataLossError` (a
traceback from deep inside tf.data) into one line naming the file.
"""
import contextlib
import json
import os
import re
import sys

from pgan_tf import fileio
from pgan_tf.fileio import file_sha256
from pgan_tf.errors import UserError

CHECK_FILE = "dataset_files.json"  # in the run dir
# TensorFlow's words for a failed record CRC / a cut-short file, and record_index's own.
_DETAIL = re.compile(r"(corrupted|truncated) record at \d+|record \d+ at byte \d+ is damaged")
_warned_old_json = []  # one warning per process for a dataset.json without file hashes



def folder_hashes(folder):
    """{file name: sha256} of the regular files of a split folder (for dataset.json)."""
    return {name: file_sha256(os.path.join(folder, name)) for name in sorted(os.listdir(folder))
            if os.path.isfile(os.path.join(folder, name))}


def _stat(path):
    info = os.stat(path)
    return {"size": info.st_size, "mtime_ns": info.st_mtime_ns}


def verify_split(folder, expected, run_dir):
    """Check the files of `folder` against `expected` ({name: sha256} from dataset.json).

    `expected=None` (a dataset.json older than per-file hashes) warns once and returns None.
    Files whose size and mtime match `run_dir/dataset_files.json` are not re-hashed. Raises
    UserError naming the first changed or missing file; returns the record to keep in the run dir.
    """
    if expected is None:
        if not _warned_old_json:
            _warned_old_json.append(folder)
            print(f"warning: {folder}: dataset.json has no per-file sha256 (prepared by an older "
                  "version); the files are not checked at start-up, only record by record",
                  file=sys.stderr)
        return None
    recorded = _read_record(run_dir)
    record = {}
    for name, sha in sorted(expected.items()):
        path = os.path.join(folder, name)
        if not os.path.isfile(path):
            raise UserError(f"{path} is missing (listed in dataset.json); re-create the dataset "
                            "with pgan-prepare or restore the file")
        entry = {**_stat(path), "sha256": sha}
        if recorded.get(name) != entry and file_sha256(path) != sha:
            raise UserError(f"{path} changed since the dataset was prepared (sha256 differs from "
                            "dataset.json); re-create the dataset with pgan-prepare "
                            "or restore the file")
        record[name] = entry
    return record


def _read_record(run_dir):
    path = os.path.join(run_dir, CHECK_FILE)
    try:  # the run dir may be remote (gs://): fileio
        return json.loads(fileio.read_text(path)).get("files", {})
    except (OSError, ValueError, AttributeError, *fileio.not_found_errors()):
        return {}  # none yet (first start) or unreadable: hash again


def record_path(run_dir):
    """Where `verify_split`'s result is kept in a run dir."""
    return os.path.join(run_dir, CHECK_FILE)


@contextlib.contextmanager
def read_errors(path):
    """Turn a damaged-record error of TensorFlow (raised by tf.data, possibly wrapped by a
    `numpy_function`) into one UserError line naming `path`."""
    import tensorflow as tf  # here only: prepare_dataset's worker processes import this module

    try:
        yield
    except tf.errors.OpError as err:
        text = str(err.message if hasattr(err, "message") else err)
        if not isinstance(err, tf.errors.DataLossError) and "DataLossError" not in text:
            raise
        found = _DETAIL.search(text)
        detail = found.group(0) if found else text.splitlines()[0][:200]
        raise UserError(f"{path}: damaged TFRecord data ({detail}); re-create the dataset with "
                        "pgan-prepare") from None
