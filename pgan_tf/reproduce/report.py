"""Render a reproduction's results (`results.gather`) as WORK/<experiment>/results.md, results.json
and results.png, our numbers beside the paper's in the same table and chart."""
import math
import os

from pgan_tf import fileio
from pgan_tf.eval import reports
from pgan_tf.eval.eval_results import write_json
from pgan_tf.reproduce.results import METRIC_LABELS

RESULTS_JSON, RESULTS_MD, RESULTS_PNG = "results.json", "results.md", "results.png"
TITLES = {"table1": "Paper Table 1: SNL attention stage (best GAN-train / GAN-test)",
          "table2": "Paper Table 2: PGAN, APGAN, APGAN+TTUR (best GAN-train / GAN-test)",
          "fig8": "Paper Fig. 8: 100 real images per class + 1k from each source"}


def _cell(value):
    """'70.12' or '70.12 ± 1.30' of a {"mean", "std"} percent, a plain number, or '–'."""
    if value is None:
        return "–"
    if isinstance(value, dict):
        std = f" ± {value['std']:.2f}" if value["std"] else ""
        return f"{value['mean']:.2f}{std}"
    return f"{value:.1f}"


def _table_lines(results):
    if results["experiment"] == "fig8":
        lines = ["| training set | images | accuracy, ours (%) | accuracy, paper (%) | "
                 "balanced accuracy, ours (%) | GAN samples at kimg (best GAN-train) |",
                 "|---|---|---|---|---|---|"]
        for row in results["rows"]:
            ours, kimg = row["ours"], row.get("kimg")
            lines.append(f"| {row['label']} | {row['num_train']} | {_cell(ours['accuracy'])} | "
                         f"{_cell(row['paper']['accuracy'])} | "
                         f"{_cell(ours['balanced_accuracy'])} | "
                         f"{'–' if kimg is None else f'{kimg:g}'} |")
        return lines
    lines = ["| model | GAN-train, ours (%) | GAN-train, paper (%) | GAN-test, ours (%) | "
             "GAN-test, paper (%) | best at kimg (train / test) |", "|---|---|---|---|---|---|"]
    for row in results["rows"]:
        ours, cells = row["ours"], []
        for metric in METRIC_LABELS:
            cells += [_cell(ours.get(metric)), _cell(row["paper"].get(metric))]
        kimg = " / ".join(str(ours[m]["kimg"]) if "kimg" in ours.get(m, {}) else "–"
                          for m in METRIC_LABELS)
        lines.append(f"| {row['label']} | {' | '.join(cells)} | {kimg} |")
    return lines


def markdown(results):
    """results.md: what ran, the table, and how comparable it is."""
    weights = results["classifier_weights"]
    start = (f"fine-tuned from {weights}" if results["pretrained"] else
             "trained from scratch (not comparable with the paper, which fine-tunes an ImageNet "
             "ResNet-18)")
    lines = [f"# {TITLES[results['experiment']]}", "",
             f"Scale `{results['scale']}`; data `{results['data_dir']}`; classifier ResNet-18 "
             f"{start}; {results['repeats']} classifier seed(s).", ""] + _table_lines(results)
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
