"""Fixed sampling inputs, uint8 conversion, image grids and PNG writing.

Shared by the TensorBoard summaries, the training grids, export and evaluation so that all of them turn
generator outputs into pixels the same way. NumPy and Pillow only: importing this module must not
import TensorFlow (tools that only write images start fast).
"""
import io
import math

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from pgan_tf import fileio

# docs/design.md#ms-ssim-fid-and-uint8-images: generator range [-1, 1] -> uint8 by out = 127.5 x +
# 127.5, rounded, saturated.
OUT_MUL = np.float32(127.5)
OUT_ADD = np.float32(127.5)
UINT8_MAX = 255
# Smallest grid cell in pixels: 4x4 and 8x8 samples of early stages stay visible in TensorBoard.
MIN_CELL = 64
# Labels of sample sheets: Pillow's own default font at a fixed size, whatever the cell size, so
# class names stay readable beside 64 px and 1024 px cells alike (capitals are >= 12 px tall).
LABEL_FONT_SIZE = 18
LABEL_PAD = 6                               # pixels around label text
MARGIN_RGB, TEXT_RGB = (255, 255, 255), (0, 0, 0)
# Largest seed np.random.RandomState accepts.
MAX_SEED = 2 ** 32 - 1


def to_uint8(images):
    """Float images in [-1, 1] (any shape, NumPy or eager tensor) -> uint8, as official evaluation.

    rint(127.5 x + 127.5) in float32 (round half to even, like tf.round), clipped to [0, 255]
    (docs/design.md#ms-ssim-fid-and-uint8-images). NaN maps to 0 so a diverged generator yields
    black pixels, not garbage.
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


def label_font():
    """Pillow's built-in font at LABEL_FONT_SIZE (Pillow >= 10.1; needs no font file)."""
    return ImageFont.load_default(size=LABEL_FONT_SIZE)


def labelled_grid(images_uint8, rows, cols, row_labels, column_groups=(), min_cell=MIN_CELL):
    """`make_grid` with a white left margin naming each row and, when `column_groups` is given, a
    top margin naming groups of columns, e.g. [("reals", 4), ("fakes kimg 12", 28)].

    The one helper behind every sample sheet (training grids, TensorBoard images, `grid.png`):
    row r of the grid is labelled `row_labels[r]`, vertically centred, in `label_font()`; a black
    tick in the header marks where a column group starts (image pixels are left untouched). Returns uint8 [header + rows*H, margin + cols*W, 3].
    """
    if len(row_labels) != rows:
        raise ValueError(f"{len(row_labels)} row labels for {rows} rows")
    if column_groups and sum(n for _, n in column_groups) != cols:
        raise ValueError(f"column groups {column_groups} do not add up to {cols} columns")
    grid = make_grid(images_uint8, rows, cols, min_cell)
    cell_h, cell_w = grid.shape[0] // rows, grid.shape[1] // cols
    font = label_font()
    draw_probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    text_w = max([draw_probe.textlength(str(t), font=font) for t in row_labels] + [0])
    margin = int(math.ceil(text_w)) + 2 * LABEL_PAD
    header = LABEL_FONT_SIZE + 2 * LABEL_PAD if column_groups else 0
    canvas = Image.new("RGB", (margin + grid.shape[1], header + grid.shape[0]), MARGIN_RGB)
    canvas.paste(Image.fromarray(grid), (margin, header))
    draw = ImageDraw.Draw(canvas)
    for row, text in enumerate(row_labels):
        draw.text((LABEL_PAD, header + row * cell_h + cell_h // 2), str(text), fill=TEXT_RGB,
                  font=font, anchor="lm")
    x = margin
    for title, count in column_groups:
        draw.text((x + LABEL_PAD, header // 2), str(title), fill=TEXT_RGB, font=font, anchor="lm")
        if x > margin:
            draw.line([(x, 0), (x, header - 1)], fill=TEXT_RGB, width=2)
        x += count * cell_w
    return np.asarray(canvas)


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
