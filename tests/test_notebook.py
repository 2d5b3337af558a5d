"""examples/quickstart.ipynb runs top to bottom against a tiny trained run (slow).

The code cells are executed in order in one namespace, as a Jupyter kernel would run them, so the
check needs no Jupyter installation; the cells' results are then checked.
"""
import json
import os

import numpy as np
import pytest

from tests.eval_fixtures import CLASSES, TINY_RUN, tiny_run

NOTEBOOK = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                        "examples", "quickstart.ipynb")


def _code_cells(path):
    with open(path, encoding="utf-8") as f:
        notebook = json.load(f)
    assert notebook["nbformat"] == 4
    return ["".join(cell["source"]) for cell in notebook["cells"] if cell["cell_type"] == "code"]


@pytest.mark.slow
def test_quickstart_notebook_runs_top_to_bottom(tmp_path_factory, monkeypatch):
    run_dir, _, _ = tiny_run(tmp_path_factory)
    monkeypatch.setenv("PGAN_TF_RUN", run_dir)
    namespace = {"__name__": "__main__"}
    for number, source in enumerate(_code_cells(NOTEBOOK), 1):
        exec(compile(source, f"quickstart.ipynb cell {number}", "exec"), namespace)
    assert list(namespace["per_class"]) == list(CLASSES)
    res = TINY_RUN["resolution"]
    assert all(v.shape == (namespace["PER_CLASS"], res, res, 3) and v.dtype == np.uint8
               for v in namespace["per_class"].values())
    sheet = namespace["sheet"]
    assert sheet.dtype == np.uint8 and sheet.shape[0] >= len(CLASSES) * res
    assert sheet.shape[1] > namespace["PER_CLASS"] * res  # the label margin
    assert tuple(namespace["batch_images"].shape)[1:] == (res, res, 3)
    assert tuple(namespace["batch_labels"].shape)[1:] == (len(CLASSES),)
    assert float(np.max(namespace["batch_images"])) <= 1.0
