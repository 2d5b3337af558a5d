"""The demo's frontier of training seconds against GAN-test, from experiments/lazy_gp/quality.sh.

    python experiments/lazy_gp/frontier.py OUT [--json docs/results/demo_frontier.json]

Each run OUT/k<k>_s<seed> kept a checkpoint every 8 kimg; checkpoint cadence does not change a run,
so the checkpoint at kimg K is the end of a demo with --total_kimg=K. Its training seconds are the
run's start-up (wall time of the training command less the sum of its ticks) plus the ticks up to
K (log.txt: sec_per_kimg x kimg of each tick). One Markdown row per (k, kimg): seconds (mean over
seeds, and as a share of k=1 at the last kimg: today's demo), GAN-test balanced mean +- sample std
and per seed, real balanced, SWDx1e3, and whether the point passes docs/performance.md's rule
(mean >= 0.80, every seed >= 0.75, real >= 0.90).
"""
import argparse
import glob
import json
import os
import re
import statistics

from pgan_tf.training.summaries import parse_log_line


def tick_seconds(log_path):
    """[(kimg at the tick's end, cumulative tick seconds)] from a run's log.txt."""
    out, total, last_kimg = [], 0.0, 0.0
    with open(log_path) as f:
        for line in f:
            if not line.startswith("tick "):
                continue
            values = parse_log_line(line)
            total += values["sec_per_kimg"] * (values["kimg"] - last_kimg)
            last_kimg = values["kimg"]
            out.append((last_kimg, total))
    return out


def _balanced(metric):
    value = metric["balanced_accuracy"]
    return value["mean"] if isinstance(value, dict) else value


def run_points(run):
    """{kimg: {seconds, gan_test, swd, real}} for one run of quality.sh."""
    ticks = tick_seconds(os.path.join(run, "log.txt"))
    with open(run + ".train_seconds") as f:
        startup = float(f.read()) - ticks[-1][1]
    with open(run + ".results.json") as f:
        results = json.load(f)
    real = _balanced(results["real"])
    points = {}
    for entry in results["checkpoints"].values():
        kimg = round(entry["kimg"])
        seconds = next(s for k, s in ticks if k >= entry["kimg"] - 1e-6)
        points[kimg] = {"seconds": startup + seconds, "gan_test": _balanced(entry["gan_test"]),
                        "swd_x1e3": entry["swd"]["avg"], "real": real}  # SWD is stored x1e3
    return points


def passes(gan_test, real):
    """docs/performance.md's rule for a demo recipe."""
    return statistics.mean(gan_test) >= 0.80 and min(gan_test) >= 0.75 and min(real) >= 0.90


def main(out_dir, json_path=None):
    table = {}  # (k, kimg) -> {seed: point}
    for run in sorted(glob.glob(os.path.join(out_dir, "k*_s*"))):
        match = re.fullmatch(r"k(\d+)_s(\d+)", os.path.basename(run))
        if not match or not os.path.exists(run + ".results.json"):
            continue
        k, seed = map(int, match.groups())
        for kimg, point in run_points(run).items():
            table.setdefault((k, kimg), {})[seed] = point
    today = statistics.mean(p["seconds"] for p in table[(1, max(m for kk, m in table if kk == 1))]
                            .values())
    print("| k | kimg | train s (x today) | GAN-test balanced | per seed | real | SWDx1e3 | rule |")
    print("|---:|---:|---:|---:|---|---:|---:|---|")
    rows = []
    for (k, kimg), seeds in sorted(table.items()):
        seconds = statistics.mean(p["seconds"] for p in seeds.values())
        tests = [seeds[s]["gan_test"] for s in sorted(seeds)]
        real = [seeds[s]["real"] for s in sorted(seeds)]
        swd = [seeds[s]["swd_x1e3"] for s in sorted(seeds)]
        std = statistics.stdev(tests) if len(tests) > 1 else float("nan")
        ok = passes(tests, real) and len(tests) >= 3
        rows.append({"gp_interval": k, "kimg": kimg, "seconds": seconds, "share": seconds / today,
                     "seeds": {str(s): seeds[s] for s in sorted(seeds)}, "passes": ok})
        print(f"| {k} | {kimg} | {seconds:.0f} ({seconds / today:.2f}) | "
              f"{statistics.mean(tests):.3f} ± {std:.3f} | {', '.join(f'{t:.3f}' for t in tests)} "
              f"| {statistics.mean(real):.3f} | {statistics.mean(swd):.1f} | "
              f"{'passes' if ok else '-'} |")
    if json_path:
        with open(json_path, "w") as f:
            json.dump({"rule": "GAN-test balanced mean >= 0.80, every seed >= 0.75, real >= 0.90",
                       "points": rows}, f, indent=1)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir")
    parser.add_argument("--json", default=None, help="also write the rows here")
    args = parser.parse_args()
    main(args.out_dir, args.json)
