"""docs/reliability.md's fault tables: every row names the tests that check it (last column,
`tests/<file>.py::<function>`), and every named test exists. Reads files only: milliseconds."""
import ast
import os
import re

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOC = os.path.join(REPO, "docs", "reliability.md")
TEST_REF = re.compile(r"`(tests/[\w/]+\.py)::(\w+)`")


def fault_rows(text):
    """[(row text, test cell)] of every table whose last header cell is "test"."""
    rows, in_table = [], False
    for line in text.splitlines():
        if not line.startswith("|"):
            in_table = False
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not in_table:
            in_table = cells[-1].lower() == "test" and "fault" in cells[0].lower()
            continue
        if not set(line) <= set("|-: "):
            rows.append((line, cells[-1]))
    return rows


def _functions(path):
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read())
    return {node.name for node in ast.walk(tree)
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))}


def missing_tests(rows, repo=REPO):
    """Rows naming no test, or a test file / function that does not exist (messages)."""
    problems, cache = [], {}
    for line, cell in rows:
        refs = TEST_REF.findall(cell)
        if not refs:
            problems.append(f"names no test: {line[:80]}")
        for path, name in refs:
            full = os.path.join(repo, path)
            if full not in cache:
                cache[full] = _functions(full) if os.path.isfile(full) else None
            if cache[full] is None:
                problems.append(f"{path} does not exist ({name})")
            elif name not in cache[full]:
                problems.append(f"{path}::{name} does not exist")
    return problems


def test_every_fault_row_names_tests_that_exist():
    with open(DOC, encoding="utf-8") as f:
        rows = fault_rows(f.read())
    assert len(rows) >= 30  # both tables were found
    assert missing_tests(rows) == []


@pytest.mark.parametrize("cell, problem", [
    ("`tests/test_fault_matrix.py::test_every_fault_row_names_tests_that_exist`", None),
    ("`tests/test_fault_matrix.py::no_such_test`", "no_such_test does not exist"),
    ("`tests/test_nothing_here.py::test_x`", "test_nothing_here.py does not exist"),
    ("(`test_reliability.py`)", "names no test"),
])
def test_the_check_catches_a_wrong_row(cell, problem):
    text = f"| fault | what | test |\n|---|---|---|\n| a fault | done | {cell} |\n"
    problems = missing_tests(fault_rows(text))
    assert (problems == []) if problem is None else (len(problems) == 1 and problem in problems[0])
