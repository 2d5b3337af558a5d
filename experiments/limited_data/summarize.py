"""Tables and traces of experiments/limited_data/run.sh (docs/limited_data.md).

    python experiments/limited_data/summarize.py OUT [--json OUT.json] [--png OUT.png]

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
from pgan_tf.metrics import intervals
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


def _provenance(run_dir):
    """(code commit, start time) of one run, from its config.json."""
    with open(os.path.join(run_dir, "config.json")) as f:
        prov = json.load(f)["provenance"]
    return prov.get("git_commit", "")[:7], prov.get("time", "")


def _first_kimg(ticks, key, above):
    """kimg of the first tick whose `key` exceeds `above` (None: never)."""
    return next((t["kimg"] for t in ticks if t.get(key, -np.inf) > above), None)


def best_by_swd(points):
    """One run's checkpoint of lowest SWD against its training reals, with GAN-test and the
    per-class recall *there* (docs/limited_data.md: never the best of the reported metric)."""
    best = min(points, key=lambda k: points[k]["swd"])
    return {"kimg": best, "swd": points[best]["swd"],
            "gan_test": points[best].get("gan_test"),
            "recall": dict(points[best].get("recall", {}))}


def arm_summary(seeds, common):
    """Per arm: each seed's best-by-SWD checkpoint among the kimg every run of the arm was judged
    at, the augmentation traces' landmarks, and mean / std / t-interval over seeds."""
    per_seed = {}
    for seed, r in sorted(seeds.items()):
        entry = best_by_swd({k: r["points"][k] for k in common})
        entry["aug_p_first_rise_kimg"] = _first_kimg(r["ticks"], "aug_p", 0.0)
        entry["aug_p_max"] = max((t["aug_p"] for t in r["ticks"] if "aug_p" in t), default=None)
        entry["aug_rv_first_above_half_kimg"] = _first_kimg(r["ticks"], "aug_rv", 0.5)
        entry["aug_rv_last"] = next((t["aug_rv"] for t in reversed(r["ticks"]) if "aug_rv" in t),
                                    None)
        per_seed[seed] = entry

    def over(get, scale, bounds):
        values = [get(e) * scale for e in per_seed.values() if get(e) is not None]
        return intervals.over_seeds(values, bounds=bounds) if values else None

    pct = (0.0, 100.0)
    return {"per_seed": per_seed,
            "gan_test_pct": over(lambda e: e["gan_test"], 100, pct),
            "swd": over(lambda e: e["swd"], 1, None),
            "recall_pct": {c: over(lambda e, c=c: e["recall"].get(c), 100, pct)
                           for c in ("DF", "VASC")},
            "gan_test_pct_per_kimg": {
                k: intervals.over_seeds([r["points"][k]["gan_test"] * 100
                                         for r in seeds.values()], bounds=pct)
                for k in common if all("gan_test" in r["points"][k] for r in seeds.values())}}


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
        runs[arm][int(seed)] = {"points": _per_kimg(run_dir), "ticks": _ticks(run_dir),
                                "provenance": _provenance(run_dir)}
    # per run: [code commit, start time]
    report = {"provenance": {a: {s: r["provenance"] for s, r in v.items()}
                             for a, v in runs.items()},
              "arms": {},
              "runs": {a: {s: r["points"] for s, r in v.items()} for a, v in runs.items()},
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
        report["arms"][arm] = summary = arm_summary(seeds, common)
        print(f"\n{arm} (seeds {sorted(seeds)}): kimg | SWD (x1e3, as pgan-evaluate) | "
              "GAN-test balanced %")
        for k in common:
            print(f"  {k:g} | {_cell([r['points'][k]['swd'] for r in seeds.values()])} | "
                  f"{_cell([r['points'][k].get('gan_test') for r in seeds.values()], 100)}")
        for seed, r in sorted(seeds.items()):
            best = summary["per_seed"][seed]
            recall = ", ".join(f"{c} {v * 100:.0f}" for c, v in best["recall"].items())
            print(f"  seed {seed}: best by SWD at kimg {best['kimg']:g}: GAN-test "
                  f"{(best['gan_test'] or 0) * 100:.1f} % (recall {recall})")
            for key in ("aug_p", "aug_rv", "aug_rt"):
                trace = " ".join(f"{t[key]:.2f}" if key in t else "–" for t in r["ticks"])
                print(f"    {key}: {trace}")
        print("  over seeds at the SWD-chosen checkpoints: " + ", ".join(
            f"{name} {_interval(summary[key])}" for name, key in
            (("GAN-test %", "gan_test_pct"), ("SWD", "swd")))
            + ", " + ", ".join(f"{c} recall % {_interval(v)}"
                               for c, v in summary["recall_pct"].items()))
    report["paired_vs_none"] = paired_vs_none(report["arms"])
    for arm, diff in report["paired_vs_none"].items():
        print(f"\n{arm} - none, same seed (same held-out set and judge): GAN-test points "
              f"{_interval(diff['gan_test_pct'])}, " + ", ".join(
                  f"{c} {_interval(diff['recall_pct'][c])}" for c in ("DF", "VASC")))
    return report


def paired_vs_none(arms):
    """Per arm, the seed-by-seed difference to `none` at each run's SWD-chosen checkpoint (a seed
    fixes the held-out set, hence the training images and the judge): GAN-test and DF / VASC
    recall in points, mean / std / t-interval over the seeds both arms have."""
    if "none" not in arms:
        return {}
    base = arms["none"]["per_seed"]
    out = {}
    for arm, summary in arms.items():
        seeds = [s for s in summary["per_seed"] if s in base and arm != "none"]
        if not seeds:
            continue
        diff = {"seeds": seeds, "gan_test_pct": intervals.over_seeds(
            [100 * (summary["per_seed"][s]["gan_test"] - base[s]["gan_test"]) for s in seeds],
            bounds=(-100.0, 100.0))}
        diff["recall_pct"] = {c: intervals.over_seeds(
            [100 * (summary["per_seed"][s]["recall"][c] - base[s]["recall"][c]) for s in seeds],
            bounds=(-100.0, 100.0)) for c in ("DF", "VASC")}
        out[arm] = diff
    return out


def _interval(entry):
    if entry is None:
        return "–"
    text = f"{entry['mean']:.1f} ± {entry['std']:.1f}"
    return text + (f" [{entry['low']:.1f}, {entry['high']:.1f}]" if entry["low"] is not None else "")


ARM_COLOURS = {"none": "tab:grey", "diffaug": "tab:blue", "ada": "tab:orange"}


def plot(report, path):
    """One PNG: per arm over kimg, GAN-test balanced, SWD and the DF / VASC recall at the judged
    checkpoints, r_v and `ada`'s p per tick; thin lines one seed, thick the mean over seeds."""
    from matplotlib.figure import Figure

    from pgan_tf.eval import reports

    fig = Figure(figsize=(11, 11), dpi=100, layout="constrained")
    axes = fig.subplots(3, 2).ravel()
    recall = {c: (lambda v, c=c: v.get("recall", {}).get(c)) for c in ("DF", "VASC")}
    panels = ((axes[0], "runs", lambda v: v.get("gan_test"), 100, "GAN-test balanced (%)"),
              (axes[1], "runs", lambda v: v.get("swd"), 1, "SWD x1e3 vs training reals"),
              (axes[2], "runs", recall["DF"], 100, "GAN-test recall DF (%)"),
              (axes[3], "runs", recall["VASC"], 100, "GAN-test recall VASC (%)"),
              (axes[4], "traces", lambda t: t.get("aug_rv"), 1, "r_v per tick (0.5: ADA's target)"),
              (axes[5], "traces", lambda t: t.get("aug_p"), 1, "p per tick (ada)"))
    for ax, source, get, scale, title in panels:
        for arm, seeds in sorted(report[source].items()):
            colour = ARM_COLOURS.get(arm)
            curves = []
            for seed, data in sorted(seeds.items()):
                points = ([(k, get(v)) for k, v in data.items()] if source == "runs"
                          else [(t["kimg"], get(t)) for t in data])
                points = [(float(k), v * scale) for k, v in points if v is not None]
                if points:
                    ax.plot(*zip(*points), color=colour, alpha=0.35, linewidth=0.8)
                    curves.append(dict(points))
            common = sorted(set.intersection(*(set(c) for c in curves))) if curves else []
            if common:
                ax.plot(common, [np.mean([c[k] for c in curves]) for k in common], color=colour,
                        linewidth=2, label=f"{arm} ({len(curves)} seeds)")
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("kimg")
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
    axes[4].axhline(0.5, color="k", linewidth=0.6, linestyle=":")
    reports.save_figure_atomically(fig, path)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out")
    parser.add_argument("--json", default=None, help="also write the figures as JSON here")
    parser.add_argument("--png", default=None, help="also plot the curves and traces here")
    parser.add_argument("--cpu", default="", help="JSON: the CPU the runs ran on")
    parser.add_argument("--command", action="append", default=[],
                        help="JSON: a command that produced the runs (repeatable)")
    args = parser.parse_args()
    report = summarize(args.out)
    if args.png:
        plot(report, args.png)
    if args.json:
        head = {"what": __doc__.splitlines()[0], "cpu": args.cpu, "commands": args.command}
        fileio.write_atomic(args.json, json.dumps({**head, **report}, indent=1, default=str)
                            + "\n")


if __name__ == "__main__":
    main()
