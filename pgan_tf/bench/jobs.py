"""Timings of the benchmark's non-training jobs: dataset preparation and sample export.

Preparation: synthetic ISIC-layout images (600x450 JPEGs, `data/synthetic.py`) are written first,
untimed, then `prepare_dataset` (the library behind pgan-prepare) is timed turning them
into the official-format TFRecords. Export: G_ema generates images at the run's final resolution,
which are converted to uint8 and written as PNG files — the work of exporting samples, without
the checkpoint restore (a one-off cost that does not scale with the number of images).
"""
import os
import time

import numpy as np
import tensorflow as tf
from PIL import Image

from pgan_tf.bench.options import ISIC_IMAGES
from pgan_tf.data import prepare, synthetic

# The paper keeps 501 of ISIC 2018's 10,015 images for validation (paper §3.1,
# docs/design.md#isic-2018).
PAPER_VAL_SIZE = 501
SYNTHETIC_SEED = 0
# Images generated per G call during export (as `RunGenerator`'s default batch).
EXPORT_BATCH = 64


def paper_val_size(num_images):
    """The paper's validation share (501 of 10,015) scaled to `num_images`, at least 1."""
    return max(1, round(num_images * PAPER_VAL_SIZE / ISIC_IMAGES))


def time_prepare(work_dir, num_images, resolution, workers):
    """Write `num_images` synthetic images, time their preparation at `resolution`.

    Returns (report dict, path of the prepared train split).
    """
    raw = os.path.join(work_dir, "synthetic_isic")
    start = time.perf_counter()
    synthetic.write_synthetic_isic(raw, num_images, SYNTHETIC_SEED)
    synthesis = time.perf_counter() - start
    config = prepare.PrepareConfig(
        input_dir=raw, output_dir=os.path.join(work_dir, "prepared"), resolution=resolution,
        val_size=paper_val_size(num_images), workers=workers, progress=False)
    start = time.perf_counter()
    prepare.prepare_dataset(config)
    seconds = time.perf_counter() - start
    report = {"images": num_images, "seconds": seconds, "img_per_s": num_images / seconds,
              "resolution": resolution, "workers": workers, "synthesis_seconds": synthesis}
    return report, os.path.join(config.output_dir, "train")


def _to_uint8(images):
    """float [-1, 1] [N, H, W, C] -> uint8 [N, H, W, C] (x + 1) * 127.5, rounded and clipped."""
    return np.clip(np.rint((np.asarray(images) + 1.0) * 127.5), 0, 255).astype(np.uint8)


def time_export(generator, resolution, num_classes, latent_size, num_images, out_dir,
                jit_compile, batch=EXPORT_BATCH, seed=0):
    """Generate `num_images` with `generator` at `resolution` and write them as PNG files.

    One warm-up batch (tracing/compiling) is run first and not timed. Returns {images, seconds,
    img_per_s, resolution, batch}.
    """
    os.makedirs(out_dir, exist_ok=True)
    generate = tf.function(lambda z, y: generator(z, y, res=resolution, training=False),
                           jit_compile=jit_compile or None)
    size = min(batch, num_images)
    count = -(-num_images // size) * size  # whole batches: a short last batch would retrace
    rng = np.random.RandomState(seed)
    latents = rng.standard_normal((count, latent_size)).astype(np.float32)  # [count, latent]
    labels = np.zeros((count, num_classes), np.float32)  # [count, K] one-hot, classes in turn
    if num_classes:
        labels[np.arange(count), np.arange(count) % num_classes] = 1.0
    generate(tf.constant(latents[:size]), tf.constant(labels[:size])).numpy()  # warm-up
    start = time.perf_counter()
    for i in range(0, count, size):
        images = _to_uint8(generate(tf.constant(latents[i:i + size]),
                                    tf.constant(labels[i:i + size])))
        for j, image in enumerate(images[:num_images - i]):
            Image.fromarray(image).save(os.path.join(out_dir, f"{i + j:06d}.png"))
    seconds = time.perf_counter() - start
    return {"images": num_images, "seconds": seconds, "img_per_s": num_images / seconds,
            "resolution": resolution, "batch": size}
