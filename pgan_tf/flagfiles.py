"""Nested absl flagfiles whose `--flagfile=` lines resolve relative to the including file.

absl reads a nested `--flagfile=` path relative to the working directory, so `flags/demo.cfg` nesting
`apgan_ttur.cfg` would only work from one folder. We expand flagfiles ourselves before absl parses
argv: each file's lines become arguments in place (later values win, as in absl), nested paths are
resolved against the including file's folder, and `#`/`//` comment lines and blank lines are dropped.

The paper's flagfiles (pgan, apgan, apgan_ttur, demo, demo_eval) are package data in `PACKAGE_DIR`,
so an installed wheel has them; a clone's `flags/*.cfg` are one-line files that include these.
"""
import os

from pgan_tf.errors import UserError

_PREFIXES = ("--flagfile=", "-flagfile=")
_MAX_DEPTH = 16  # deeper nesting is a cycle in practice
# The shipped flagfiles: pgan_tf/flags/ (setup.py package_data), wherever the package is installed.
PACKAGE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "flags")


def expand_flagfiles(argv):
    """Return argv with every `--flagfile=PATH` replaced by the arguments it contains."""
    out = [argv[0]] if argv else []
    rest = argv[1:]
    i = 0
    while i < len(rest):
        arg = rest[i]
        if arg in ("--flagfile", "-flagfile") and i + 1 < len(rest):
            out.extend(_read(rest[i + 1], base_dir=os.getcwd(), depth=0, chain=()))
            i += 2
            continue
        path = _flagfile_path(arg)
        if path is None:
            out.append(arg)
        else:
            out.extend(_read(path, base_dir=os.getcwd(), depth=0, chain=()))
        i += 1
    return out


def _flagfile_path(arg):
    for prefix in _PREFIXES:
        if arg.startswith(prefix):
            return arg[len(prefix):]
    return None


def _packaged_hint(path, depth):
    """After a pip install (no clone) `flags/apgan_ttur.cfg` is not in the working directory: name
    the copy inside the installed package, or the folder that holds the shipped flagfiles."""
    if depth:
        return ""
    packaged = os.path.join(PACKAGE_DIR, os.path.basename(path))
    if os.path.isfile(packaged):
        return f"; the flagfiles ship inside the installed package: --flagfile={packaged}"
    shipped = ", ".join(sorted(n for n in os.listdir(PACKAGE_DIR) if n.endswith(".cfg"))) \
        if os.path.isdir(PACKAGE_DIR) else ""
    return f"; the package's own flagfiles ({shipped}) are in {PACKAGE_DIR}" if shipped else ""


def _read(path, base_dir, depth, chain):
    full = os.path.normpath(os.path.join(base_dir, os.path.expanduser(path)))
    where = f" (included from {chain[-1]})" if chain else ""
    if depth > _MAX_DEPTH or full in chain:
        raise UserError(f"--flagfile={path}: nesting cycle{where}")
    try:
        with open(full, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except OSError as err:
        raise UserError(f"--flagfile={path}: cannot read {full}: {err.strerror}{where}"
                        f"{_packaged_hint(path, depth)}") from None
    args = []
    for line in lines:
        line = line.strip()
        if not line or line.startswith("#") or line.startswith("//"):
            continue
        nested = _flagfile_path(line)
        if nested is None:
            args.append(line)
        else:
            args.extend(_read(nested, os.path.dirname(full), depth + 1, chain + (full,)))
    return args
