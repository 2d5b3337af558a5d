"""Build the project's wheel from a clean copy of the tree, offline.

The copy is `git archive` of a tree object made from the working tree (tracked files with their
uncommitted edits, plus new files git does not ignore) through a throw-away index, so the wheel
tests what a developer is about to commit while stale `build/` or `*.egg-info` folders (ignored by
.gitignore) cannot leak into it. The real index and working tree are never touched.
"""
import glob
import io
import os
import subprocess
import sys
import tarfile
import zipfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def is_git_checkout():
    """True when REPO is a git work tree (a source copy without .git cannot be archived)."""
    out = subprocess.run(["git", "rev-parse", "--is-inside-work-tree"], cwd=REPO,
                         capture_output=True, text=True, check=False)
    return out.returncode == 0 and out.stdout.strip() == "true"


def working_tree_id(scratch):
    """Tree object of the working tree, written through a temporary index file in `scratch`."""
    env = dict(os.environ, GIT_INDEX_FILE=os.path.join(scratch, "index"))
    for cmd in (["git", "read-tree", "HEAD"], ["git", "add", "-A", "."]):
        subprocess.run(cmd, cwd=REPO, env=env, check=True, capture_output=True)
    out = subprocess.run(["git", "write-tree"], cwd=REPO, env=env, check=True,
                         capture_output=True, text=True)
    return out.stdout.strip()


def clean_copy(dest, scratch):
    """Extract `git archive` of the working tree into `dest` (created)."""
    tree = working_tree_id(scratch)
    archive = subprocess.run(["git", "archive", "--format=tar", tree], cwd=REPO, check=True,
                             capture_output=True).stdout
    os.makedirs(dest, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(dest, filter="data")
    return dest


def build_wheel(tmp, python=sys.executable):
    """Path of the wheel built offline from a clean copy of the tree under `tmp` (created)."""
    os.makedirs(tmp, exist_ok=True)
    src = clean_copy(os.path.join(tmp, "src"), tmp)
    dist = os.path.join(tmp, "dist")
    subprocess.run([python, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                    "--no-index", "-w", dist, src], check=True, capture_output=True, text=True)
    wheels = glob.glob(os.path.join(dist, "pgan_tf-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


def wheel_file(wheel, suffix):
    """Text of the one member of `wheel` whose name ends with `suffix` (e.g. '.dist-info/METADATA')."""
    with zipfile.ZipFile(wheel) as zf:
        names = [n for n in zf.namelist() if n.endswith(suffix)]
        assert len(names) == 1, (suffix, names)
        return zf.read(names[0]).decode("utf-8")


def wheel_members(wheel):
    """Every file name inside `wheel`."""
    with zipfile.ZipFile(wheel) as zf:
        return zf.namelist()


def build_sdist(tmp, python=sys.executable):
    """Path of the source distribution built offline from a clean copy of the tree under `tmp`."""
    os.makedirs(tmp, exist_ok=True)
    src = clean_copy(os.path.join(tmp, "src"), tmp)
    dist = os.path.join(tmp, "dist")
    subprocess.run([python, "setup.py", "-q", "sdist", "-d", dist], cwd=src, check=True,
                   capture_output=True, text=True)
    found = glob.glob(os.path.join(dist, "pgan_tf-*.tar.gz"))
    assert len(found) == 1, found
    return found[0]


def sdist_members(sdist):
    """File names inside `sdist`, relative to its top folder (pgan_tf-<version>/)."""
    with tarfile.open(sdist) as tar:
        return {name.split("/", 1)[1] for name in tar.getnames() if "/" in name}
