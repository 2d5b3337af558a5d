"""The repository's docs hold together: every anchor of docs/design.md cited in code and docs is a
heading of docs/design.md (GitHub's anchor rule), and every Python snippet in README.md and docs/
parses and imports only names that exist (imported, never run)."""
import ast
import importlib
import os
import re

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DESIGN = os.path.join(REPO, "docs", "design.md")
# Folders and top-level files whose text may cite the design notes.
SCANNED_DIRS = ("pgan_tf", "tests", "docs", "flags", "tools", "experiments")
SCANNED_FILES = ("README.md", "BUILD_NOTES.md", "Makefile", "setup.py")
TEXT_SUFFIXES = (".py", ".md", ".cfg", ".sh", ".txt", ".json")
CITATION = re.compile(r"design\.md#([A-Za-z0-9_-]+)")


def github_anchor(heading, seen):
    """GitHub's heading id: lower case, punctuation dropped, spaces to hyphens, -N for repeats."""
    slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
    count = seen.get(slug, 0)
    seen[slug] = count + 1
    return slug if count == 0 else f"{slug}-{count}"


def design_anchors():
    seen, anchors, fenced = {}, set(), False
    for line in open(DESIGN, encoding="utf-8"):
        if line.startswith("```"):
            fenced = not fenced
        match = None if fenced else re.match(r"#{1,6} (.+)", line)
        if match:
            anchors.add(github_anchor(match.group(1), seen))
    return anchors


def scanned_files():
    for name in SCANNED_FILES:
        path = os.path.join(REPO, name)
        if os.path.isfile(path):
            yield path
    for folder in SCANNED_DIRS:
        for root, dirs, files in os.walk(os.path.join(REPO, folder)):
            dirs[:] = [d for d in dirs if not d.startswith((".", "__pycache__"))]
            for name in files:
                if name.endswith(TEXT_SUFFIXES):
                    yield os.path.join(root, name)


def test_github_anchor_rule():
    seen = {}
    assert github_anchor("MS-SSIM, FID and uint8 images", seen) == "ms-ssim-fid-and-uint8-images"
    assert github_anchor("Ticks, snapshots and resume", seen) == "ticks-snapshots-and-resume"
    assert github_anchor("Ticks, snapshots and resume", seen) == "ticks-snapshots-and-resume-1"


def test_every_cited_design_anchor_exists():
    anchors = design_anchors()
    assert "one-training-step-and-one-tick" in anchors and "losses" in anchors
    cited, broken = 0, []
    for path in scanned_files():
        text = open(path, encoding="utf-8", errors="replace").read()
        for match in CITATION.finditer(text):
            cited += 1
            if match.group(1) not in anchors:
                line = text.count("\n", 0, match.start()) + 1
                broken.append(f"{os.path.relpath(path, REPO)}:{line}: #{match.group(1)}")
    # design.md's own in-page links, e.g. [Losses](#losses)
    for anchor in re.findall(r"\]\(#([A-Za-z0-9_-]+)\)", open(DESIGN, encoding="utf-8").read()):
        if anchor not in anchors:
            broken.append(f"docs/design.md: #{anchor}")
    assert cited > 0
    assert not broken, "anchors missing from docs/design.md:\n" + "\n".join(broken)


def python_snippets():
    """(file, first line, code) of every ```python block of README.md and docs/*.md."""
    paths = [os.path.join(REPO, "README.md")] + sorted(
        os.path.join(REPO, "docs", n) for n in os.listdir(os.path.join(REPO, "docs"))
        if n.endswith(".md"))
    for path in paths:
        lines = open(path, encoding="utf-8").read().splitlines()
        start = None
        for number, line in enumerate(lines, 1):
            if start is None and re.match(r"```(python|py)\s*$", line.strip()):
                start = number
            elif start is not None and line.strip() == "```":
                yield os.path.relpath(path, REPO), start, "\n".join(lines[start:number - 1])
                start = None


SNIPPETS = list(python_snippets())


def test_the_docs_have_python_snippets():
    assert SNIPPETS, "no ```python block found; the snippet check below would test nothing"
    assert any(where == "README.md" for where, _, _ in SNIPPETS)  # README's generator example


@pytest.mark.parametrize("where, line, code", SNIPPETS, ids=[f"{w}:{n}" for w, n, _ in SNIPPETS])
def test_snippet_imports_exist(where, line, code):
    tree = ast.parse(code, filename=f"{where}:{line}")
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                importlib.import_module(alias.name)
        elif isinstance(node, ast.ImportFrom):
            module = importlib.import_module(node.module)
            for alias in node.names:
                if not hasattr(module, alias.name):  # a submodule not yet imported
                    importlib.import_module(f"{node.module}.{alias.name}")
