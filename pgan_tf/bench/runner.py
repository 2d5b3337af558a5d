"""`run_benchmark(config, options)`: the benchmark as one JSON-ready dict.

    {"conv_peak_gflops": P,
     "results": {"32": {"img_per_s", "gflop_per_img", "achieved_gflops", "fraction_of_conv_peak",
                        "peak_memory_mb", "batch", "step_seconds", "load_average"}, ...},
     "pipeline": {"32": {"img_per_s", "first_batch_s", "images", "batch"}, ...} or None,
     "prepare": {"images", "seconds", "img_per_s", "resolution", "workers", "synthesis_seconds"}
                or None,
     "export": {"images", "seconds", "img_per_s", "resolution", "batch"} or None,
     "machine": {...}, "config": {...}, "checks": {...}}

Order: conv peak (best of 5), the training step per resolution (one Trainer; all stages'
variables exist from the start, so only the step's tf.function is new per resolution), the conv
peak again, then preparation, the input pipeline on the prepared data, and export — so the step's
peak memory is not inflated by them. The higher of the two conv peaks is used: the machine may be
shared, and a peak taken while another process runs would inflate every ratio.
"""
import os
import sys
import tempfile

import numpy as np

from pgan_tf.bench import flops, jobs, report, timing
from pgan_tf.bench.options import batch_for, check_options
from pgan_tf.errors import UserError
from pgan_tf.training.builders import model_factories
from pgan_tf.training.loop import configure_runtime
from pgan_tf.training.step import Trainer


def _config_section(config, options):
    keys = ("resolution", "num_classes", "latent_size", "fmap_base", "fmap_max", "fmap_decay",
            "attention_stages", "attention_type", "mbstd_group_size", "fused_scale",
            "jit_compile", "precision")
    section = {k: v for k, v in config.to_dict().items() if k in keys}
    section.update(batch={str(r): batch_for(options, config, r) for r in options.resolutions},
                   steps=options.steps, warmup_steps=options.warmup_steps,
                   command=options.command)
    return section


def _time_steps(config, options, log):
    """results[res] for every resolution (see module docstring)."""
    make_g, make_d = model_factories(config)
    k = config.num_classes
    rows = np.eye(k, dtype=np.float32) if k else np.zeros((1, 0), np.float32)  # G label rows
    trainer = Trainer(config, make_g, make_d, rows)
    results = {}
    for res in options.resolutions:
        batch = batch_for(options, config, res)
        timing.reset_peak_memory()
        seconds = timing.time_training_steps(trainer, res, batch, options.steps,
                                             options.warmup_steps, k, config.num_channels)
        img_per_s = timing.images_per_second(batch, seconds)
        gflop = flops.training_flops_per_image(config, res) / 1e9
        results[str(res)] = {
            "img_per_s": img_per_s, "gflop_per_img": gflop, "achieved_gflops": img_per_s * gflop,
            "fraction_of_conv_peak": None,  # set once the conv peak is final
            "peak_memory_mb": timing.peak_memory_mb(), "batch": batch, "step_seconds": seconds,
            "load_average": report.load_average()}  # includes this process (~1 per busy core)
        log(f"{res}x{res}: batch {batch}, {img_per_s:.3f} img/s, {img_per_s * gflop:.1f} GFLOP/s")
    return trainer, results


def _pipeline_dir(config, prepared, log):
    """The prepared train split to time the pipeline on: this run's, else --data_dir's, or None."""
    if prepared:
        return prepared
    root = config.data_dir
    if root and os.path.isdir(root):
        has_json = os.path.isfile(os.path.join(root, "dataset.json"))
        return os.path.join(root, "train") if has_json else root
    log(f"pipeline: skipped (--skip_prepare and no prepared dataset at --data_dir={root!r})")
    return None


def _time_pipeline(data_dir, config, options, log):
    from pgan_tf.data.pipeline import list_resolutions

    try:
        available = list_resolutions(data_dir)
    except UserError as err:  # keep the step timings: report the pipeline as not measured
        log(f"pipeline: skipped ({err})")
        return None
    out = {}
    for res in options.resolutions:
        if res not in available:
            log(f"pipeline: {res}x{res} is not in {data_dir}; skipped")
            continue
        out[str(res)] = timing.time_input_pipeline(
            data_dir, res, batch_for(options, config, res), options.pipeline_images,
            mirror=config.mirror_augment, seed=config.seed)
        log(f"pipeline {res}x{res}: {out[str(res)]['img_per_s']:.0f} img/s")
    return out


def run_benchmark(config, options, log=None):
    """Measure everything `options` asks for with the model of `config`; returns the result dict."""
    log = log or (lambda line: print(line, file=sys.stderr, flush=True))
    check_options(options, config)
    configure_runtime(config)  # seed, determinism and precision policy before any model exists
    result = {"conv_peak_gflops": None, "results": {}, "pipeline": None, "prepare": None,
              "export": None, "machine": report.machine_info(),
              "config": _config_section(config, options)}
    load = {"start": report.load_average()}
    result["machine"]["peak_memory_source"] = timing.peak_memory_source()
    peaks = [timing.conv_peak_gflops(config.jit_compile)]
    log(f"conv peak: {peaks[0]:.1f} GFLOP/s (jit_compile={config.jit_compile})")
    trainer, result["results"] = _time_steps(config, options, log)
    # Measured again after the steps: the higher value is the least disturbed by other processes.
    peaks.append(timing.conv_peak_gflops(config.jit_compile))
    log(f"conv peak after the steps: {peaks[1]:.1f} GFLOP/s")
    result["conv_peak_gflops"] = peak = max(peaks)
    result["machine"]["conv_peak_samples"] = peaks
    for r in result["results"].values():
        r["fraction_of_conv_peak"] = r["achieved_gflops"] / peak
    with tempfile.TemporaryDirectory(prefix="pgan_bench_", dir=options.work_dir or None) as work:
        prepared = None
        if not options.skip_prepare:
            resolution = options.prepare_resolution or config.resolution
            result["prepare"], prepared = jobs.time_prepare(work, options.prepare_images,
                                                            resolution, options.workers)
            log(f"prepare: {options.prepare_images} images in {result['prepare']['seconds']:.1f} s")
        data_dir = _pipeline_dir(config, prepared, log)
        if data_dir:
            result["pipeline"] = _time_pipeline(data_dir, config, options, log)
        if not options.skip_export:
            result["export"] = jobs.time_export(
                trainer.G_ema, config.resolution, config.num_classes, config.latent_size,
                options.export_images, os.path.join(work, "export"), config.jit_compile)
            log(f"export: {result['export']['img_per_s']:.2f} img/s")
    load["end"] = report.load_average()
    result["machine"]["load_average"] = load
    result["checks"] = report.derived_checks(result)
    return result
