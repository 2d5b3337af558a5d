"""The benchmark's report: machine description, derived checks, Markdown table, atomic JSON write.

Derived checks (performance targets; reported, never asserted):
* growing is free: measured time per image at r divided by what the FLOP count predicts from the
  reference (largest) resolution, t_ref * flops(r) / flops(ref); target <= 1.25.
* the input pipeline's img/s divided by the training step's img/s; target >= 10.
"""
import os
import platform

import keras
import tensorflow as tf

# Performance targets, printed next to the numbers.
GROWING_TARGET = 1.25
PIPELINE_TARGET = 10.0


# The vector extensions that change our step time several-fold: the same "AMD EPYC" model name
# has been an AVX2-only Zen 3 and a Zen 4 with AVX-512 and bf16 (docs/performance.md).
CPU_FEATURES = ("avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile", "amx_bf16")


def _read_cpuinfo():
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            return f.read()
    except OSError:
        return ""


def cpu_description(cpuinfo):
    """{"model", "family", "model_number", "features"} of the first CPU in /proc/cpuinfo text
    (`features`: the ones of `CPU_FEATURES` it has); empty values where the text lacks them."""
    fields = {}
    for line in cpuinfo.splitlines():
        if not line.strip():
            break  # the first processor's block is enough
        key, _, value = line.partition(":")
        fields.setdefault(key.strip(), value.strip())
    flags = set(fields.get("flags", "").split())
    return {"model": fields.get("model name", ""), "family": fields.get("cpu family", ""),
            "model_number": fields.get("model", ""),
            "features": [name for name in CPU_FEATURES if name in flags]}




def machine_info():
    """Where the numbers came from: CPU, GPUs, library versions and the load when sampled."""
    gpus = []
    for device in tf.config.list_physical_devices("GPU"):
        details = tf.config.experimental.get_device_details(device)
        gpus.append(details.get("device_name", device.name))
    cpu = cpu_description(_read_cpuinfo())  # one read of /proc/cpuinfo
    model = cpu["model"] or platform.processor() or platform.machine()
    return {"cpu": model, "cpu_family_model": f"{cpu['family']}/{cpu['model_number']}",
            "cpu_features": cpu["features"], "cpu_count": os.cpu_count(), "gpus": gpus,
            "device": "GPU" if gpus else "CPU", "platform": platform.platform(),
            "python": platform.python_version(), "tensorflow": tf.__version__,
            "keras": keras.__version__}


def load_average():
    """1-, 5- and 15-minute load averages (other processes share the machine), or None."""
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:
        return None


def derived_checks(result):
    """{'growing_ratio': {res: ratio}, 'pipeline_over_step': {res: ratio}} from a result dict."""
    results = result["results"]
    growing = {}
    if results:
        ref = max(results, key=int)
        ref_s_per_gflop = 1.0 / (results[ref]["img_per_s"] * results[ref]["gflop_per_img"])
        for res, r in results.items():
            predicted = ref_s_per_gflop * r["gflop_per_img"]  # seconds per image
            growing[res] = (1.0 / r["img_per_s"]) / predicted
    pipe = result.get("pipeline") or {}
    ratio = {res: pipe[res]["img_per_s"] / results[res]["img_per_s"]
             for res in results if pipe.get(res)}
    return {"reference_resolution": int(max(results, key=int)) if results else None,
            "growing_ratio": growing, "pipeline_over_step": ratio}


def _fmt(value, digits=2):
    return "—" if value is None else f"{value:.{digits}f}"


def _num(value):
    """3 significant digits below 100 (0.927, 36.3), whole numbers above (1862, 276)."""
    return f"{value:.0f}" if value >= 100 else f"{value:.3g}"


def markdown_table(result):
    """The results as Markdown: one row per resolution, then conv peak, prepare and export lines."""
    checks = result.get("checks") or derived_checks(result)
    cfg = result["config"]
    lines = [f"Widths fmap_base={cfg['fmap_base']} fmap_max={cfg['fmap_max']} "
             f"latent={cfg['latent_size']}, jit_compile={cfg['jit_compile']}, "
             f"precision={cfg['precision']}; conv peak {result['conv_peak_gflops']:.1f} GFLOP/s.",
             "",
             "| res | batch | step img/s | GFLOP/img | GFLOP/s | of conv peak | peak MiB "
             "| time/img ÷ FLOP-predicted | pipeline img/s | pipeline ÷ step |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    pipe = result.get("pipeline") or {}
    for res in sorted(result["results"], key=int):
        r = result["results"][res]
        p = pipe.get(res) or {}
        lines.append(
            f"| {res} | {r['batch']} | {_num(r['img_per_s'])} | {_num(r['gflop_per_img'])} "
            f"| {_num(r['achieved_gflops'])} | {r['fraction_of_conv_peak']:.0%} "
            f"| {_fmt(r['peak_memory_mb'], 0)} | {_fmt(checks['growing_ratio'].get(res))} "
            f"| {_fmt(p.get('img_per_s'), 0)} | {_fmt(checks['pipeline_over_step'].get(res), 0)} |")
    lines.append("")
    for name in ("prepare", "export"):
        job = result.get(name)
        if job:
            lines.append(f"{name}: {job['images']} images at {job['resolution']}x"
                         f"{job['resolution']} in {job['seconds']:.1f} s "
                         f"({job['img_per_s']:.2f} img/s)")
        else:
            lines.append(f"{name}: skipped")
    return "\n".join(lines)


