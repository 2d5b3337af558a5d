"""Training time of a plan from `pgan-benchmark`'s JSON: images per resolution / img/s per resolution.

The schedule (official lod timeline, `training/schedule.py`) says how many images each resolution
is shown (a fade-in counts for the new resolution, whose networks run); the benchmark's
`results[res].img_per_s` says how fast each runs. A resolution the benchmark did not time is
extrapolated from the nearest timed one at that one's achieved GFLOP/s and this config's analytic
training FLOPs per image (`bench/flops.py`). Evaluation and data preparation are not included.
"""
import json
import math

from pgan_tf.errors import UserError
from pgan_tf.training.schedule import ScheduleParams, kimg_to_images, next_phase_start, stage_at


def _params(config):
    """The run's schedule (as `training.builders.schedule_params` on one replica, without
    importing the networks: tick_kimg 0 = the official per-resolution table)."""
    return ScheduleParams(
        resolution=config.resolution, lod_initial_resolution=config.lod_initial_resolution,
        lod_training_kimg=config.lod_training_kimg, lod_transition_kimg=config.lod_transition_kimg,
        minibatch_base=config.minibatch_base, minibatch_dict=config.minibatch_dict,
        max_minibatch_per_replica=config.max_minibatch_per_replica,
        tick_kimg=config.tick_kimg or None)


def saved_checkpoints(config):
    """Images seen of every checkpoint a run of `config` saves, by the training loop's rules: a
    step adds its stage's minibatch; a tick ends once the stage's tick_kimg passed since it began,
    or at total_kimg; every `snapshot_ticks`-th tick and the last one save. Steps are counted in
    stretches that end at a tick, a phase change or the total (same result, far fewer steps)."""
    params, total = _params(config), kimg_to_images(config.total_kimg)
    images = tick_start = ticks = 0
    saved = []
    while images < total:
        stage = stage_at(images, params)
        following = next_phase_start(images, params)
        end = total if following is None else min(following, total)
        tick = kimg_to_images(stage.tick_kimg)
        steps = min(math.ceil((tick_start + tick - images) / stage.minibatch),
                    math.ceil((end - images) / stage.minibatch))
        images += max(steps, 1) * stage.minibatch
        if images >= total or images - tick_start >= tick:
            ticks, tick_start = ticks + 1, images
            if images >= total or ticks % config.snapshot_ticks == 0:
                saved.append(images)
    return saved


def kept_checkpoints(config):
    """{images seen: eligible as best} of the checkpoints a finished run keeps (the newest
    `keep_checkpoints`, and a milestone whenever a `keep_checkpoint_every_kimg` boundary was
    crossed): the ones `pgan-evaluate --checkpoints all` scores. Eligible: at the final
    resolution with the fade-in finished, judged at the last step before the snapshot as the
    evaluation restores it (`eval_results.BEST_RULE`)."""
    params, saved = _params(config), saved_checkpoints(config)
    every = kimg_to_images(config.keep_checkpoint_every_kimg)
    kept = set(saved[-config.keep_checkpoints:])
    if every:
        kept |= {n for n, before in zip(saved, [0] + saved) if n // every > before // every}
    out = {}
    for n in sorted(kept):
        stage = stage_at(max(n - 1, 0), params)
        out[n] = stage.resolution == config.resolution and not stage.fading
    return out


def images_per_resolution(config):
    """{resolution: images shown at it} over the whole run of `config` (0 .. total_kimg)."""
    params = _params(config)
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
