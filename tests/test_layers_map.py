"""The layer table of docs/architecture.md against the package's real imports (parsed with `ast`,
imports inside functions included): a module imports only from its own floor or below, except
`__version__` from `pgan_tf`."""
import ast
import os
import re

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = os.path.join(REPO, "pgan_tf")
ARCHITECTURE = os.path.join(REPO, "docs", "architecture.md")


def read_floors(text):
    """The '## Layers' table -> [(floor name, [module or package names])], top floor first."""
    section = text.split("## Layers", 1)[1].split("\n## ", 1)[0]
    floors = []
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not line.startswith("|") or len(cells) != 2 or set(cells[0]) <= set("-: "):
            continue
        names = re.findall(r"`(pgan_tf(?:\.\w+)*)`", cells[1])
        if names:
            floors.append((cells[0], names))
    return floors


def module_name(path):
    rel = os.path.relpath(path, REPO)[:-len(".py")].split(os.sep)
    return ".".join(rel[:-1] if rel[-1] == "__init__" else rel)


def package_modules():
    """{module name: file path} of every .py file under pgan_tf/."""
    found = {}
    for folder, _, files in os.walk(PACKAGE):
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                found[module_name(path)] = path
    return found


def imports_of(path, modules):
    """Every pgan_tf module `path` imports, as (module, imported name or None, line)."""
    tree = ast.parse(open(path, encoding="utf-8").read(), filename=path)
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(a.name, None, node.lineno) for a in node.names if a.name.split(".")[0] == "pgan_tf"]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module \
                and node.module.split(".")[0] == "pgan_tf":
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                # `from pgan_tf.data import pipeline` imports the submodule pgan_tf.data.pipeline.
                out.append((sub, None, node.lineno) if sub in modules
                           else (node.module, alias.name, node.lineno))
        elif isinstance(node, ast.ImportFrom) and node.level:
            out.append(("<relative>", None, node.lineno))
    return out


def floor_of(module, floors):
    """Index of the floor whose most specific entry holds `module` (0 = top), or None."""
    best = None
    for index, (_, names) in enumerate(floors):
        for name in names:
            if module == name or module.startswith(name + "."):
                if best is None or len(name) > len(best[1]):
                    best = (index, name)
    return None if best is None else best[0]


def test_the_table_reads_as_the_documented_floors():
    floors = read_floors(open(ARCHITECTURE, encoding="utf-8").read())
    assert [name for name, _ in floors] == [
        "entry points", "binaries", "applications", "drivers", "training", "data",
        "metrics and config", "model", "infrastructure"]
    assert floor_of("pgan_tf.training.loop", floors) == 4
    assert floor_of("pgan_tf", floors) == 0
    assert floor_of("pgan_tf.fileio", floors) == 8


def test_every_module_sits_on_a_floor():
    floors = read_floors(open(ARCHITECTURE, encoding="utf-8").read())
    missing = sorted(m for m in package_modules() if floor_of(m, floors) is None)
    assert not missing, f"add these modules to the table in docs/architecture.md: {missing}"


def test_no_import_points_up_the_layers():
    floors = read_floors(open(ARCHITECTURE, encoding="utf-8").read())
    modules = package_modules()
    upward = []
    for module, path in sorted(modules.items()):
        own = floor_of(module, floors)
        for target, name, line in imports_of(path, modules):
            assert target != "<relative>", f"{path}:{line}: use absolute pgan_tf imports"
            if target == "pgan_tf" and name == "__version__":
                continue  # the one listed exception
            if floor_of(target, floors) < own:
                upward.append(f"{module}:{line} imports {target}{'.' + name if name else ''}")
    assert not upward, "imports pointing up the layers:\n" + "\n".join(upward)


@pytest.mark.parametrize("source, expected", [
    ("from pgan_tf.training import loop\n", "up"),          # model may not reach training
    ("def f():\n    import pgan_tf.cli.train\n", "up"),     # in-function imports count too
    ("from pgan_tf import __version__\n", "ok"),            # the exception
    ("from pgan_tf import fileio\n", "ok"),                 # infrastructure is below
])
def test_the_check_catches_an_upward_import(tmp_path, source, expected):
    floors = read_floors(open(ARCHITECTURE, encoding="utf-8").read())
    path = tmp_path / "probe.py"
    path.write_text(source)
    modules = package_modules()
    own = floor_of("pgan_tf.model.layers", floors)
    bad = [t for t, n, _ in imports_of(str(path), modules)
           if not (t == "pgan_tf" and n == "__version__") and floor_of(t, floors) < own]
    assert ("up" if bad else "ok") == expected
