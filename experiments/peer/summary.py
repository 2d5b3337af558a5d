"""Medians of the side-by-side JSONs (`side_by_side.sh`) as a Markdown table: img/s per round is
batch / median step time for both sides (the peer harness reports the median; for ours the median
of `results.<res>.step_seconds`, not the benchmark's fastest-step figure)."""
import glob
import json
import os
import statistics
import sys

LABELS = {"full32b4": "full official widths, 32x32, batch 4",
          "w32r32b16": "width 32, 32x32, batch 16", "w32r16b16": "width 32, 16x16, batch 16"}


def img_per_s(path):
    data = json.load(open(path))
    if os.path.basename(path).startswith("peer"):
        return data["img_per_s"], None
    res = next(iter(data["results"].values()))
    return res["batch"] / statistics.median(res["step_seconds"]), res["fraction_of_conv_peak"]


def main(folder):
    rows = {}
    for path in sorted(glob.glob(os.path.join(folder, "*_r*.json"))):
        who, cfg, _ = os.path.basename(path)[:-5].split("_")
        rows.setdefault(cfg, {}).setdefault(who, []).append(img_per_s(path))
    print("| config | peer img/s | ours img/s | ours / peer | ours: fraction of conv peak |")
    print("|---|---:|---:|---:|---:|")
    for cfg, label in LABELS.items():
        if cfg not in rows:
            continue
        peer = statistics.median(v for v, _ in rows[cfg]["peer"])
        ours = statistics.median(v for v, _ in rows[cfg]["ours"])
        frac = statistics.median(f for _, f in rows[cfg]["ours"])
        print(f"| {label} | {peer:.3g} | {ours:.3g} | **{ours / peer:.2f}×** | {frac:.0%} |")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__)))
