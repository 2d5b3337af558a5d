"""Summarise experiments/lazy_gp/step_time.sh: mean step seconds per run, median over rounds.

    python experiments/lazy_gp/summary.py experiments/lazy_gp/out

Prints one Markdown row per configuration: each --gp_interval's median (over rounds) of the mean
timed step, and its ratio to k = 1. The mean, not the fastest step, because with k > 1 the
steps without the penalty are the fast ones: the average over a whole cycle is what a run costs.
"""
import glob
import json
import os
import re
import statistics
import sys


def main(out_dir):
    means = {}  # (cfg, k) -> [mean step seconds per round]
    for path in sorted(glob.glob(os.path.join(out_dir, "*_k*_r*.json"))):
        cfg, k, _ = re.match(r"(\w+?)_k(\d+)_r(\d+)\.json", os.path.basename(path)).groups()
        with open(path) as f:
            results = json.load(f)["results"]
        (only,) = results.values()
        means.setdefault((cfg, int(k)), []).append(statistics.mean(only["step_seconds"]))
    print("| config | " + " | ".join(f"k={k} s/step (x k=1)" for k in (1, 4, 8)) + " |")
    print("|---|---|---|---|")
    for cfg in sorted({c for c, _ in means}):
        base = statistics.median(means[(cfg, 1)])
        cells = []
        for k in (1, 4, 8):
            m = statistics.median(means[(cfg, k)]) if (cfg, k) in means else float("nan")
            cells.append(f"{m:.3f} ({m / base:.2f}x, {len(means.get((cfg, k), []))} rounds)")
        print(f"| {cfg} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main(sys.argv[1])
