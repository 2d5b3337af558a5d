"""Table of the limited-data benchmark (experiments/limited_data/run.sh): mean ± std over seeds per arm.

    python experiments/limited_data/summarize.py OUT [GRIDS.png] > table.md

Reads OUT/runs/<arm>-s<seed>/results.json (pgan-evaluate) and log.txt (tick lines: aug_p, aug_rt).
The two rarest classes are those with the fewest training images in OUT/data_20/dataset.json.
"""
import collections
import glob
import json
import os
import sys

import numpy as np

ARMS = ("none", "fixed0.2", "fixed0.5", "ada", "ada0.8")  # ada: uncapped (p_max 1); ada0.8: capped


def _ticks(run_dir):
    """Tick lines of log.txt as dicts of floats."""
    out = []
    with open(os.path.join(run_dir, "log.txt")) as f:
        for line in f:
            if line.startswith("tick "):
                tokens = line.split()
                out.append({tokens[i]: float(tokens[i + 1]) for i in range(0, len(tokens) - 1, 2)})
    return out


def _cell(values, scale=1.0, digits=1):
    values = np.asarray(values, float) * scale
    if len(values) == 0:
        return "–"
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    return f"{values.mean():.{digits}f} ± {values.std(ddof=1):.{digits}f}"


def collect(out):
    """{arm: [per-run dict]} from the finished runs under OUT/runs."""
    with open(os.path.join(out, "data_20", "dataset.json")) as f:
        counts = json.load(f)["splits"]["train"]["counts"]
    rare = sorted(counts, key=counts.get)[:2]
    runs = collections.defaultdict(list)
    for path in sorted(glob.glob(os.path.join(out, "runs", "*", "results.json"))):
        run_dir = os.path.dirname(path)
        arm, seed = os.path.basename(run_dir).rsplit("-s", 1)
        with open(path) as f:
            res = json.load(f)
        ticks = _ticks(run_dir)
        recall = res["gan_test"]["per_class_recall"]
        runs[arm].append({
            "seed": int(seed), "swd": res["swd"]["avg"],
            "gan_test": res["gan_test"]["balanced_accuracy"],
            "rare": [recall.get(c) for c in rare],
            "p_trace": [t.get("aug_p", 0.0) for t in ticks],
            "rt_trace": [t.get("aug_rt") for t in ticks], "kimg": ticks[-1]["kimg"]})
    return rare, runs


def table(rare, runs):
    lines = ["| arm | seeds | kimg | SWD avg (x1e3, as pgan-evaluate) ↓ | GAN-test balanced acc. (%) ↑ | "
             f"recall {rare[0]} (%) | recall {rare[1]} (%) | final p |",
             "|---|---|---|---|---|---|---|---|"]
    for arm in ARMS:
        rows = runs.get(arm, [])
        if not rows:
            continue
        lines.append(
            f"| {arm} | {','.join(str(r['seed']) for r in rows)} | {rows[0]['kimg']:g} | "
            f"{_cell([r['swd'] for r in rows])} | {_cell([r['gan_test'] for r in rows], 100)} | "
            f"{_cell([r['rare'][0] for r in rows], 100)} | {_cell([r['rare'][1] for r in rows], 100)} | "
            f"{_cell([r['p_trace'][-1] for r in rows], 1, 3)} |")
    return "\n".join(lines)


def traces(runs):
    """Per-run p and r (tick means) traces, one line each."""
    lines = []
    for arm in ARMS:
        for r in runs.get(arm, []):
            rt = " ".join("–" if v is None else f"{v:+.2f}" for v in r["rt_trace"])
            p = " ".join(f"{v:.2f}" for v in r["p_trace"])
            lines.append(f"- {arm} seed {r['seed']}: r per tick [{rt}]; p per tick [{p}]")
    return "\n".join(lines)


def save_grids(out, path, seed=1, columns=8, rows=7):
    """One PNG: the final fakes grid of each arm's `seed` run (first `columns` columns; one row per
    class), arms side by side in ARMS order with an 8-pixel gap."""
    from PIL import Image

    panels = []
    for arm in ARMS:
        grids = sorted(glob.glob(os.path.join(out, "runs", f"{arm}-s{seed}", "grids", "fakes*.png")))
        if grids:
            image = Image.open(grids[-1])
            cell = image.height // rows  # grids may be upscaled for viewing
            panels.append(image.crop((0, 0, columns * cell, image.height)))
    if not panels:
        return
    width = sum(p.width for p in panels) + 8 * (len(panels) - 1)
    sheet = Image.new("RGB", (width, panels[0].height), "white")
    x = 0
    for panel in panels:
        sheet.paste(panel, (x, 0))
        x += panel.width + 8
    sheet.save(path)


def main(out, grids=None):
    rare, runs = collect(out)
    print(table(rare, runs))
    print()
    print(traces(runs))
    if grids:
        save_grids(out, grids)


if __name__ == "__main__":
    main(*sys.argv[1:3])
