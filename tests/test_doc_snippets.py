"""Every name a Python snippet of README.md or docs/*.md imports exists (fast: imports only)."""
import ast
import glob
import importlib
import os
import re

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCS = [os.path.join(REPO, "README.md")] + sorted(glob.glob(os.path.join(REPO, "docs", "*.md")))


def _imports():
    """[(doc, module, name or None)] of the import statements in ```python blocks."""
    found = []
    for path in DOCS:
        with open(path, encoding="utf-8") as f:
            text = f.read()
        for block in re.findall(r"```python\n(.*?)```", text, re.S):
            for node in ast.walk(ast.parse(block)):
                if isinstance(node, ast.Import):
                    found += [(os.path.basename(path), a.name, None) for a in node.names]
                elif isinstance(node, ast.ImportFrom):
                    found += [(os.path.basename(path), node.module, a.name) for a in node.names]
    return found


def test_the_docs_have_python_snippets():
    assert ("README.md", "pgan_tf", None) in _imports()


@pytest.mark.parametrize("doc, module, name", _imports())
def test_every_imported_name_exists(doc, module, name):
    imported = importlib.import_module(module)
    if name is not None and not hasattr(imported, name):
        importlib.import_module(f"{module}.{name}")   # a submodule: from pgan_tf.eval import x
