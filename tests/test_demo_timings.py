"""`make demo`'s wall times (tools/demo_timings.py): merged into results.json, nothing else moved."""
import importlib.util
import json
import os
import subprocess
import sys

import pytest

from pgan_tf.errors import UserError
from tests.train_helpers import REPO

SCRIPT = os.path.join(REPO, "tools", "demo_timings.py")
_spec = importlib.util.spec_from_file_location("demo_timings", SCRIPT)
demo_timings = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(demo_timings)

ARGS = ["evaluate=61.04", "install=0", "data=12.26", "train=650.1", "export=4.2"]


def _results(tmp_path):
    path = tmp_path / "results.json"
    evaluation = {"gan_test": {"balanced_accuracy": 0.83}, "swd": [1.0, 2.0], "run_dir": "run"}
    path.write_text(json.dumps(evaluation))
    return path, evaluation


def test_timings_are_added_to_results_json_and_printed(tmp_path):
    path, evaluation = _results(tmp_path)
    out = subprocess.run([sys.executable, SCRIPT, str(path), *ARGS], capture_output=True,
                         text=True, check=True).stdout
    merged = json.loads(path.read_text())
    assert {k: merged[k] for k in evaluation} == evaluation  # the evaluation is kept as it was
    assert merged["timings"] == {"install": 0.0, "data": 12.3, "train": 650.1, "export": 4.2,
                                 "evaluate": 61.0, "total": 727.6, "unit": "seconds"}
    assert list(merged["timings"])[:5] == list(demo_timings.STEPS)  # the demo's order
    assert "  train       650.1\n" in out and "  total       727.6\n" in out
    assert not [f for f in os.listdir(tmp_path) if f != "results.json"]  # no temp file left


@pytest.mark.parametrize("args, message", [
    (ARGS[1:], "no seconds for evaluate"),
    (ARGS + ["compile=3"], "'compile=3' is not STEP=SECONDS"),
    (ARGS[:-1] + ["export=fast"], "'export=fast' is not STEP=SECONDS"),
])
def test_bad_timings_are_refused_and_results_json_untouched(tmp_path, args, message):
    path, _ = _results(tmp_path)
    before = path.read_text()
    with pytest.raises(UserError, match=message):
        demo_timings.main([str(path), *args])
    assert path.read_text() == before


def test_missing_results_json_is_one_line(tmp_path):
    with pytest.raises(UserError, match="cannot read .*run the demo's evaluation first"):
        demo_timings.merge_timings(str(tmp_path / "results.json"), {"total": 1.0})
