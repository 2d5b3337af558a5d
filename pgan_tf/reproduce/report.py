"""Render a reproduction's results (`results.gather`) as WORK/<experiment>/results.md, results.json
and results.png, our numbers beside the paper's in the same table and chart."""
import math
import os

from pgan_tf import fileio
from pgan_tf.eval import reports
from pgan_tf.eval.eval_results import write_json
from pgan_tf.metrics.intervals import RESAMPLES
from pgan_tf.reproduce.results import METRIC_LABELS

RESULTS_JSON, RESULTS_MD, RESULTS_PNG = "results.json", "results.md", "results.png"
TITLES = {"table1": "Paper Table 1: SNL attention stage (best GAN-train / GAN-test)",
          "table2": "Paper Table 2: PGAN, APGAN, APGAN+TTUR (best GAN-train / GAN-test)",
          "fig8": "Paper Fig. 8: 100 real images per class + 1k from each source"}


def _cell(value):
    """'70.12', '70.12 ± 1.30', '70.12 [61.2, 78.4]' (an interval) or, over several GAN seeds,
    '70.12 ± 3.10 [62.4, 77.8]' of a summary in percent; a plain number; '–' for none."""
    if value is None:
        return "–"
    if isinstance(value, dict):
        std = f" ± {value['std']:.2f}" if value["std"] else ""
        interval = (f" [{value['low']:.1f}, {value['high']:.1f}]"
                    if value.get("low") is not None else "")
        return f"{value['mean']:.2f}{std}{interval}"
    return f"{value:.1f}"


def _points(value):
    """'+2.4 [-1.0, +5.8]' of a difference summary in points, '–' for none."""
    if value is None:
        return "–"
    interval = (f" [{value['low']:+.1f}, {value['high']:+.1f}]" if value.get("low") is not None
                else "")
    std = f" ± {value['std']:.1f}" if value["n"] > 1 else ""
    return f"{value['mean']:+.1f}{std}{interval}"


def _seed_values(summary):
    """'(70.1, 68.0, 77.9)': each GAN seed's value, when there are several."""
    if not summary or summary.get("n", 1) < 2:
        return ""
    return " (" + ", ".join(f"{v:.1f}" for v in summary["values"]) + ")"


def _fig8_lines(results):
    lines = ["| training set | images | accuracy, ours (%) | accuracy, paper (%) | "
             "balanced accuracy, ours (%) | accuracy - real, ours (points, paired) | "
             "GAN samples at kimg (best GAN-test) |", "|---|---|---|---|---|---|---|"]
    for row in results["rows"]:
        ours, kimg = row["ours"], row.get("kimg")
        kimg = ("–" if kimg is None else " / ".join(f"{k:g}" for k in kimg)
                if isinstance(kimg, list) else f"{kimg:g}")
        lines.append(f"| {row['label']} | {row['num_train']} | {_cell(ours['accuracy'])}"
                     f"{_seed_values(ours['accuracy'])} | {_cell(row['paper']['accuracy'])} | "
                     f"{_cell(ours['balanced_accuracy'])} | "
                     f"{_points((ours.get('vs_real') or {}).get('accuracy'))} | {kimg} |")
    compared = [r for r in results["rows"] if r["ours"].get("vs_real")]
    if compared:
        classes = compared[0]["ours"]["vs_real"]["per_class_recall"]
        order = sorted(classes, key=lambda c: (classes[c] or {}).get("n", 0))  # rarest first
        lines += ["", "Recall change against the real arm, per class (points, paired on the "
                  "same val images; rarest class first; n = its val images):", "",
                  "| training set | " + " | ".join(
                      f"{c} (n={(classes[c] or {}).get('n', 0)})" for c in order) + " |",
                  "|---|" + "---|" * len(order)]
        for row in compared:
            recall = row["ours"]["vs_real"]["per_class_recall"]
            lines.append(f"| {row['label']} | " + " | ".join(_points(recall[c]) for c in order)
                         + " |")
    return lines


def _table_lines(results):
    if results["experiment"] == "fig8":
        return _fig8_lines(results)
    lines = ["| model | GAN-train, ours (%) | GAN-train, paper (%) | GAN-test, ours (%) | "
             "GAN-test, paper (%) | best at kimg (train / test) |", "|---|---|---|---|---|---|"]
    for row in results["rows"]:
        ours, cells = row["ours"], []
        for metric in METRIC_LABELS:
            cells += [_cell(ours.get(metric)) + _seed_values(ours.get(metric)),
                      _cell(row["paper"].get(metric))]
        kimg = " / ".join(str(ours[m]["kimg"]) if "kimg" in ours.get(m, {}) else "–"
                          for m in METRIC_LABELS)
        lines.append(f"| {row['label']} | {' | '.join(cells)} | {kimg} |")
    models = [r for r in results["rows"] if "gan_train" in r["ours"]
              and r["ours"]["gan_train"].get("per_class_recall")]
    if models:
        classes = models[0]["ours"]["gan_train"]["per_class_recall"]
        lines += ["", "GAN-train recall per class (%, mean over GAN seeds; n = val images of the "
                  "class):", "", "| model | " + " | ".join(
                      f"{c} (n={classes[c]['n']})" for c in classes) + " |",
                  "|---|" + "---|" * len(classes)]
        for row in models:
            recall = row["ours"]["gan_train"]["per_class_recall"]
            lines.append(f"| {row['label']} | " + " | ".join(
                "–" if recall[c]["mean"] is None else f"{recall[c]['mean']:.1f}"
                for c in classes) + " |")
    return lines


_INTERVALS = ("[a, b]: 95 % interval. One GAN seed: percentile bootstrap over the evaluation "
              f"images ({RESAMPLES:,} resamples), i.e. the noise of the evaluation set only, not of "
              "another GAN seed. Several GAN seeds: mean ± sample std over the seeds, each "
              "seed's value in parentheses, and the Student-t interval over seeds (with 3 "
              "seeds its half-width is 2.48 std), clipped to what the quantity can take "
              "(0–100 %, ± 100 points).")


def markdown(results):
    """results.md: what ran, the table, and how comparable it is."""
    weights = results["classifier_weights"]
    start = (f"fine-tuned from {weights}" if results["pretrained"] else
             "trained from scratch (not comparable with the paper, which fine-tunes an ImageNet "
             "ResNet-18)")
    lines = [f"# {TITLES[results['experiment']]}", "",
             f"Scale `{results['scale']}`; data `{results['data_dir']}`; classifier ResNet-18 "
             f"{start}; {results['repeats']} classifier seed(s); GAN seeds "
             f"{', '.join(map(str, results.get('gan_seeds', [])))}.", ""]
    lines += _table_lines(results) + ["", _INTERVALS]
    if results.get("fig8_selection"):
        sel = results["fig8_selection"]
        lines += ["", f"GAN checkpoints: {sel['rule']} ({sel['data']}); the checkpoints were "
                  f"chosen with fakes of seed {sel['selection_fakes_seed']}, Fig. 8 trains on "
                  f"fakes of seed {sel['fig8_fakes_seed']}."]
    if results["scale"] != "paper":
        lines += ["", f"At `--scale={results['scale']}` the GANs, the data and the classifier are "
                  "far smaller than the paper's: the paper's numbers are shown for orientation, "
                  "not as a target."]
    lines += ["", "Command:", "", "    " + results["command"], ""]
    return "\n".join(lines)


def _series(results):
    """(categories, {series label: values}) of the chart."""
    rows = results["rows"]
    labels = [r["label"] for r in rows]
    if results["experiment"] == "fig8":
        return labels, {"ours": [r["ours"]["accuracy"]["mean"] for r in rows],
                        "paper": [_number(r["paper"]["accuracy"]) for r in rows]}
    series = {}
    for metric, name in METRIC_LABELS.items():
        series[f"{name} ours"] = [_number(r["ours"].get(metric)) for r in rows]
        series[f"{name} paper"] = [_number(r["paper"].get(metric)) for r in rows]
    return labels, series


def _number(value):
    if value is None:
        return math.nan
    return value["mean"] if isinstance(value, dict) else float(value)


def write_report(results, folder):
    """results.json, results.md and results.png in `folder` (each written atomically)."""
    write_json(results, os.path.join(folder, RESULTS_JSON))
    fileio.write_atomic(os.path.join(folder, RESULTS_MD), markdown(results))
    categories, series = _series(results)
    reports.save_grouped_bar_chart(categories, series, os.path.join(folder, RESULTS_PNG),
                                   TITLES[results["experiment"]])
