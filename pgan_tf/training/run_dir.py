"""The run directory's identity: `config.json` (config, classes, dataset hash, provenance).

A new run writes it first thing (atomically); rerunning on an existing run dir checks that the
architecture and data contract are unchanged (refused with the differing fields listed), refuses
a dataset whose hash changed unless `--allow_dataset_change` (then warns), and rewrites it with
the new cadence fields (`total_kimg`, ticks and snapshots may change on resume).
"""
import datetime
import os
import platform
import subprocess
import sys

from pgan_tf import __version__, disk, fileio
from pgan_tf.config import diff_architecture
from pgan_tf.dirlock import LOCK_FILE, DirLock
from pgan_tf.errors import UserError

CONFIG_FILE = "config.json"
# Where pgan-train keeps its checkpoints, named ckpt-<images seen> (`checkpoint_index`, which loads
# TensorFlow and reads them; `checkpoint_numbers` looks at the names only).
CHECKPOINT_FOLDERS = ("checkpoints", os.path.join("checkpoints", "milestones"))


def provenance():
    """Package versions, Python, host, git commit of the code and the command line."""
    import importlib.metadata as md

    versions = {}
    for name in ("tensorflow", "tensorflow-cpu", "keras", "numpy", "Augmentor", "scikit-image"):
        try:
            versions[name] = md.version(name)
        except md.PackageNotFoundError:
            continue
    return {
        "pgan_tf": __version__,
        "packages": versions,
        "python": platform.python_version(),
        "host": platform.node(),
        "git_commit": _git_commit(),
        "command": sys.argv,
        "time": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }


def _git_commit():
    here = os.path.dirname(os.path.abspath(__file__))
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True,
                             timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def read_run_config(run_dir):
    """The saved `config.json` of a run dir as a dict, or None when there is none."""
    path = os.path.join(run_dir, CONFIG_FILE)
    if not fileio.isfile(path):
        return None
    return fileio.read_json(path, "restore it or use a new --run_dir")


def checkpoint_numbers(run_dir):
    """Sorted images-seen counts N of the `ckpt-N.index` files of a run's rolling and milestone
    folders (file names only, no TensorFlow: for checks before TensorFlow is imported)."""
    found = set()
    for folder in CHECKPOINT_FOLDERS:
        for path in fileio.glob(os.path.join(run_dir, folder), "ckpt-*.index"):
            number = os.path.basename(path)[len("ckpt-"):-len(".index")]
            if number.isdigit():
                found.add(int(number))
    return sorted(found)


def prepare_run_dir(config, class_names, dataset_sha256):
    """Create or re-open the run dir; returns True when resuming an existing run.

    Raises UserError for a foreign non-empty directory or an architecture/data change.
    """
    run_dir = config.run_dir
    saved = read_run_config(run_dir)
    resuming = saved is not None
    if resuming:
        _check_compatible(saved, config, class_names, dataset_sha256)
    elif fileio.isdir(run_dir) and set(fileio.listdir(run_dir)) - {LOCK_FILE}:
        raise UserError(f"--run_dir={run_dir} is not empty and holds no {CONFIG_FILE}; "
                        "choose a new or empty directory")
    _makedirs(run_dir)
    record = {
        "config": config.to_dict(),
        "classes": list(class_names),
        "dataset_sha256": dataset_sha256,
        "provenance": provenance(),
    }
    if resuming:
        record["first_provenance"] = saved.get("first_provenance", saved.get("provenance"))
    fileio.write_json(os.path.join(run_dir, CONFIG_FILE), record)
    return resuming


def open_run_dir(config, class_names, dataset_sha256):
    """Take the run dir's writer lock `RUN/.lock`, then `prepare_run_dir`; returns the held
    `DirLock` (released again when preparing fails). See `dirlock`: a second trainer refuses in
    one line naming the first; a stale lock of a killed process is taken over with a warning."""
    _makedirs(config.run_dir)
    lock = DirLock(os.path.join(config.run_dir, LOCK_FILE), "training").acquire()
    try:
        prepare_run_dir(config, class_names, dataset_sha256)
    except BaseException:
        lock.release()
        raise
    return lock


def _makedirs(run_dir):
    try:
        fileio.makedirs(run_dir)
    except Exception as err:  # noqa: BLE001  OSError locally, tf.errors.OpError on gs:// etc.
        failure = disk.write_failure(err)
        if failure:  # read-only mount or full disk: an I/O condition (exit 74), not bad input
            raise disk.WriteError(f"--run_dir={run_dir}: cannot create it ({failure[0]})") \
                from None
        why = getattr(err, "strerror", None) or str(err).splitlines()[0]
        raise UserError(f"--run_dir={run_dir}: cannot create it ({why})") from None


def _check_compatible(saved, config, class_names, dataset_sha256):
    old = saved.get("config", {})
    changed = diff_architecture(old, config.to_dict())
    if list(saved.get("classes", [])) != list(class_names):
        changed.append(("classes", saved.get("classes"), list(class_names)))
    if changed:
        fields = "; ".join(f"{k}: {a!r} -> {b!r}" for k, a, b in changed)
        raise UserError(f"--run_dir={config.run_dir} was trained with another architecture or "
                        f"classes ({fields}); use a new --run_dir or the original flags")
    if saved.get("dataset_sha256") != dataset_sha256:
        change = f"sha256 {saved.get('dataset_sha256')} -> {dataset_sha256}"
        if not config.allow_dataset_change:
            raise UserError(f"--data_dir={config.data_dir} is not the dataset --run_dir="
                            f"{config.run_dir} was trained on ({change}); use that dataset, a new "
                            "--run_dir, or --allow_dataset_change to resume on this one")
        print(f"warning: the dataset changed since this run started ({change}); resuming on it "
              "(--allow_dataset_change)", file=sys.stderr)

