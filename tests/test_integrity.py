"""Per-file sha256 check of a prepared dataset at start-up; damaged-record errors as one line."""
import hashlib
import json
import os

import pytest

from pgan_tf.data import integrity
from pgan_tf.errors import UserError


@pytest.fixture
def split(tmp_path):
    folder = tmp_path / "train"
    folder.mkdir()
    for name, data in (("a.tfrecords", b"a" * 3000), ("a.labels", b"labels")):
        (folder / name).write_bytes(data)
    return str(folder)


def test_folder_hashes_are_sha256_of_each_file(split):
    assert integrity.folder_hashes(split) == {
        "a.labels": hashlib.sha256(b"labels").hexdigest(),
        "a.tfrecords": hashlib.sha256(b"a" * 3000).hexdigest()}


def test_changed_or_missing_file_is_refused_naming_it(split, tmp_path):
    expected = integrity.folder_hashes(split)
    assert set(integrity.verify_split(split, expected, str(tmp_path))) == set(expected)
    path = os.path.join(split, "a.tfrecords")
    data = bytearray(open(path, "rb").read())
    data[1234] ^= 1  # one flipped bit, same size
    open(path, "wb").write(bytes(data))
    with pytest.raises(UserError, match=f"{path} changed since the dataset was prepared"):
        integrity.verify_split(split, expected, str(tmp_path))
    os.remove(path)
    with pytest.raises(UserError, match=f"{path} is missing"):
        integrity.verify_split(split, expected, str(tmp_path))


def test_resume_trusts_the_record_of_unchanged_files_only(split, tmp_path, monkeypatch):
    run_dir = str(tmp_path)
    expected = integrity.folder_hashes(split)
    record = integrity.verify_split(split, expected, run_dir)
    with open(integrity.record_path(run_dir), "w") as f:
        json.dump({"files": record}, f)
    hashed = []
    real = integrity.file_sha256
    monkeypatch.setattr(integrity, "file_sha256", lambda p: hashed.append(p) or real(p))
    integrity.verify_split(split, expected, run_dir)
    assert hashed == []  # same size and mtime as recorded: not re-read
    path = os.path.join(split, "a.labels")
    os.utime(path, ns=(1, 1))  # touched: hashed again (and still fine)
    integrity.verify_split(split, expected, run_dir)
    assert hashed == [path]


def test_old_dataset_json_without_file_hashes_warns_once(split, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(integrity, "_warned_old_json", [])
    assert integrity.verify_split(split, None, str(tmp_path)) is None
    assert integrity.verify_split(split, None, str(tmp_path)) is None
    assert capsys.readouterr().err.count("has no per-file sha256") == 1
