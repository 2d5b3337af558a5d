"""Tables and traces of experiments/limited_data/run.sh (docs/limited_data.md).

    python experiments/limited_data/summarize.py OUT [--json OUT.json]

Reads OUT/runs/<arm>-s<seed>/{gan_test.json, swd.json} (pgan-evaluate --checkpoints all) and
log.txt (tick lines: aug_p, aug_rv, aug_rt, d_heldout). Prints:
- the probe (`none`, seed 1): SWD and GAN-test per judged kimg, and the turn: the kimg of the
  lowest SWD (3-point running mean) when the last value is at least TURN_RISE above it, else
  "no turn";
- per arm, at every kimg all its runs were judged at: mean +- std over seeds of GAN-test balanced
  accuracy and SWD; and each run's best checkpoint chosen by SWD against the training reals, with
  GAN-test and the per-class recall *there* (never the best of the reported metric itself);
- per run, the traces of p and the statistics per tick.
"""
import argparse
import collections
import glob
import json
import os

import numpy as np

from pgan_tf import fileio
from pgan_tf.training.summaries import parse_log_line

TURN_RISE = 0.10  # the SWD must have risen 10 % above its best to call it a turn


def _ticks(run_dir):
    with open(os.path.join(run_dir, "log.txt")) as f:
        return [parse_log_line(line) for line in f if line.startswith("tick ")]


def _per_kimg(run_dir):
    """{kimg: {"swd", "gan_test", "recall"}} of one run."""
    out = collections.defaultdict(dict)
    with open(os.path.join(run_dir, "swd.json")) as f:
        for k, e in json.load(f)["checkpoints"].items():
            out[float(k)]["swd"] = e["swd"]["avg"]
    with open(os.path.join(run_dir, "gan_test.json")) as f:
        for k, e in json.load(f)["checkpoints"].items():
            out[float(k)]["gan_test"] = e["gan_test"]["balanced_accuracy"]
            out[float(k)]["recall"] = e["gan_test"]["per_class_recall"]
    return dict(sorted(out.items()))


def turn(points):
    """(kimg of the lowest smoothed SWD, turned?) of {kimg: {"swd": ...}}."""
    kimgs = list(points)
    swd = np.array([points[k]["swd"] for k in kimgs])
    smooth = np.convolve(np.pad(swd, 1, mode="edge"), np.ones(3) / 3, "valid")
    best = int(np.argmin(smooth))
    return kimgs[best], bool(smooth[-1] >= smooth[best] * (1 + TURN_RISE))


def _cell(values, scale=1.0):
    values = [v * scale for v in values if v is not None]
    if not values:
        return "–"
    return f"{np.mean(values):.1f}" + (f" ± {np.std(values, ddof=1):.1f}" if len(values) > 1 else "")


def summarize(out):
    runs = collections.defaultdict(dict)
    for path in sorted(glob.glob(os.path.join(out, "runs", "*", "swd.json"))):
        run_dir = os.path.dirname(path)
        arm, seed = os.path.basename(run_dir).rsplit("-s", 1)
        runs[arm][int(seed)] = {"points": _per_kimg(run_dir), "ticks": _ticks(run_dir)}
    report = {"runs": {a: {s: r["points"] for s, r in v.items()} for a, v in runs.items()},
              # per run, the tick traces of p and the statistics (kimg, aug_p, aug_rv, aug_rt)
              "traces": {a: {s: [{k: t[k] for k in ("kimg", "aug_p", "aug_rv", "aug_rt", "d_heldout")
                                  if k in t} for t in r["ticks"]] for s, r in v.items()}
                         for a, v in runs.items()}}
    probe = runs.get("none", {}).get(1)
    if probe:
        kimg, turned = turn(probe["points"])
        report["probe_turn"] = {"kimg": kimg, "turned": turned}
        print(f"probe (none, seed 1): lowest SWD at kimg {kimg:g}; "
              + ("turned worse after it" if turned else "no turn by the end"))
        for k, p in probe["points"].items():
            print(f"  kimg {k:g}: SWD {p['swd']:.1f} GAN-test {p.get('gan_test', 0) * 100:.1f}")
    for arm, seeds in sorted(runs.items()):
        common = sorted(set.intersection(*(set(r["points"]) for r in seeds.values())))
        print(f"\n{arm} (seeds {sorted(seeds)}): kimg | SWD (x1e3, as pgan-evaluate) | "
              "GAN-test balanced %")
        for k in common:
            print(f"  {k:g} | {_cell([r['points'][k]['swd'] for r in seeds.values()])} | "
                  f"{_cell([r['points'][k].get('gan_test') for r in seeds.values()], 100)}")
        for seed, r in sorted(seeds.items()):
            pts = {k: r["points"][k] for k in common}
            best = min(pts, key=lambda k: pts[k]["swd"])
            recall = ", ".join(f"{c} {v * 100:.0f}" for c, v in pts[best].get("recall", {}).items())
            print(f"  seed {seed}: best by SWD at kimg {best:g}: GAN-test "
                  f"{pts[best].get('gan_test', 0) * 100:.1f} % (recall {recall})")
            for key in ("aug_p", "aug_rv", "aug_rt"):
                trace = " ".join(f"{t[key]:.2f}" if key in t else "–" for t in r["ticks"])
                print(f"    {key}: {trace}")
    return report


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out")
    parser.add_argument("--json", default=None, help="also write the figures as JSON here")
    args = parser.parse_args()
    report = summarize(args.out)
    if args.json:
        fileio.write_atomic(args.json, json.dumps(report, indent=1, default=str) + "\n")


if __name__ == "__main__":
    main()
