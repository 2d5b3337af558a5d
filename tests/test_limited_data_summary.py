"""experiments/limited_data/summarize.py, the tables of docs/limited_data.md: each run's best
checkpoint is the one of lowest SWD and GAN-test is read *there* (never the best of GAN-test
itself), the probe's turn, the traces' landmarks and the mean over seeds, on hand-made runs."""
import importlib.util
import json
import os

import numpy as np
import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def summarize():
    path = os.path.join(REPO, "experiments", "limited_data", "summarize.py")
    spec = importlib.util.spec_from_file_location("limited_data_summarize", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run(out, name, swd, gan_test, ticks):
    """A run dir as run.sh leaves it: {kimg: value} SWD and GAN-test, tick lines of `ticks`."""
    run = out / "runs" / name
    run.mkdir(parents=True)
    (run / "swd.json").write_text(json.dumps(
        {"checkpoints": {f"{k:g}": {"swd": {"avg": v}} for k, v in swd.items()}}))
    (run / "gan_test.json").write_text(json.dumps({"checkpoints": {f"{k:g}": {"gan_test": {
        "balanced_accuracy": v, "per_class_recall": {"DF": v / 2, "VASC": v, "NV": 1.0}}}
        for k, v in gan_test.items()}}))
    (run / "log.txt").write_text("".join(
        f"tick {i} kimg {t['kimg']} " + " ".join(f"{k} {v}" for k, v in t.items() if k != "kimg")
        + "\n" for i, t in enumerate(ticks)))
    (run / "config.json").write_text(json.dumps({"provenance": {"git_commit": "abcdef0123",
                                                                 "time": "2026-12-07T08:00"}}))


def test_best_checkpoint_is_chosen_by_swd_and_reported_there(summarize, tmp_path, capsys):
    # none: SWD lowest at 32 where GAN-test is 0.5, though GAN-test peaks (0.9) at 48
    _run(tmp_path, "none-s1", {16: 90, 32: 30, 48: 40}, {16: 0.2, 32: 0.5, 48: 0.9},
         [{"kimg": 16, "aug_rv": 0.2}, {"kimg": 32, "aug_rv": 0.6}, {"kimg": 48, "aug_rv": 0.9}])
    _run(tmp_path, "ada-s1", {16: 80, 32: 50, 48: 20}, {16: 0.3, 32: 0.6, 48: 0.7},
         [{"kimg": 16, "aug_p": 0.0, "aug_rv": 0.1}, {"kimg": 32, "aug_p": 0.0, "aug_rv": 0.55},
          {"kimg": 48, "aug_p": 0.25, "aug_rv": 0.45}])
    _run(tmp_path, "ada-s2", {16: 70, 32: 60, 48: 65}, {16: 0.4, 32: 0.8, 48: 0.2},
         [{"kimg": 16, "aug_p": 0.1, "aug_rv": 0.7}])
    report = summarize.summarize(str(tmp_path))
    none = report["arms"]["none"]["per_seed"][1]
    assert none["kimg"] == 32 and none["gan_test"] == 0.5 and none["recall"]["DF"] == 0.25
    assert none["aug_rv_first_above_half_kimg"] == 32 and none["aug_p_first_rise_kimg"] is None
    ada = report["arms"]["ada"]
    assert [ada["per_seed"][s]["kimg"] for s in (1, 2)] == [48, 32]
    assert ada["per_seed"][1]["aug_p_first_rise_kimg"] == 48 and ada["per_seed"][1][
        "aug_p_max"] == 0.25
    assert ada["gan_test_pct"]["values"] == pytest.approx([70.0, 80.0])
    assert ada["gan_test_pct"]["std"] == pytest.approx(np.std([70, 80], ddof=1))
    assert ada["recall_pct"]["VASC"]["mean"] == pytest.approx(75.0)
    assert report["provenance"]["ada"][2] == ("abcdef0", "2026-12-07T08:00")
    assert report["probe_turn"]["kimg"] == 48     # the none seed-1 run is the probe
    paired = report["paired_vs_none"]["ada"]       # seed 1 only: none has no seed 2
    assert paired["seeds"] == [1] and paired["gan_test_pct"]["values"] == pytest.approx([20.0])
    assert paired["recall_pct"]["DF"]["values"] == pytest.approx([10.0])   # 35 - 25
    assert "best by SWD at kimg 32: GAN-test 50.0 %" in capsys.readouterr().out


def test_the_turn_is_the_lowest_smoothed_swd_once_it_has_risen_ten_percent(summarize):
    kimgs = (16, 32, 48, 64, 80, 96, 112)
    rising = {k: {"swd": v} for k, v in zip(kimgs, (90, 50, 30, 31, 40, 45, 50))}
    assert summarize.turn(rising) == (64, True)     # 3-point means 37.0, 33.7, 38.7 ... 48.3
    flat = {k: {"swd": v} for k, v in zip(kimgs, (90, 50, 30, 31, 32, 33, 34))}
    assert summarize.turn(flat) == (64, False)      # 33.0 at the end: less than 10 % above 31.0
    falling = {k: {"swd": v} for k, v in zip(kimgs[:4], (90, 50, 41, 40))}
    assert summarize.turn(falling) == (64, False)
