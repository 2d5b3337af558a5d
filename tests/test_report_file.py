"""report.md / report.html of pgan-evaluate (pgan_tf/eval/report_file.py), rendered from a small
hand-made results dict and tiny PNGs: self-contained HTML, the table rows, embedded images, the
same numbers in the Markdown, the model card, atomic writes."""
import base64
import io
import os
import re

import numpy as np
import pytest
from PIL import Image

from pgan_tf.eval import report_file
from pgan_tf.model_card import MODEL_CARD
from pgan_tf.training.generator import EXPORT_DIR

CLASSES = ["MEL", "NV", "DF"]


def _classification(accuracy, balanced, recall, support, num_test):
    return {"accuracy": accuracy, "balanced_accuracy": balanced, "num_test": num_test,
            "per_class_recall": dict(zip(CLASSES, recall)), "support": dict(zip(CLASSES, support)),
            "confusion_matrix": [[1, 0, 0], [0, 1, 0], [0, 0, 1]]}


def _results(run_dir):
    per_class = {"MEL": {"value": 41.5, "num_reals": 6, "num_fakes": 6},
                 "NV": {"value": 37.25, "num_reals": 5, "num_fakes": 5},
                 "DF": {"value": None, "num_reals": 1, "num_fakes": 1, "skipped": "few"}}
    return {
        "mode": "run", "run_dir": run_dir, "classes": CLASSES, "num_per_class": 4,
        "fake_labels": "uniform", "repeats": 1, "seed": 0, "pretrained": True,
        "classifier": {"width": 64, "epochs": 50}, "notes": ["a note"],
        "real": _classification(0.8125, 0.75, [0.9, 0.8, 0.5], [10, 20, 2], 32),
        "gan_train": _classification(0.6875, 0.625, [0.7, 0.6, 0.25], [10, 20, 2], 32),
        "gan_test": _classification(0.5, 0.5, [0.5, 0.5, 0.5], [4, 4, 4], 12),
        "swd": {"levels": {"16": 7.5}, "avg": 7.5}, "ms_ssim": 0.1234, "ms_ssim_reals": 0.2345,
        "fid": {"value": 123.456, "num_reals": 12, "num_fakes": 12, "per_class": per_class,
                "network": "Inception-v3 TF graph 2015-12-05", "graph_sha256": "cd" * 32,
                "sha256_pinned": False},
        "kid": {"value": 0.0321, "std": 0.0045, "num_subsets": 100, "subset_size": 12,
                "num_reals": 12, "num_fakes": 12, "network": "Inception-v3 TF graph 2015-12-05",
                "per_class": {"MEL": {"value": 0.0105, "num_fakes": 6}}},
        "memorization": {"num_samples": 12, "pixel": {"threshold": 8.0, "num_below_threshold": 1,
                                                      "fraction_below_threshold": 1 / 12},
                         "closest_pairs": [{"sample_index": 3, "training_index": 17,
                                            "pixel_rms": 2.5, "feature_distance": 0.0123}]},
    }


def _png(colour):
    buffer = io.BytesIO()
    Image.fromarray(np.full((4, 6, 3), colour, np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def evaluated(tmp_path):
    """An evaluation folder: the PNGs pgan-evaluate writes, a run with a model card."""
    out = tmp_path / "eval"
    out.mkdir()
    pngs = {name: _png(i * 40) for i, name in enumerate(
        ["confusion_real.png", "confusion_gan_train.png", "confusion_gan_test.png",
         "memorization.png"])}
    for name, data in pngs.items():
        (out / name).write_bytes(data)
    report_file.save_sample_sheet(np.full((8, 5, 3), 200, np.uint8), str(out))
    pngs["samples.png"] = (out / "samples.png").read_bytes()
    run = tmp_path / "run"
    (run / EXPORT_DIR).mkdir(parents=True)
    (run / EXPORT_DIR / MODEL_CARD).write_text("# Model card\n\nUse <with> care & cite.\n")
    return out, pngs, _results(str(run))


def test_html_is_self_contained_with_the_rows_and_embedded_images(evaluated):
    out, pngs, results = evaluated
    md_path, html_path = report_file.write_report(results, str(out / "results.json"))
    assert (md_path, html_path) == (str(out / "report.md"), str(out / "report.html"))
    page = open(html_path, encoding="utf-8").read()
    # No external reference: every src is a data URI, no link/script elements, no URL anywhere.
    sources = re.findall(r'src="([^"]*)"', page)
    assert len(sources) == 5 and all(s.startswith("data:image/png;base64,") for s in sources)
    assert "http" not in page and "<link" not in page and "<script" not in page
    embedded = {base64.b64decode(s.split(",", 1)[1]) for s in sources}
    assert embedded == set(pngs.values())
    for row in ["<td>GAN-train accuracy</td><td>68.75 %</td><td>32 test images</td>",
                "<td>GAN-test accuracy</td><td>50.00 %</td><td>12 test images</td>",
                "<td>FID (2015-12-05 Inception graph)</td><td>123.456</td>"
                "<td>12 fakes vs 12 reals</td>",
                "<td>KID ×1e3</td><td>32.100 ± 4.500 (100 subsets of 12)</td>",
                "<td>MEL</td><td>10</td><td>90.00 %</td><td>70.00 %</td><td>50.00 %</td>"
                "<td>41.500 (n=6)</td><td>10.500 (n=6)</td>",
                "<td>DF</td><td>2</td><td>50.00 %</td><td>25.00 %</td><td>50.00 %</td>"
                "<td>– (n=1)</td><td>– (n=0)</td>",
                "<td>3</td><td>17</td><td>2.50</td><td>0.0123</td>"]:
        assert row in page, row
    assert "ImageNet-pretrained: yes" in page and "(computed, not pinned)" in page
    assert "Use &lt;with&gt; care &amp; cite." in page            # the model card, escaped


def test_markdown_has_the_same_numbers_and_names_the_pngs(evaluated):
    out, pngs, results = evaluated
    md_path, html_path = report_file.write_report(results, str(out / "results.json"))
    text = open(md_path, encoding="utf-8").read()
    page = open(html_path, encoding="utf-8").read()
    body = re.sub(r"<style>.*</style>|base64,[^\"]*", "", page)     # numbers of the content only
    numbers = set(re.findall(r"\d+\.\d+", body))
    assert numbers and numbers == set(re.findall(r"\d+\.\d+", text))
    assert "| GAN-train accuracy | 68.75 % | 32 test images |" in text
    assert "| MEL | 10 | 90.00 % | 70.00 % | 50.00 % | 41.500 (n=6) | 10.500 (n=6) |" in text
    for name in pngs:
        assert f"]({name})" in text
    assert "Use <with> care & cite." in text
    assert sorted(os.listdir(out)) == sorted([*pngs, "report.md", "report.html"])  # no temp files


def test_a_missing_png_is_named_not_fatal(evaluated):
    out, _, results = evaluated
    os.remove(out / "memorization.png")
    results = {**results, "pretrained": False, "run_dir": None, "mode": "sets"}
    blocks = report_file.document(results)
    page = report_file.render_html(blocks, report_file._read_images(blocks, str(out)))
    assert "(memorization.png was not written)" in page and "samples.png" not in page
    assert "ImageNet-pretrained: no" in page and page.count('src="data:') == 3
