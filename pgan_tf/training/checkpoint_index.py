"""The checkpoints of a run and the one meaning of "latest": the newest READABLE checkpoint.

A run keeps rolling checkpoints in `RUN/checkpoints/` and milestones in
`RUN/checkpoints/milestones/`, each folder listed by TensorFlow's `checkpoint` state file. Every
consumer — resume (`checkpoint.Checkpointer`), the end-of-run SavedModel export, export_samples,
evaluate, the augmentation experiment — resolves "latest" through `newest_readable`: checkpoints
ordered by images seen (the number in `ckpt-<images>`; never file modification times, which
object stores and `ram://` do not give), newest first, each validated by reading every tensor.

The checkpoints of a folder are those its state file lists AND the complete `ckpt-N` files in it
(`on_disk`): a run copied without its state file, or one whose state file is empty or garbled,
keeps every checkpoint. A save killed midway is recognised by TensorFlow's own marker, the
`ckpt-N_temp` folder it writes the shards into (`is_partial`), never by absence from the state
file. The writer rebuilds a damaged state file from the files at start (`rebuild_state`).

Quarantine, never delete: a checkpoint found unreadable is moved to `RUN/checkpoints/unreadable/`,
removed from its folder's state file and named in one warning, so it is never chosen again; a user
may still try to recover it from there. When every checkpoint of a run was found unreadable the
run is refused (rather than silently started over).

Superseded checkpoints: after a resume from N images, a listed checkpoint newer than N can only
come from the damaged timeline (the newest readable one was chosen, so newer ones were unreadable
or their files are gone). They are moved to `RUN/checkpoints/superseded/` and unlisted, not kept
as milestones: the resumed run will write new checkpoints with the same numbers, and two sets of
weights under one image count would make "newest" and "checkpoint at kimg X" ambiguous.
"""
import os
import sys

import tensorflow as tf
from google.protobuf import text_format
from tensorflow.python.training.checkpoint_state_pb2 import CheckpointState

from pgan_tf import fileio
from pgan_tf.errors import UserError

CHECKPOINT_DIR = "checkpoints"
MILESTONE_DIR = "milestones"
UNREADABLE_DIR = "unreadable"
SUPERSEDED_DIR = "superseded"
STATE_FILE = "checkpoint"  # TensorFlow's CheckpointState file in each checkpoint folder


def folders(run_dir):
    """(rolling folder, milestone folder) of a run."""
    rolling = os.path.join(run_dir, CHECKPOINT_DIR)
    return rolling, os.path.join(rolling, MILESTONE_DIR)


def images_of(path):
    """Images seen of a checkpoint prefix `.../ckpt-<images>`."""
    return int(path.rsplit("-", 1)[-1])


def _parse_state(folder):
    """(TensorFlow's CheckpointState of `folder`, None) or (None, "missing" | "empty" |
    "unparsable"). Never raises for the content (TensorFlow's own reader raises for an empty
    file and ignores a garbled one)."""
    path = os.path.join(folder, STATE_FILE)
    if not fileio.isfile(path):
        return None, "missing"
    try:
        text = fileio.read_text(path)
    except (OSError, UnicodeDecodeError, tf.errors.OpError):
        return None, "unparsable"
    if not text.strip():
        return None, "empty"
    state = CheckpointState()
    try:
        text_format.Merge(text, state)
    except text_format.ParseError:
        return None, "unparsable"
    return (state, None) if state.model_checkpoint_path else (None, "unparsable")


def read_state(folder):
    """(prefixes the folder's state file lists, oldest first, as paths in `folder`; problem):
    `problem` is None for a good state file, else why it is not usable (`_parse_state`)."""
    state, problem = _parse_state(folder)
    # The state file may hold paths relative to the training's working directory.
    return [os.path.join(folder, os.path.basename(p))
            for p in (state.all_model_checkpoint_paths if state else [])], problem


def _listed(folder):
    """Checkpoint prefixes the folder's state file lists (none when it is not usable)."""
    return read_state(folder)[0]


def is_partial(path):
    """True when TensorFlow was killed while writing checkpoint `path`: its own marker, the
    `<prefix>_temp` folder the shards are written to, is still there (TensorFlow deletes it
    only after the checkpoint's `.index` is complete)."""
    return fileio.exists(path + "_temp")


def on_disk(folder):
    """Prefixes of the complete checkpoints in `folder` by their files, oldest first: a
    `ckpt-<N>.index` without a partial-save marker, listed or not."""
    found = []
    for path in fileio.glob(folder, "ckpt-*.index"):
        prefix = path[:-len(".index")]
        if os.path.basename(prefix)[len("ckpt-"):].isdigit() and not is_partial(prefix):
            found.append(prefix)
    return sorted(found, key=images_of)


def _known(folder):
    """Listed checkpoints whose index exists plus the complete ones on disk, oldest first."""
    listed = [p for p in _listed(folder) if fileio.exists(p + ".index")]
    return sorted(set(listed) | set(on_disk(folder)), key=images_of)


def candidates(run_dir):
    """[(images seen, prefix)] of every checkpoint of the run, listed or not (`_known`), newest
    first; for equal counts the rolling checkpoint comes before the milestone."""
    out = []
    for rank, folder in enumerate(folders(run_dir)):
        out += [(images_of(p), rank, p) for p in _known(folder)]
    return [(n, p) for n, _, p in sorted(out, key=lambda t: (-t[0], t[1]))]


def rebuild_state(folder):
    """Make `folder`'s state file list every complete checkpoint in it (the writer, at start).

    A missing, empty or unparsable state file is rebuilt from the `ckpt-N` files, with one
    warning; a good one gains the complete checkpoints it does not list (a save killed after
    its files were complete but before the state file was updated). Without this TensorFlow's
    manager would ignore those checkpoints (or, for an empty file, fail)."""
    listed, problem = read_state(folder)
    found = on_disk(folder)
    if problem is None and set(found) <= set(listed) or problem is not None and not found:
        return
    # Listed entries whose files are gone stay: TensorFlow's rotation deletes what is left of
    # them (a rotation killed between a checkpoint's .index and its data files).
    merged = sorted(set(listed) | set(found), key=images_of)
    if problem is not None:
        names = ", ".join(os.path.basename(p) for p in merged)
        print(f"warning: {os.path.join(folder, STATE_FILE)} is {problem}; rebuilt the checkpoint "
              f"list from the checkpoint files ({names})", file=sys.stderr, flush=True)
    _write_state(folder, [os.path.basename(p) for p in merged])


def _write_state(folder, names, stamps=(), last_preserved=None):
    """Write `folder`'s state file listing `names` (oldest first; relative paths), atomically."""
    lines = [f'model_checkpoint_path: "{names[-1]}"']
    lines += [f'all_model_checkpoint_paths: "{n}"' for n in names]
    if len(stamps) == len(names):
        lines += [f"all_model_checkpoint_timestamps: {t!r}" for t in stamps]
    if last_preserved:
        lines.append(f"last_preserved_timestamp: {last_preserved!r}")
    fileio.write_atomic(os.path.join(folder, STATE_FILE), "\n".join(lines) + "\n")


def list_checkpoints(run_dir):
    """{images_seen: prefix} of every checkpoint, listed or not (rolling preferred over a
    milestone)."""
    found = {}
    for number, path in candidates(run_dir):
        found.setdefault(number, path)
    return dict(sorted(found.items()))


def validate_checkpoint(path):
    """Read every tensor of a checkpoint; returns None if fine, else a short description.

    Errors of access rather than content (storage unreachable, permission denied, ...) raise
    UserError instead: a good checkpoint must not be quarantined because a bucket was offline.
    """
    try:
        # The reader directly, not tf.train.load_checkpoint: that one takes `path` for a folder
        # when the file system says so, and `ram://` calls every name prefix a folder.
        reader = tf.compat.v1.train.NewCheckpointReader(path)
        for name in reader.get_variable_to_shape_map():
            reader.get_tensor(name)
    except _ACCESS_ERRORS as err:
        raise UserError(f"cannot read checkpoint {path} ({_short(err)}); check access to its "
                        "storage and retry") from None
    except Exception as err:  # noqa: BLE001  corrupt files raise OpError, IndexError, ValueError...
        return _short(err)
    return None


_ACCESS_ERRORS = (tf.errors.UnavailableError, tf.errors.DeadlineExceededError,
                  tf.errors.PermissionDeniedError, tf.errors.UnauthenticatedError,
                  tf.errors.CancelledError, tf.errors.AbortedError)


def _short(err):
    text = str(err).strip()
    return f"{type(err).__name__}: {text.splitlines()[0][:200] if text else ''}"


def newest_readable(run_dir, move=True, accept=None):
    """(images seen, prefix) of the newest readable checkpoint of `run_dir`, or None if it has
    none. Unreadable ones met on the way are quarantined (`move`; a non-chief worker only skips
    them: the chief moves them). `accept(prefix)`: None, or why a readable checkpoint is still
    unusable (a reader's restore into its model), then treated as unreadable. UserError when
    checkpoints existed but none is readable."""
    tried = candidates(run_dir)
    for number, path in tried:
        problem = validate_checkpoint(path) or (accept(path) if accept else None)
        if problem is None:
            return number, path
        if move:
            quarantine(path, problem)
        else:
            print(f"warning: checkpoint {path} is unreadable ({problem}); skipped",
                  file=sys.stderr, flush=True)
    unreadable = os.path.join(folders(run_dir)[0], UNREADABLE_DIR)
    if tried or (fileio.isdir(unreadable) and fileio.listdir(unreadable)):
        raise UserError(f"no readable checkpoint in {folders(run_dir)[0]} (unreadable ones are "
                        f"moved to {unreadable}); move the run dir away to start over")
    return None


def checked(path, move=True):
    """`path` if readable, else quarantine it (`move`) and raise UserError (an explicitly chosen
    kimg)."""
    problem = validate_checkpoint(path)
    if problem is None:
        return path
    dest = quarantine(path, problem) if move else None
    where = f"moved to {dest}" if dest else "left in place"
    raise UserError(f"checkpoint {path} is unreadable ({problem}); {where}; choose another "
                    "--checkpoint")


def quarantine(path, problem, kind=UNREADABLE_DIR):
    """Move a checkpoint's files to `checkpoints/<kind>/`, unlist it; one warning. Returns the
    new prefix. Files already gone (a concurrent rotation) are not an error. A checkpoint that
    vanished, or whose run dir this process cannot write (a reader of a read-only copy), is
    skipped with a warning and left as it is: returns None."""
    folder = os.path.dirname(path)
    why = f"is unreadable ({problem})" if kind == UNREADABLE_DIR else f"is {problem}"
    if not fileio.exists(path + ".index"):
        print(f"warning: checkpoint {path} {why}: its files are gone (removed by the trainer's "
              "rotation?); skipped", file=sys.stderr, flush=True)
        return None
    if not fileio.is_remote(folder) and not os.access(folder, os.W_OK):
        print(f"warning: checkpoint {path} {why}; skipped and left in place ({folder} is not "
              "writable)", file=sys.stderr, flush=True)
        return None
    rolling = folder[:-len(MILESTONE_DIR) - 1] if os.path.basename(folder) == MILESTONE_DIR \
        else folder
    dest_dir = os.path.join(rolling, kind)
    fileio.makedirs(dest_dir)
    name = os.path.basename(path)
    dest, n = os.path.join(dest_dir, name), 1
    while fileio.glob(dest_dir, fileio.literal(os.path.basename(dest)) + ".*"):
        n += 1  # the same count may be quarantined twice: never overwrite
        dest = os.path.join(dest_dir, f"{name}.copy{n}")
    for file in fileio.glob(folder, fileio.literal(name) + ".*"):
        try:
            fileio.rename(file, dest + file[len(path):])
        except (FileNotFoundError, tf.errors.NotFoundError):
            continue
    _unlist(folder, name)  # after the move: unlisted files left in the folder would be deleted
    print(f"warning: checkpoint {path} {why}; moved to {dest} (kept, never used again)",
          file=sys.stderr, flush=True)
    return dest


def supersede_newer(run_dir, images_seen):
    """After a resume from `images_seen`: move every listed checkpoint newer than it to
    `checkpoints/superseded/` (module docstring) and unlist entries whose files are gone."""
    moved = []
    for folder in folders(run_dir):
        for path in sorted(set(_listed(folder)) | set(on_disk(folder)), key=images_of):
            if images_of(path) <= images_seen:
                continue
            if fileio.exists(path + ".index"):
                moved.append(quarantine(path, f"newer than the resumed kimg "
                                              f"{images_seen / 1000:g}", SUPERSEDED_DIR))
            else:
                _unlist(folder, os.path.basename(path))
    return moved


def _unlist(folder, name):
    """Rewrite `folder`'s state file without checkpoint `name` (atomically; relative paths)."""
    state, _ = _parse_state(folder)
    if state is None:
        return
    paths = [os.path.basename(p) for p in state.all_model_checkpoint_paths]
    stamps = list(state.all_model_checkpoint_timestamps)
    keep = [i for i, p in enumerate(paths) if p != name]
    if len(keep) == len(paths):
        return
    if not keep:
        fileio.remove(os.path.join(folder, STATE_FILE))
        return
    _write_state(folder, [paths[i] for i in keep],
                 [stamps[i] for i in keep] if len(stamps) == len(paths) else (),
                 state.last_preserved_timestamp)


def readable_checkpoints(run_dir, move=True):
    """{images_seen: prefix} of every listed checkpoint that reads; unreadable ones are
    quarantined on the way (`move`; else skipped with a warning) (evaluate --checkpoints=all)."""
    out = {}
    for number, path in list_checkpoints(run_dir).items():
        problem = validate_checkpoint(path)
        if problem is None:
            out[number] = path
        elif move:
            quarantine(path, problem)
        else:
            print(f"warning: checkpoint {path} is unreadable ({problem}); skipped",
                  file=sys.stderr, flush=True)
    return out
