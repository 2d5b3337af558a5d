"""A GPU plan on paper: FLOPs of a whole training schedule and its time on GPUs.

The work of a run is the issue-5 convention (4 G_fwd + 12 D_fwd per real image, `flops.py`)
summed over the images the schedule shows at each (resolution, fade-in) phase; the time is that
work divided by a fraction of a GPU's dense peak. The peaks are NVIDIA's datasheet figures for
dense math (the datasheets' "with sparsity" Tensor Core numbers are twice these):

* A100 SXM4 (NVIDIA A100 datasheet): FP32 19.5, TF32 Tensor Core 156, BF16 Tensor Core 312 TFLOP/s.
* H100 SXM5 (NVIDIA H100 datasheet): FP32 67, TF32 Tensor Core 494.7 (989 sparse), BF16 Tensor
  Core 989 (1,979 sparse) TFLOP/s.

The convention leaves out elementwise work and counts the gradient penalty's double backward as
part of 12 D-forwards (the exact graph runs ~14, docs/performance.md), so real runs need the
achieved fraction measured on the GPU (`tools/gpu_check.sh`); 30/50/70% bracket what convnets
usually reach.
"""
import types

from pgan_tf.bench import flops
from pgan_tf.training.schedule import IMAGES_PER_KIMG, next_phase_start, stage_at

# Dense peaks in TFLOP/s (datasheet values; see the module docstring).
GPU_PEAKS_TFLOPS = types.MappingProxyType({
    "A100 SXM": types.MappingProxyType({"fp32": 19.5, "tf32": 156.0, "bf16": 312.0}),
    "H100 SXM": types.MappingProxyType({"fp32": 67.0, "tf32": 494.7, "bf16": 989.0}),
})
PEAK_FRACTIONS = (0.3, 0.5, 0.7)


def images_per_phase(params, total_images):
    """{(resolution, fading): real images shown} over [0, total_images) of the schedule."""
    out = {}
    seen = 0
    while seen < total_images:
        stage = stage_at(seen, params)
        end = next_phase_start(seen, params)
        end = total_images if end is None else min(end, total_images)
        key = (stage.resolution, stage.fading)
        out[key] = out.get(key, 0) + end - seen
        seen = end
    return out


def schedule_flops(config, params):
    """Rows per (resolution, fading) phase, in schedule order, and the run's total FLOPs.

    Each row: resolution, fading, images, GFLOP per image, total FLOPs of the phase.
    """
    total_images = int(round(config.total_kimg * IMAGES_PER_KIMG))
    rows = []
    for (res, fading), images in images_per_phase(params, total_images).items():
        per_image = flops.training_flops_per_image(config, res, fading=fading)
        rows.append({"resolution": res, "fading": fading, "images": images,
                     "gflop_per_image": per_image / 1e9, "flops": per_image * images})
    return rows, sum(r["flops"] for r in rows)


def gpu_hours(total_flops, peaks=GPU_PEAKS_TFLOPS, fractions=PEAK_FRACTIONS):
    """{gpu: {precision: {fraction: hours}}} for `total_flops` at fractions of each dense peak."""
    return {gpu: {prec: {f: total_flops / (tflops * 1e12 * f) / 3600 for f in fractions}
                  for prec, tflops in by_prec.items()} for gpu, by_prec in peaks.items()}


def markdown(rows, total_flops, hours):
    """The plan as Markdown: per-phase FLOPs, then hours per GPU, precision and peak fraction."""
    lines = ["| res | phase | kimg | GFLOP/image | PFLOP |", "|---:|---|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['resolution']} | {'fade-in' if r['fading'] else 'stable'} | "
                     f"{r['images'] / IMAGES_PER_KIMG:g} | {r['gflop_per_image']:.3g} | "
                     f"{r['flops'] / 1e15:.1f} |")
    images = sum(r["images"] for r in rows)
    lines.append(f"| **total** | | {images / IMAGES_PER_KIMG:g} | | **{total_flops / 1e15:.1f}** |")
    fractions = next(iter(next(iter(hours.values())).values()))
    lines += ["", "| GPU | precision | dense peak TFLOP/s | "
              + " | ".join(f"hours at {f:.0%}" for f in fractions) + " |",
              "|---|---|---:|" + "---:|" * len(fractions)]
    for gpu, by_prec in hours.items():
        for prec, by_fraction in by_prec.items():
            peak = GPU_PEAKS_TFLOPS[gpu][prec] if gpu in GPU_PEAKS_TFLOPS else float("nan")
            lines.append(f"| {gpu} | {prec} | {peak:g} | "
                         + " | ".join(f"{h:.1f}" for h in by_fraction.values()) + " |")
    return "\n".join(lines)
