"""File access for run dirs, exports and evaluations: local paths or TensorFlow file systems.

A path with a scheme (`gs://bucket/run`, `s3://...`, `ram://...`, `hdfs://...`) goes through
`tf.io.gfile`, so a run dir or an output may live on any file system TensorFlow knows: `gs://` is
built into TensorFlow 2.21, `s3://` needs the `tensorflow-io` package (importing it registers the
scheme; pgan_tf does not depend on it), `ram://` is TensorFlow's in-memory file system (tests).
A plain path uses `os` directly: the same behaviour as `gfile` there, without importing TensorFlow
(flags are validated before it loads) and with POSIX atomic renames.

Nothing here relies on modification times: object stores and `ram://` do not give usable ones.
Writes of whole files are atomic where the file system allows (`write_atomic`: a temp file beside
the target, then a rename; on object stores a rename is a copy, so a reader may see the old or
the new object, never half of one).

Every file-writing helper of the package lives here, once: whole files (`write_atomic`), JSON
(`write_json`, `read_json`), a folder built beside its target and swapped in (`staged_dir`), and a
local temp name for writers that can only write a local file (`local_atomic_path`: h5py).
"""
import contextlib
import fnmatch
import glob as _glob
import hashlib
import json
import os
import shutil
import socket
import tempfile
import uuid

from pgan_tf.errors import UserError

SCHEME_SEP = "://"


def is_remote(path):
    """True for a path with a scheme (`gs://`, `s3://`, `ram://`, ...): handled by tf.io.gfile."""
    return SCHEME_SEP in str(path)


def _gfile():
    import tensorflow as tf  # lazy: a local path never needs TensorFlow here

    return tf.io.gfile


def abspath(path):
    """`os.path.abspath` for a local path; a remote path is already absolute."""
    return str(path) if is_remote(path) else os.path.abspath(path)


def exists(path):
    return _gfile().exists(path) if is_remote(path) else os.path.exists(path)


def isdir(path):
    return _gfile().isdir(path) if is_remote(path) else os.path.isdir(path)


def isfile(path):
    if is_remote(path):
        return _gfile().exists(path) and not _gfile().isdir(path)
    return os.path.isfile(path)


def makedirs(path):
    """Create `path` and its parents; no error when it exists."""
    if is_remote(path):
        _gfile().makedirs(path)
    else:
        os.makedirs(path, exist_ok=True)


def listdir(path):
    """Entry names of a folder (no trailing slashes), sorted."""
    if is_remote(path):
        return sorted(n.rstrip("/") for n in _gfile().listdir(path))
    return sorted(os.listdir(path))


def glob(folder, pattern):
    """Paths of the entries of `folder` whose NAME matches the shell pattern `pattern`, sorted.

    The folder is taken literally: a run dir named `runs/apgan[lr0.004]` is a path, not a
    pattern (a glob over the joined path would match nothing there, or another folder).
    A missing folder matches nothing."""
    if not isdir(folder):
        return []
    return [os.path.join(folder, name) for name in listdir(folder)
            if fnmatch.fnmatchcase(name, pattern)]


def literal(name):
    """`name` escaped for `glob`'s pattern: `[`, `*` and `?` in it match themselves."""
    return _glob.escape(name)


# TensorFlow's checkpoint reader and manager take a path as a glob pattern internally (no escape):
# a checkpoint under `runs/apgan[lr0.004]` is reported unreadable, old ones are never rotated.
PATTERN_CHARACTERS = "[]*?"


def refuse_pattern_characters(path, flag):
    """UserError (one line, before anything is written) when `path`, the value of `--flag`, holds
    a character TensorFlow's checkpoint functions would read as a pattern."""
    found = [c for c in PATTERN_CHARACTERS if c in str(path)]
    if found:
        from pgan_tf.errors import UserError

        raise UserError(f"--{flag}={path}: TensorFlow's checkpoint files cannot live under a path "
                        f"holding {' '.join(found)} (it reads them as a pattern); use a path "
                        "without [ ] * ?")


def size(path):
    """Size of a file in bytes."""
    return _gfile().stat(path).length if is_remote(path) else os.path.getsize(path)


def remove(path):
    """Delete one file; no error when it is already gone."""
    try:
        _gfile().remove(path) if is_remote(path) else os.remove(path)
    except not_found_errors():
        pass


def rmtree(path):
    """Delete a folder and everything in it; no error when it is already gone."""
    if is_remote(path):
        try:
            _gfile().rmtree(path)
        except not_found_errors():  # also `ram://`, which reports any name prefix as existing
            pass
    else:
        shutil.rmtree(path, ignore_errors=True)


def rename(src, dst, overwrite=False):
    """Move a file or folder (atomic on local file systems). `overwrite` replaces a file `dst`."""
    if is_remote(src) or is_remote(dst):
        if _gfile().isdir(src):
            _rename_tree(src, dst)
        else:
            _gfile().rename(src, dst, overwrite=overwrite)
    elif overwrite:
        os.replace(src, dst)
    else:
        if os.path.exists(dst):
            raise FileExistsError(f"{dst} exists")
        os.rename(src, dst)


def _rename_tree(src, dst):
    """A folder rename file by file: object stores have no folders to rename (and `ram://` renames
    only the folder entry); each file's rename is a copy + delete there anyway."""
    gfile = _gfile()
    if gfile.exists(dst):
        raise FileExistsError(f"{dst} exists")
    for here, _, names in gfile.walk(src):
        rel = here[len(src.rstrip("/")):].lstrip("/")
        target = os.path.join(dst, rel) if rel else dst
        gfile.makedirs(target)
        for name in names:
            gfile.rename(os.path.join(here, name), os.path.join(target, name), overwrite=True)
    gfile.rmtree(src)


def read_bytes(path):
    if is_remote(path):
        with _gfile().GFile(path, "rb") as f:
            return f.read()
    with open(path, "rb") as f:
        return f.read()


def read_text(path):
    return read_bytes(path).decode("utf-8")


def write_bytes(path, data):
    """Write a whole file (not atomic: for files inside a staging folder)."""
    if is_remote(path):
        with _gfile().GFile(path, "wb") as f:
            f.write(data)
    else:
        with open(path, "wb") as f:
            f.write(data)


def temp_name(path):
    """A temp path beside `path` for write-then-rename: `.<name>.tmp<pid>`. Never `<name>.tmp`:
    `ram://` (like a bucket listing) reports every name prefix as existing, so `<name>` would
    seem to exist while its temp file does."""
    parent, name = os.path.split(str(path).rstrip("/"))
    return os.path.join(parent, f".{name}.tmp{os.getpid()}")


def write_atomic(path, data):
    """Write `data` (bytes or str, UTF-8) to `path` via a temp file beside it and a rename, so a
    reader never sees half a file; creates the parent folder."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    parent = os.path.dirname(str(path))
    if parent:
        makedirs(parent)
    tmp = temp_name(path)
    try:
        write_bytes(tmp, data)
        rename(tmp, path, overwrite=True)
    except BaseException:
        remove(tmp)
        raise


def write_json(path, data, default=None):
    """Write `data` as indented JSON (UTF-8, final newline) to `path` atomically (`write_atomic`).
    `default`: `json.dumps`'s hook for values JSON does not know (NumPy arrays, ...)."""
    write_atomic(path, json.dumps(data, indent=2, default=default) + "\n")


def read_json(path, hint):
    """The JSON value in `path`. A missing, unreadable or unparsable file is one `UserError` line
    naming `path`, the reason and `hint` (what the user should do)."""
    try:
        return json.loads(read_text(path))
    except (OSError, ValueError) + not_found_errors() as err:
        raise UserError(f"{path} is unreadable ({err}); {hint}") from None


@contextlib.contextmanager
def staged_dir(path):
    """Build a folder beside `path` and swap it in: yields a new temp folder `.<name>.tmp-*` in
    `path`'s parent; on success an existing `path` is moved aside, the temp folder renamed to
    `path`, and the old one removed; on failure the temp folder is removed and `path` is
    untouched. Whether an existing `path` may be replaced is the caller's check. Any path."""
    path = abspath(path).rstrip("/")
    parent, name = os.path.split(path)
    makedirs(parent)
    tmp = make_temp_dir(parent, f".{name}.tmp-")
    try:
        yield tmp
    except BaseException:
        rmtree(tmp)
        raise
    old = None
    if isdir(path):
        old = make_temp_dir(parent, f".{name}.old-")
        rename(path, os.path.join(old, "previous"))
    rename(tmp, path)
    if old:
        rmtree(old)


def make_temp_dir(parent, prefix):
    """A new, uniquely named folder in `parent` with normal permissions (not mkdtemp's 0700)."""
    if is_remote(parent):
        path = os.path.join(parent, prefix + uuid.uuid4().hex[:12])
        makedirs(path)
        return path
    path = tempfile.mkdtemp(prefix=prefix, dir=parent)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, 0o777 & ~umask)
    return path


@contextlib.contextmanager
def local_atomic_path(path, flag, suffix=""):
    """For writers that can only write a local file (Keras `.weights.h5` through h5py): yields a
    temp path beside `path` (ending in `suffix`: Keras picks the format by the file name), renamed
    to `path` when the block succeeds, removed when it fails. A remote `path` is refused in one
    line naming `flag` before anything is written."""
    if is_remote(path):
        raise UserError(f"{flag}={path}: must be a local path (this file is written with h5py, "
                        "which writes local files only); copy it to the bucket afterwards")
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.tmp-", suffix=suffix, dir=folder)
    os.close(fd)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def append_text(path, text):
    """Append to a text file (log.txt). On object stores an append rewrites the object."""
    if is_remote(path):
        with _gfile().GFile(path, "a") as f:
            f.write(text)
    else:
        with open(path, "a", encoding="utf-8") as f:
            f.write(text)


def not_found_errors():
    """The exceptions of a missing file: FileNotFoundError, and tf.errors.NotFoundError once
    TensorFlow is loaded (remote paths load it)."""
    import sys

    tf = sys.modules.get("tensorflow")
    return (FileNotFoundError,) + ((tf.errors.NotFoundError,) if tf is not None else ())


def file_sha256(path):
    """Hex sha256 of a local file's bytes, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@contextlib.contextmanager
def socket_timeout(seconds):
    """Bound every blocking socket operation meanwhile (urllib has no timeout by default), so a
    download fails at once offline instead of hanging."""
    saved = socket.getdefaulttimeout()
    socket.setdefaulttimeout(seconds)
    try:
        yield
    finally:
        socket.setdefaulttimeout(saved)
