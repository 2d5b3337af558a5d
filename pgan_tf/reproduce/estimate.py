"""Training time of a plan from `pgan-benchmark`'s JSON: images per resolution / img/s per resolution.

The schedule (official lod timeline, `training/schedule.py`) says how many images each resolution
is shown (a fade-in counts for the new resolution, whose networks run); the benchmark's
`results[res].img_per_s` says how fast each runs. A resolution the benchmark did not time is
extrapolated from the nearest timed one at that one's achieved GFLOP/s and this config's analytic
training FLOPs per image (`bench/flops.py`). Evaluation and data preparation are not included.
"""
import json

from pgan_tf.errors import UserError
from pgan_tf.training.schedule import ScheduleParams, kimg_to_images, next_phase_start, stage_at


def images_per_resolution(config):
    """{resolution: images shown at it} over the whole run of `config` (0 .. total_kimg)."""
    params = ScheduleParams(resolution=config.resolution,
                            lod_initial_resolution=config.lod_initial_resolution,
                            lod_training_kimg=config.lod_training_kimg,
                            lod_transition_kimg=config.lod_transition_kimg)
    total, start, out = kimg_to_images(config.total_kimg), 0, {}
    while start < total:
        following = next_phase_start(start, params)
        end = total if following is None else min(following, total)
        res = stage_at(start, params).resolution
        out[res] = out.get(res, 0) + end - start
        start = end
    return dict(sorted(out.items()))


def read_benchmark(path):
    """{resolution: {"img_per_s", "achieved_gflops"}} of a pgan-benchmark JSON."""
    try:
        with open(path, encoding="utf-8") as f:
            results = json.load(f)["results"]
        return {int(res): r for res, r in results.items() if r.get("img_per_s")}
    except (OSError, ValueError, KeyError, AttributeError) as err:
        raise UserError(f"--benchmark_json={path}: not a pgan-benchmark JSON ({err})") from None


def untimed_resolutions(configs, bench):
    """Resolutions the runs of `configs` train at that the benchmark did not time (sorted)."""
    return sorted({res for config in configs for res in images_per_resolution(config)} - set(bench))


def seconds_per_image(config, res, bench):
    """(seconds per image at `res`, True when extrapolated) from the benchmark table."""
    if res in bench:
        return 1.0 / bench[res]["img_per_s"], False
    from pgan_tf.bench.flops import training_flops_per_image  # loads TensorFlow: only when needed

    nearest = min(bench, key=lambda r: (abs(r.bit_length() - res.bit_length()), -r))
    gflops = bench[nearest].get("achieved_gflops")
    if not gflops:
        raise UserError(f"--benchmark_json: no timing at {res}x{res} and no achieved_gflops at "
                        f"{nearest}x{nearest} to extrapolate from")
    return training_flops_per_image(config, res) / (gflops * 1e9), True


def run_seconds(config, bench):
    """(estimated seconds of one training run, resolutions extrapolated)."""
    seconds, extrapolated = 0.0, []
    for res, images in images_per_resolution(config).items():
        per_image, guessed = seconds_per_image(config, res, bench)
        seconds += images * per_image
        if guessed:
            extrapolated.append(res)
    return seconds, extrapolated
