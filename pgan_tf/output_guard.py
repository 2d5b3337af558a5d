"""Nothing deletes what it did not write: the one check of an output path against what a command
reads.

Every binary that writes a folder or file it may replace (`--overwrite` of pgan-export,
pgan-experiment, pgan-prepare, pgan-synthetic; pgan-evaluate's `--output`) calls
`check_output` from its own output check, before anything is written. It refuses, in one line
naming the flag and what to do, an output that

- is, or contains, an input the command reads (a run dir, a data dir, an image folder): replacing
  it would delete that input (`pgan-export --run_dir=R --output_dir=R --overwrite` deleted the
  whole run);
- lies inside one of a run's own folders (`checkpoints/`, `export/`, `tensorboard/`, `grids/`) or
  is one of its files (`config.json`, `log.txt`), whether or not that run is an input;
- is, or (local paths) contains, a pgan_tf run dir (`config.json` beside `checkpoints/`), whether
  or not the command reads it;
- is a symlink whose target is missing (the final rename would fail and leave the finished work
  under a temporary name).

Local paths are compared after resolving symlinks (`os.path.realpath`), so a link to a run dir is
the run dir. Remote paths (`gs://`, ...) are compared as strings. Used by `eval/sample_export.py`,
`eval/experiment.py`, `eval/evaluate.py`, `data/prepare.py` and `data/synthetic.py`.
"""
import os

from pgan_tf import fileio
from pgan_tf.errors import UserError

# A run's own folders and files (training/run_dir.py, training/checkpoint_index.py,
# training/generator.py): nothing but the trainer writes there.
RUN_FOLDERS = ("checkpoints", "export", "tensorboard", "grids")
RUN_FILES = ("config.json", "log.txt", ".lock")
RUN_MARKER = "config.json"


def _resolved(path):
    """The path compared: symlinks resolved (local), trailing slashes dropped (remote)."""
    return str(path).rstrip("/") if fileio.is_remote(path) else os.path.realpath(path)


def _inside(child, parent):
    """True when `child` is `parent` or lies below it (both already `_resolved`)."""
    if fileio.is_remote(child) != fileio.is_remote(parent):
        return False
    return child == parent or child.startswith(parent.rstrip("/") + "/")


def is_run_dir(path):
    """True for a pgan_tf run directory: a `config.json` beside a `checkpoints/` folder."""
    return (fileio.isfile(os.path.join(path, RUN_MARKER))
            and fileio.isdir(os.path.join(path, RUN_FOLDERS[0])))


def _run_part(out):
    """(run dir, its part) when `out` is inside a run's own folder or is one of its files."""
    here = out
    while True:
        parent = os.path.dirname(here)
        if parent == here or not parent or parent.endswith(":/"):
            return None
        first = os.path.relpath(out, parent).split(os.sep)[0] if not fileio.is_remote(out) \
            else out[len(parent):].lstrip("/").split("/")[0]
        if (first in RUN_FOLDERS or (first in RUN_FILES and here == out)) and is_run_dir(parent):
            return parent, first
        here = parent


def check_output(output, inputs=(), flag="--output_dir", sealed=()):
    """Refuse (UserError, nothing touched) an `output` that replacing would destroy something
    read or owned by a run (module docstring). `inputs`: [(flag, path)] of what the command
    reads; `sealed`: [(flag, folder)] inputs the output must not even lie inside (an image folder
    read by file listing: a results file and its PNGs there would join the set). None or empty
    paths are ignored."""
    if not fileio.is_remote(output) and os.path.islink(output) and not os.path.exists(output):
        raise UserError(f"{flag}={output} is a symlink to {os.readlink(output)}, which does not "
                        "exist; remove the link or choose another path")
    out = _resolved(output)
    for in_flag, path in inputs:
        if not path:
            continue
        source = _resolved(path)
        if _inside(source, out):
            what = "is" if source == out else "contains"
            raise UserError(f"{flag}={output} {what} {in_flag}={path}, which this command reads; "
                            "choose an output outside it (nothing was written)")
    for in_flag, path in sealed:
        if path and _inside(out, _resolved(path)):
            raise UserError(f"{flag}={output} is inside {in_flag}={path}, which this command "
                            "reads; choose an output outside it (nothing was written)")
    part = _run_part(out)
    if part is not None:
        raise UserError(f"{flag}={output} is inside the run {part[0]} ({part[1]} belongs to its "
                        "training); choose an output outside the run's own folders")
    run = _run_within(out) if fileio.isdir(out) else None
    if run is not None:
        what = "is a pgan_tf run dir" if run == out else f"contains the pgan_tf run {run}"
        raise UserError(f"{flag}={output} {what}; choose another output (a run is never "
                        "replaced)")


def _run_within(folder):
    """`folder` or the first run dir below it (local; remote: `folder` only), else None."""
    if is_run_dir(folder):
        return folder
    if fileio.is_remote(folder):  # walking a bucket costs a listing per folder: not done
        return None
    for here, names, _ in os.walk(folder):
        for name in names:
            if is_run_dir(os.path.join(here, name)):
                return os.path.join(here, name)
    return None
