"""One table from a `tools/gpu_check.sh` folder: step benchmarks and the precision quality runs.

    python -m pgan_tf.bench.check_table OUT

Reads `OUT/bench/*.json` (written by `pgan-benchmark`) and `OUT/quality/<precision>/<seed>/
results.json` (written by `pgan-evaluate`) and prints Markdown: one row per benchmark file and
resolution (precision, XLA, batch, img/s, fraction of the conv peak, peak memory), then one row
per precision with GAN-test / real balanced accuracy and SWD as mean ± std over the seeds.
Reads JSON only (no TensorFlow), so it also runs on a laptop the results were copied to.
"""
import glob
import json
import os
import statistics
import sys


def benchmark_rows(paths):
    """[dict] per (file, resolution): precision, jit, resolution, batch, img/s, conv-peak share."""
    rows = []
    for path in sorted(paths):
        with open(path) as f:
            data = json.load(f)
        config = data.get("config", {})
        for res, result in sorted(data.get("results", {}).items(), key=lambda kv: int(kv[0])):
            rows.append({"file": os.path.basename(path),
                         "precision": config.get("precision", "float32"),
                         "jit": bool(config.get("jit_compile", False)), "resolution": int(res),
                         "batch": result.get("batch"), "img_per_s": result.get("img_per_s"),
                         "fraction_of_conv_peak": result.get("fraction_of_conv_peak"),
                         "peak_memory_mb": result.get("peak_memory_mb")})
    return rows


def _mean_std(values):
    values = [v for v in values if v is not None]
    if not values:
        return None
    return statistics.mean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def _metric(results, *keys):
    """results[k0][k1]... as a float, or None when absent (e.g. SWD skipped below 16x16)."""
    value = results
    for key in keys:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return float(value) if isinstance(value, (int, float)) else None


def quality_rows(quality_dir):
    """[dict] per precision folder: seeds, GAN-test / real balanced accuracy and SWD mean ± std."""
    rows = []
    for folder in sorted(glob.glob(os.path.join(glob.escape(quality_dir), "*"))):
        runs = []
        for path in sorted(glob.glob(os.path.join(glob.escape(folder), "*", "results.json"))):
            with open(path) as f:
                runs.append(json.load(f))
        if not runs:
            continue
        rows.append({"precision": os.path.basename(folder), "seeds": len(runs),
                     "gan_test": _mean_std([_metric(r, "gan_test", "balanced_accuracy")
                                            for r in runs]),
                     "real": _mean_std([_metric(r, "real", "balanced_accuracy") for r in runs]),
                     "swd": _mean_std([_metric(r, "swd", "avg") for r in runs])})
    return rows


def _fmt(pair, digits=3):
    return "—" if pair is None else f"{pair[0]:.{digits}f} ± {pair[1]:.{digits}f}"


def markdown(bench, quality):
    """The two tables as Markdown (either may be empty)."""
    lines = ["| file | precision | XLA | res | batch | img/s | of conv peak | peak MiB |",
             "|---|---|---|---:|---:|---:|---:|---:|"]
    for r in bench:
        share = r["fraction_of_conv_peak"]
        lines.append(f"| {r['file']} | {r['precision']} | {'on' if r['jit'] else 'off'} | "
                     f"{r['resolution']} | {r['batch']} | {r['img_per_s']:.3g} | "
                     f"{'—' if share is None else f'{share:.0%}'} | "
                     f"{'—' if r['peak_memory_mb'] is None else round(r['peak_memory_mb'])} |")
    if quality:
        lines += ["", "| precision | seeds | GAN-test balanced | real balanced | SWD avg (x1e3) |",
                  "|---|---:|---:|---:|---:|"]
        for q in quality:
            lines.append(f"| {q['precision']} | {q['seeds']} | {_fmt(q['gan_test'])} | "
                         f"{_fmt(q['real'])} | {_fmt(q['swd'], 2)} |")
    return "\n".join(lines)


def main(out_dir):
    """Print the table of a `tools/gpu_check.sh` output folder."""
    bench = benchmark_rows(glob.glob(os.path.join(glob.escape(out_dir), "bench", "*.json")))
    quality = quality_rows(os.path.join(out_dir, "quality"))
    print(markdown(bench, quality))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "gpu_check_out"))
