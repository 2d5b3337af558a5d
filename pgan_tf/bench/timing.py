"""Benchmark timings: the machine's conv peak, the training step, the input pipeline, peak memory.

Every timing runs after a warm-up (tracing, XLA compilation and oneDNN primitive creation happen
on the first call) and forces the result to the host, so asynchronous GPU execution is included.
"""
import math
import resource
import sys
import time

import numpy as np
import tensorflow as tf

from pgan_tf.bench import flops
from pgan_tf.data import pipeline

# The conv peak: best of 5 timings of a 3x3 conv 512 -> 512 at 32x32, batch 8, NHWC, fp32.
CONV_PEAK_BATCH = 8
CONV_PEAK_SIZE = 32
CONV_PEAK_CHANNELS = 512
CONV_PEAK_KERNEL = 3
CONV_PEAK_REPEATS = 5
_MIB = 1 << 20
# /proc/<pid>/clear_refs value "5" resets the process's peak RSS (Linux >= 4.0, proc(5)).
_CLEAR_REFS = "/proc/self/clear_refs"
_RESET_PEAK_RSS = "5"


def _device_sync(tensor):
    """Copy a (small) result to the host: waits for asynchronous device work to finish."""
    return np.asarray(tensor)


def conv_peak_gflops(jit_compile, repeats=CONV_PEAK_REPEATS):
    """The machine's fp32 conv throughput in GFLOP/s: best of `repeats` timings of the conv above.

    The conv's output is summed inside the function so that only a scalar leaves the device; the
    sum adds one FLOP per output element (0.02% of the conv) and is not counted.
    """
    n, s, c, k = CONV_PEAK_BATCH, CONV_PEAK_SIZE, CONV_PEAK_CHANNELS, CONV_PEAK_KERNEL
    x = tf.random.stateless_normal([n, s, s, c], [0, 1])  # [N, H, W, C] NHWC
    w = tf.random.stateless_normal([k, k, c, c], [0, 2]) * (1.0 / math.sqrt(k * k * c))
    fn = tf.function(lambda x, w: tf.reduce_sum(tf.nn.conv2d(x, w, 1, "SAME")),
                     jit_compile=jit_compile or None)
    _device_sync(fn(x, w))  # warm-up
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        _device_sync(fn(x, w))
        best = min(best, time.perf_counter() - start)
    return n * flops.conv2d_flops(s, s, k, c, c) / best / 1e9


def time_training_steps(trainer, resolution, batch, steps, warmup_steps, num_classes,
                        num_channels=3, seed=0):
    """Seconds of each of `steps` full training iterations at `resolution` after `warmup_steps`.

    Inputs are fixed random reals in [-1, 1] and one-hot labels cycling over the classes, already
    on the device, so only the step is timed (stable phase: no fade-in).
    """
    shape = [batch, resolution, resolution, num_channels]  # [B, res, res, C]
    reals = tf.random.stateless_uniform(shape, [seed, resolution], -1.0, 1.0)
    labels = tf.one_hot(np.arange(batch) % max(num_classes, 1), num_classes)  # [B, K]
    images_seen = 0
    seconds = []
    for i in range(warmup_steps + steps):
        start = time.perf_counter()
        out = trainer.step(reals, labels, resolution, 1.0, False, images_seen)
        _device_sync(out["loss_d"])
        if i >= warmup_steps:
            seconds.append(time.perf_counter() - start)
        images_seen += batch
    return seconds


def images_per_second(batch, step_seconds):
    """Throughput of the fastest timed step, like the conv peak's best-of: on a machine shared
    with other processes the fastest step is the least disturbed one (all step times are kept
    in the JSON for other statistics)."""
    return batch / min(step_seconds)


def time_input_pipeline(data_dir, resolution, batch, num_images, mirror=False, seed=0):
    """The training input pipeline alone: {img_per_s, first_batch_s, images, batch}.

    `first_batch_s` (dataset set-up, reading and shuffling the first epoch) is reported apart;
    img/s is measured over the next `num_images` (rounded up to whole batches).
    """
    start = time.perf_counter()
    batches = iter(pipeline.make_dataset(data_dir, resolution, batch, seed=seed, mirror=mirror))
    _device_sync(next(batches)[0])
    first = time.perf_counter() - start
    count = max(1, -(-num_images // batch))
    start = time.perf_counter()
    for _ in range(count):
        _device_sync(next(batches)[0])
    seconds = time.perf_counter() - start
    return {"img_per_s": count * batch / seconds, "first_batch_s": first,
            "images": count * batch, "batch": batch}


def _gpu_name():
    """'GPU:0' when TensorFlow sees a GPU (the device the step runs on), else None."""
    return "GPU:0" if tf.config.list_logical_devices("GPU") else None


def peak_memory_source():
    """What `peak_memory_mb` reads: the first GPU's allocator peak, else the process's max RSS."""
    if _gpu_name():
        return "tf.config.experimental.get_memory_info(GPU:0)['peak']"
    how = "reset per resolution via /proc/self/clear_refs" if _can_reset_rss() else "never reset"
    return f"process max RSS, resource.getrusage ru_maxrss ({how})"


def _can_reset_rss():
    try:
        with open(_CLEAR_REFS, "w") as f:
            f.write(_RESET_PEAK_RSS)
        return True
    except OSError:
        return False


def reset_peak_memory():
    """Start a new peak: GPU allocator stats, or the process's peak RSS where Linux allows it."""
    name = _gpu_name()
    if name:
        tf.config.experimental.reset_memory_stats(name)
    else:
        _can_reset_rss()


def peak_memory_mb():
    """Peak memory since the last `reset_peak_memory`, in MiB (see `peak_memory_source`)."""
    name = _gpu_name()
    if name:
        return tf.config.experimental.get_memory_info(name)["peak"] / _MIB
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss * (1 if sys.platform == "darwin" else 1024) / _MIB  # bytes on macOS, KiB on Linux
