"""Fixed sampling inputs, uint8 conversion, image grids and PNG writing.

Shared by the TensorBoard summaries, the training grids, export and evaluation so that all of them turn
generator outputs into pixels the same way. NumPy and Pillow only: importing this module must not
import TensorFlow (tools that only write images start fast).
"""
import io
import math

import numpy as np
from PIL import Image

from pgan_tf import fileio

# REFERENCE §5.2: generator range [-1, 1] -> uint8 by out = 127.5 x + 127.5, rounded, saturated.
OUT_MUL = np.float32(127.5)
OUT_ADD = np.float32(127.5)
UINT8_MAX = 255
# Smallest grid cell in pixels: 4x4 and 8x8 samples of early stages stay visible in TensorBoard.
MIN_CELL = 64
# Largest seed np.random.RandomState accepts.
MAX_SEED = 2 ** 32 - 1


def to_uint8(images):
    """Float images in [-1, 1] (any shape, NumPy or eager tensor) -> uint8, as official evaluation.

    rint(127.5 x + 127.5) in float32 (round half to even, like tf.round), clipped to [0, 255]
    (REFERENCE §5.2). NaN maps to 0 so a diverged generator yields black pixels, not garbage.
    """
    x = np.asarray(images, dtype=np.float32)
    x = np.nan_to_num(x, nan=-1.0, posinf=1.0, neginf=-1.0)
    return np.clip(np.rint(x * OUT_MUL + OUT_ADD), 0, UINT8_MAX).astype(np.uint8)


def latents_from_seed(seed, num, latent_size):
    """[num, latent_size] float32 N(0, 1) latents from np.random.RandomState(seed) (deterministic)."""
    _check_seed(seed)
    return np.random.RandomState(seed).standard_normal([num, latent_size]).astype(np.float32)


def one_hot(indices, num_classes):
    """[N] class indices -> [N, num_classes] float32 one-hot rows; ValueError when out of range."""
    indices = np.asarray(indices, dtype=np.int64).reshape([-1])
    if indices.size and (indices.min() < 0 or indices.max() >= num_classes):
        raise ValueError(f"class index out of range [0, {num_classes}): {indices.tolist()}")
    out = np.zeros([indices.size, num_classes], np.float32)
    out[np.arange(indices.size), indices] = 1.0
    return out


def class_grid_inputs(num_classes, per_class, latent_size, seed):
    """Fixed inputs of a class grid: row k holds class k (official 'row_per_class' layout, §3.8).

    Returns latents [K * per_class, L] (from `seed`) and one-hot labels [K * per_class, K]; sample
    k * per_class + j is row k, column j.
    """
    if num_classes < 1 or per_class < 1:
        raise ValueError(f"need num_classes >= 1 and per_class >= 1, got {num_classes}, {per_class}")
    latents = latents_from_seed(seed, num_classes * per_class, latent_size)
    labels = one_hot(np.repeat(np.arange(num_classes), per_class), num_classes)
    return latents, labels


def parse_seeds(text):
    """'0-3,7' -> [0, 1, 2, 3, 7]: comma-separated seeds and inclusive ranges (StyleGAN style)."""
    seeds = []
    for part in str(text).split(","):
        part = part.strip()
        low, sep, high = part.partition("-")
        try:
            first = int(low.strip(), 10)
            last = int(high.strip(), 10) if sep else first
        except ValueError:
            raise ValueError(f"bad seed list {text!r}: expected e.g. '0-63' or '1,5,10-12'") from None
        if not 0 <= first <= last <= MAX_SEED:
            raise ValueError(f"bad seed range {part!r} in {text!r}: need 0 <= first <= last <= {MAX_SEED}")
        seeds.extend(range(first, last + 1))
    return seeds


def make_grid(images_uint8, rows, cols, min_cell=MIN_CELL):
    """Tile uint8 images [N, h, w, C] (N <= rows * cols) into one RGB image [rows*h*f, cols*w*f, 3].

    Image n lands in cell (n // cols, n % cols); empty cells stay black. Each cell is nearest-upsampled
    by the smallest integer f with min(h, w) * f >= min_cell. Grayscale (C = 1 or no channel axis) is
    repeated to RGB.
    """
    images = np.asarray(images_uint8)
    if images.dtype != np.uint8:
        raise ValueError(f"make_grid expects uint8 images (see to_uint8), got {images.dtype}")
    if images.ndim == 3:
        images = images[..., np.newaxis]                    # [N, h, w] -> [N, h, w, 1]
    if images.ndim != 4 or images.shape[-1] not in (1, 3):
        raise ValueError(f"make_grid expects [N, h, w, 1 or 3] images, got shape {images.shape}")
    num, height, width, _ = images.shape
    if num > rows * cols:
        raise ValueError(f"{num} images do not fit a {rows}x{cols} grid")
    if images.shape[-1] == 1:
        images = np.repeat(images, 3, axis=-1)              # [N, h, w, 1] -> [N, h, w, 3]
    factor = max(1, math.ceil(min_cell / min(height, width)))
    images = images.repeat(factor, axis=1).repeat(factor, axis=2)   # [N, h*f, w*f, 3]
    cells = np.zeros([rows * cols] + list(images.shape[1:]), np.uint8)
    cells[:num] = images
    cells = cells.reshape([rows, cols, height * factor, width * factor, 3])
    # [rows, cols, H, W, 3] -> [rows, H, cols, W, 3] -> [rows * H, cols * W, 3]
    return cells.transpose(0, 2, 1, 3, 4).reshape([rows * height * factor, cols * width * factor, 3])


def save_png(path, image_uint8):
    """Write a uint8 [H, W], [H, W, 1] or [H, W, 3] image as PNG atomically (temp file, rename)."""
    image = np.asarray(image_uint8)
    if image.dtype != np.uint8:
        raise ValueError(f"save_png expects a uint8 image, got {image.dtype}")
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]                               # [H, W, 1] -> [H, W]
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[-1] != 3):
        raise ValueError(f"save_png expects [H, W], [H, W, 1] or [H, W, 3], got shape {image.shape}")
    fileio.write_atomic(path, encode_image(image))  # also gs://, ram:// (fileio)


def encode_image(image_uint8, image_format="PNG", **options):
    """The bytes of a uint8 [H, W] or [H, W, 3] image file (PNG, or JPEG with `quality=`)."""
    buffer = io.BytesIO()
    Image.fromarray(image_uint8).save(buffer, format=image_format, **options)
    return buffer.getvalue()


def _check_seed(seed):
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed <= MAX_SEED:
        raise ValueError(f"seed must be an integer in [0, {MAX_SEED}], got {seed!r}")
