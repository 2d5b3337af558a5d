"""The HParams table in a real TensorBoard, read in headless Chromium (marked slow; skipped with a
reason when no Chromium is installed). Started exactly as README and `make demo` print it:
`tensorboard --logdir RUN/tensorboard`."""
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from pgan_tf.eval import eval_results
from tests import cdp_pipe
from tests.eval_fixtures import tiny_run

pytestmark = pytest.mark.slow


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(url, seconds):
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5):
                return
        except OSError:
            time.sleep(1)
    raise AssertionError(f"TensorBoard did not answer at {url} within {seconds} s")


def test_hparams_table_shows_settings_and_metrics_in_a_browser(tmp_path_factory, tmp_path):
    binary = cdp_pipe.find_chromium()
    if binary is None:
        pytest.skip("no Chromium installed (apt-get install chromium): browser check not run")
    run_dir, _, _ = tiny_run(tmp_path_factory)
    copy = tmp_path / "run"
    shutil.copytree(os.path.join(run_dir, "tensorboard"), copy / "tensorboard")
    entry = {"gan_test": {"accuracy": 0.75, "balanced_accuracy": 0.5},
             "swd": {"levels": {"16": 2.5}, "avg": 2.5}}
    eval_results.write_tensorboard(str(copy), entry, 32)
    port = _free_port()
    board = subprocess.Popen(
        [sys.executable, "-m", "tensorboard.main", "--logdir", str(copy / "tensorboard"),
         "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for(f"http://127.0.0.1:{port}/", 120)
        with cdp_pipe.Browser(binary) as browser:
            browser.open(f"http://127.0.0.1:{port}/#hparams")
            text, deadline = "", time.time() + 90
            while time.time() < deadline and "0.75000" not in text:
                time.sleep(2)
                text = browser.evaluate(cdp_pipe.PAGE_TEXT_JS) or ""
    finally:
        board.kill()
        board.wait()
    table = text[text.index("Trial ID"):] if "Trial ID" in text else text
    # Default columns, then the row: the model, both learning rates, seed and the metrics.
    assert "model|g_lr|d_lr|seed|attention_stages|final SWD x1e3" in table, table[:2000]
    assert "|pgan|" in table and "|0.75000|" in table and "|2.5000|" in table, table[:2000]
