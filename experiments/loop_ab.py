"""A/B timing of the whole training loop (data, step, per-step host work) between source trees.

    python experiments/loop_ab.py --tree before=BEFORE_TREE --tree after=. --rounds 2 \
        --data_dir demo_out/data --output docs/results/optimisations/3-no-host-sync.demo.json

Each round runs, for each resolution and from every tree in turn (alternating, never at once),
`python -m pgan_tf.train --flagfile=flags/demo.cfg --resolution=R --lod_initial_resolution=R`:
training starts at R (one stage, one trace) for 2.1 kimg in 1-kimg ticks, no grids or
checkpoints in between. The img/s of a run is the loop's own `img_per_s` of its second tick
(1.024-2.048 kimg: no trace; it includes the input pipeline and all per-step work of the loop).
Extra flags after `--` go to every run (e.g. `-- --jit_compile`). Prints one Markdown line per
resolution (median over rounds, and each tree's ratio to the first).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

SHORT = ["--total_kimg=2.1", "--tick_kimg=1", "--image_snapshot_ticks=1000",
         "--snapshot_ticks=1000"]
TIMED_TICK = 2  # the first tick holds the trace, the last is partial


def run_once(tree, res, data_dir, flagfile, extra, work):
    """Train at `res` from `tree`; returns the img/s of the timed tick from the run's log."""
    run_dir = tempfile.mkdtemp(dir=work)
    cmd = [sys.executable, "-m", "pgan_tf.train", f"--flagfile={flagfile}",
           f"--data_dir={os.path.abspath(data_dir)}", f"--run_dir={run_dir}",
           f"--resolution={res}", f"--lod_initial_resolution={res}", *SHORT, *extra]
    env = {**os.environ, "PYTHONPATH": tree, "TF_CPP_MIN_LOG_LEVEL": "2"}
    subprocess.run(cmd, cwd=tree, env=env, check=True, stdout=subprocess.DEVNULL)
    with open(os.path.join(run_dir, "log.txt")) as f:
        ticks = [line.split() for line in f if line.startswith("tick ")]
    tokens = ticks[TIMED_TICK - 1]
    return float(tokens[tokens.index("img_per_s") + 1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tree", action="append", required=True, help="name=path of a source tree")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--resolutions", default="16,32")
    parser.add_argument("--data_dir", required=True)
    parser.add_argument("--flagfile", default="flags/demo.cfg", help="relative to each tree")
    parser.add_argument("--output", required=True)
    parser.add_argument("extra", nargs="*", help="flags passed to every run (after --)")
    args = parser.parse_args()
    trees = [t.split("=", 1) for t in args.tree]
    resolutions = [int(r) for r in args.resolutions.split(",")]
    results = {name: {res: [] for res in resolutions} for name, _ in trees}
    with tempfile.TemporaryDirectory() as work:
        for r in range(args.rounds):
            for res in resolutions:
                for name, path in trees:
                    value = run_once(os.path.abspath(path), res, args.data_dir, args.flagfile,
                                     args.extra, work)
                    results[name][res].append(value)
                    print(f"round {r + 1} {res}x{res} {name}: {value:.1f} img/s", file=sys.stderr,
                          flush=True)
    medians = {name: {res: statistics.median(v) for res, v in by_res.items()}
               for name, by_res in results.items()}
    first = trees[0][0]
    for res in resolutions:
        cells = [f"{name} {medians[name][res]:.0f} img/s "
                 f"({medians[name][res] / medians[first][res]:.3f}x)" for name, _ in trees]
        print(f"| {res} | " + " | ".join(cells) + " |")
    load = os.getloadavg()
    with open(args.output, "w") as f:
        json.dump({"command": " ".join(sys.argv), "trees": dict(trees), "rounds": results,
                   "median_img_per_s": medians, "loadavg_at_end": load,
                   "note": "loaded machine: compare the trees' ratio, not absolute img/s"},
                  f, indent=1)


if __name__ == "__main__":
    main()
