"""Evaluation reports: mean ± std over seeds, Markdown tables, confusion-matrix and bar-chart PNGs.

Figures use matplotlib's object API with the Agg canvas (no pyplot, no display, no global backend
change) and are written atomically (temporary file beside the target, then a rename; `fileio`, so
also to `gs://` and other TensorFlow file systems).
"""
import io

import numpy as np

from pgan_tf import fileio

PERCENT = 100.0  # accuracies are stored as fractions and shown as percentages (paper tables)


def mean_std(values):
    """{"mean", "std"} of a list of numbers; std is the sample std (ddof=1), 0.0 for one value."""
    values = np.asarray(list(values), np.float64)
    if values.size == 0:
        raise ValueError("mean_std needs at least one value")
    std = float(values.std(ddof=1)) if values.size > 1 else 0.0
    return {"mean": float(values.mean()), "std": std}


def percent(value):
    """'81.25' for 0.8125, '81.25 ± 1.30' for {"mean": .8125, "std": .013}, '' for None."""
    if value is None:
        return ""
    if isinstance(value, dict):
        return f"{PERCENT * value['mean']:.2f} ± {PERCENT * value['std']:.2f}"
    return f"{PERCENT * value:.2f}"


def _interval(entry):
    """' [78.1, 84.0]' (percent) of a bootstrap interval entry, '' without one."""
    if not entry:
        return ""
    return f" [{PERCENT * entry['low']:.1f}, {PERCENT * entry['high']:.1f}]"


def _scalar_rows(name, value):
    """Rows (label, text) for a non-classification metric: SWD dicts, MS-SSIM floats, mean/std."""
    # SWD x 1e3 (docs/design.md#sliced-wasserstein-distance)
    if isinstance(value, dict) and "levels" in value and "avg" in value:
        rows = [(f"{name} ×1e3 @{res}", f"{v:.3f}") for res, v in value["levels"].items()]
        return rows + [(f"{name} ×1e3 avg", f"{value['avg']:.3f}")]
    if isinstance(value, dict) and set(value) == {"mean", "std"}:
        return [(name, f"{value['mean']:.4f} ± {value['std']:.4f}")]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return [(name, f"{value:.4f}")]
    return []


def metrics_markdown(results):
    """Markdown summary of an evaluation's results dict.

    Entries with an "accuracy" (one run: fractions; repeated runs: {"mean", "std"}) form the table
    `metric | accuracy (%) | balanced accuracy (%)`; SWD / MS-SSIM style entries follow in a
    `metric | value` table. Other entries are left out.
    """
    lines = []
    classification = {k: v for k, v in results.items() if isinstance(v, dict) and "accuracy" in v}
    if classification:
        lines += ["| metric | accuracy (%) | balanced accuracy (%) |", "|---|---|---|"]
        for name, m in classification.items():
            interval = m.get("interval") or {}
            accuracy = percent(m["accuracy"]) + _interval(interval.get("accuracy"))
            balanced = (percent(m.get("balanced_accuracy"))
                        + _interval(interval.get("balanced_accuracy")))
            lines.append(f"| {name} | {accuracy} | {balanced} |")
    scalars = [row for k, v in results.items() if k not in classification for row in _scalar_rows(k, v)]
    if scalars:
        if lines:
            lines.append("")
        lines += ["| metric | value |", "|---|---|"] + [f"| {k} | {v} |" for k, v in scalars]
    return "\n".join(lines) + "\n"


def save_figure_atomically(fig, path):
    """Render `fig` with the Agg canvas to a temp file beside `path`, then rename over it."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    fileio.write_atomic(path, buffer.getvalue())


def save_confusion_png(cm, class_names, path, title):
    """Confusion matrix PNG (rows = true, columns = predicted): colours = row-normalised recall,
    text = counts."""
    from matplotlib.figure import Figure
    cm = np.asarray(cm, np.float64)
    rows = cm.sum(axis=1, keepdims=True)
    rates = np.divide(cm, rows, out=np.zeros_like(cm), where=rows > 0)
    k = len(class_names)
    fig = Figure(figsize=(1.0 + 0.7 * k, 0.8 + 0.7 * k), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    image = ax.imshow(rates, cmap="Blues", vmin=0.0, vmax=1.0)
    fig.colorbar(image, ax=ax, label="fraction of true class")
    for i in range(k):
        for j in range(k):
            ax.text(j, i, f"{cm[i, j]:g}", ha="center", va="center",
                    color="white" if rates[i, j] > 0.5 else "black", fontsize=8)
    ax.set_xticks(range(k), class_names, rotation=45, ha="right")
    ax.set_yticks(range(k), class_names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    save_figure_atomically(fig, path)


def save_bar_chart(labels, means, path, title, stds=None, ylabel="accuracy (%)"):
    """Bar chart PNG (e.g. paper Fig. 8), one bar per label with optional ± std error bars; the
    values are drawn as given and written above the bars."""
    from matplotlib.figure import Figure
    fig = Figure(figsize=(1.5 + 1.2 * len(labels), 4.0), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    bars = ax.bar(range(len(labels)), means, yerr=stds, capsize=4 if stds is not None else 0,
                  color="tab:blue")
    ax.bar_label(bars, labels=[f"{m:.1f}" for m in means], padding=3)
    ax.set_xticks(range(len(labels)), labels, rotation=20, ha="right")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    save_figure_atomically(fig, path)


def save_grouped_bar_chart(categories, series, path, title, ylabel="accuracy (%)"):
    """Grouped bar chart PNG: per category one bar of each series ({label: values}, NaN = no
    bar), e.g. our numbers beside the paper's; the values are written above the bars."""
    from matplotlib.figure import Figure
    width = 0.8 / max(len(series), 1)
    fig = Figure(figsize=(2.0 + 0.5 * len(categories) * max(len(series), 1), 4.5), dpi=100,
                 layout="constrained")
    ax = fig.add_subplot()
    for i, (label, values) in enumerate(series.items()):
        x = np.arange(len(categories)) + (i - (len(series) - 1) / 2) * width
        values = np.asarray(values, np.float64)
        bars = ax.bar(x, np.nan_to_num(values), width, label=label)
        ax.bar_label(bars, labels=["" if np.isnan(v) else f"{v:.1f}" for v in values], padding=2,
                     fontsize=7)
    ax.set_xticks(range(len(categories)), categories, rotation=15, ha="right")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize=8)
    save_figure_atomically(fig, path)
