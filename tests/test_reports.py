"""Reports: mean ± std, Markdown tables and PNG figures."""
import os

import numpy as np
import pytest
from PIL import Image

from pgan_tf.eval import reports


def test_mean_std_by_hand():
    assert reports.mean_std([0.3, 0.4, 0.5]) == pytest.approx({"mean": 0.4, "std": 0.1})
    assert reports.mean_std([0.7]) == {"mean": 0.7, "std": 0.0}
    with pytest.raises(ValueError):
        reports.mean_std([])


def test_markdown_contains_every_number():
    results = {
        "real": {"accuracy": 0.8125, "balanced_accuracy": 0.5, "per_class_recall": {"A": 1.0},
                 "interval": {"accuracy": {"value": 0.8125, "low": 0.75, "high": 0.875}}},
        "gan_train": {"accuracy": {"mean": 0.7, "std": 0.013},
                      "balanced_accuracy": {"mean": 0.6, "std": 0.02}},
        "swd": {"levels": {"32": 12.5, "16": 7.25}, "avg": 9.875},
        "ms_ssim": 0.2468,
        "notes": "left out",
    }
    text = reports.metrics_markdown(results)
    lines = text.splitlines()
    assert lines[0] == "| metric | accuracy (%) | balanced accuracy (%) |"
    assert "| real | 81.25 [75.0, 87.5] | 50.00 |" in lines
    assert "| gan_train | 70.00 ± 1.30 | 60.00 ± 2.00 |" in lines
    assert "| swd ×1e3 @32 | 12.500 |" in lines
    assert "| swd ×1e3 @16 | 7.250 |" in lines
    assert "| swd ×1e3 avg | 9.875 |" in lines
    assert "| ms_ssim | 0.2468 |" in lines
    assert "left out" not in text


def test_markdown_of_metrics_only():
    text = reports.metrics_markdown({"swd": {"levels": {"16": 1.0}, "avg": 1.0}})
    assert text.startswith("| metric | value |")


def test_confusion_png_is_written_atomically_and_readable(tmp_path):
    path = tmp_path / "sub" / "cm.png"
    cm = [[5, 1, 0], [0, 3, 2], [0, 0, 0]]  # an empty row must not divide by zero
    reports.save_confusion_png(cm, ["MEL", "NV", "DF"], str(path), "GAN-train")
    with Image.open(path) as img:
        assert img.format == "PNG" and img.size[0] > 100 and img.size[1] > 100
    reports.save_confusion_png(np.eye(3, dtype=int), ["MEL", "NV", "DF"], str(path), "again")
    # Overwritten in place.
    assert os.listdir(path.parent) == ["cm.png"]  # no temporary file left behind


def test_bar_chart_png(tmp_path):
    path = tmp_path / "bars.png"
    reports.save_bar_chart(["real", "standard", "gan"], [67.3, 68.7, 70.1], str(path), "Fig. 8",
                           stds=[1.0, 0.5, 0.8])
    with Image.open(path) as img:
        assert img.format == "PNG"
    assert os.listdir(tmp_path) == ["bars.png"]
