"""Image preprocessing (decode → RGB → center square crop → antialiased resize) and the
lesion-grouped, class-stratified train/val split.

NumPy/PIL only: these functions run inside the `prepare.py` worker processes, which never import
TensorFlow.
"""
import collections

import numpy as np
from PIL import Image, UnidentifiedImageError

from pgan_tf.errors import UserError

# Paper §3.1: "center cropped to 450x450 pixels and then downsampled to 256x256". For other sizes we
# take the largest centered square, which is 450x450 for the 600x450 ISIC images.
# Resize filter: PIL LANCZOS, an antialiased windowed sinc (its support grows with the reduction);
# it is the filter official PGAN's dataset_tool uses (`PIL.Image.ANTIALIAS`, now named LANCZOS;
# docs/design.md#dataset-format).
RESIZE_FILTER = Image.Resampling.LANCZOS
RESIZE_FILTER_NAME = "PIL LANCZOS (antialiased)"
# Colour modes converted to RGB (and listed under "converted" in dataset.json); RGB passes as is.
# Paper §3.1: 10,015 images = 9,514 train + 501 validation; only used to suggest a --val_size.
PAPER_VAL_SHARE = 501 / 10015
CONVERTIBLE_MODES = ("1", "L", "LA", "P", "PA", "RGBA", "RGBX", "CMYK", "YCbCr", "La")


class BadImageError(Exception):
    """An image file that cannot be used (corrupt, truncated, unsupported mode); str = reason."""


def decode_rgb(path):
    """Fully decode `path` → (RGB PIL image, original mode if converted else None).

    Raises BadImageError for unreadable, truncated or empty images and unsupported modes.
    """
    try:
        with Image.open(path) as img:
            img.load()  # forces the full decode: truncated files fail here, not later
            mode = img.mode
            if img.width < 1 or img.height < 1:
                raise BadImageError(f"empty image ({img.width}x{img.height})")
            if mode == "RGB":
                return img.copy(), None
            if mode not in CONVERTIBLE_MODES:
                raise BadImageError(f"unsupported colour mode {mode}; convert it to RGB")
            return img.convert("RGB"), mode
    except BadImageError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError,
            SyntaxError) as err:
        reason = str(err).replace(f" '{path}'", "").replace(str(path), "the file")
        raise BadImageError(f"cannot decode image ({reason})") from None


def center_square_box(width, height):
    """(left, top, right, bottom) of the largest centered square: 600x450 → (75, 0, 525, 450)."""
    side = min(width, height)
    left, top = (width - side) // 2, (height - side) // 2
    return left, top, left + side, top + side


def crop_and_resize(img, resolution):
    """Center square crop then antialiased resize: PIL image → uint8 [resolution, resolution, 3]."""
    # Crop first, then resize (not `resize(box=...)`, whose filter would also read pixels outside
    # the square): exactly "center crop, then downsample" of paper §3.1.
    square = img.crop(center_square_box(img.width, img.height))
    out = square.resize((resolution, resolution), resample=RESIZE_FILTER)
    return np.asarray(out, dtype=np.uint8)  # [R, R, 3] HWC


def load_square(path, resolution):
    """Decode, convert to RGB, crop and resize one file → (uint8 [R, R, 3], converted-from mode)."""
    img, converted = decode_rgb(path)
    return crop_and_resize(img, resolution), converted


def preprocessing_info():
    """What `load_square` does, for dataset.json ("preprocessing")."""
    return {"color": "RGB (other colour modes converted, listed under 'converted'); EXIF "
                     "orientation ignored, as official dataset_tool",
            "crop": "largest centered square (450x450 for 600x450 ISIC images; paper §3.1)",
            "resize": RESIZE_FILTER_NAME,
            "levels": "full resolution down to 4x4 by repeated 2x2 box average in float32 from the "
                      "unrounded previous level, each level rint/clip/uint8 (official PGAN)"}


def split_by_lesion(labels, lesions, classes, val_size, seed):
    """Lesion-grouped, class-stratified split → (train indices, val indices), both sorted.

    `labels[i]` is image i's class index, `lesions[i]` its lesion id. Each lesion belongs to the
    class of its first image. Class c gets a val quota of about val_size·n_c/N images
    (largest-remainder rounding, so quotas sum to val_size); whole lesions are drawn in a seeded
    random order until the quota is met, so a class's val count may miss its quota by less than one
    lesion. Refuses a split that leaves a class without a training image.
    """
    labels = np.asarray(labels)
    n = len(labels)
    groups = collections.OrderedDict()
    for i, lesion in enumerate(lesions):  # lesion order = first appearance in index order
        groups.setdefault(lesion, []).append(i)
    by_class = collections.defaultdict(list)
    for members in groups.values():
        by_class[int(labels[members[0]])].append(members)
    counts = [sum(len(m) for m in by_class[c]) for c in range(len(classes))]
    if val_size > n:
        raise UserError(f"--val_size={val_size} is larger than the dataset ({n} images)"
                        f"{_val_size_hint(counts)}")
    quotas = _largest_remainder(counts, val_size)
    rng = np.random.default_rng(seed)
    val = []
    for c, quota in enumerate(quotas):
        if quota and quota >= counts[c]:
            raise UserError(f"--val_size={val_size} would leave class {classes[c]} without a "
                            f"training image ({counts[c]} images); use a smaller --val_size"
                            f"{_val_size_hint(counts)}")
        order = rng.permutation(len(by_class[c])) if by_class[c] else []
        val += _fill_quota([by_class[c][j] for j in order], quota, counts[c])
    val = sorted(val)
    train = sorted(set(range(len(labels))) - set(val))
    _check_train_has_every_class(labels[train], classes)
    return train, val


def workable_val_size(counts, limit):
    """Largest val size <= `limit` whose quotas leave every class a training image (0 if none)."""
    for total in range(min(limit, sum(counts)), 0, -1):
        if all(q == 0 or q < c for q, c in zip(_largest_remainder(counts, total), counts)):
            return total
    return 0


def _val_size_hint(counts):
    """'; --val_size=V works ...' for an error message: the paper's share of the images (501 of
    10,015, paper §3.1) when that works, else the largest size that does."""
    n = sum(counts)
    share = int(round(n * PAPER_VAL_SHARE))
    if share and workable_val_size(counts, share) == share:
        return f"; --val_size={share} works (5 % of the {n} images, the paper's share)"
    largest = workable_val_size(counts, n)
    if largest:
        return f"; --val_size={largest} works (the largest that leaves every class a training image)"
    return "; --val_size=0 (no validation split) works, or add images"


def _largest_remainder(counts, total):
    """Integer quotas ∝ counts summing to `total` (Hamilton's method; ties → lower class index)."""
    n = sum(counts)
    if total > n:
        raise UserError(f"--val_size={total} is larger than the dataset ({n} images)")
    exact = [total * c / n for c in counts]
    quotas = [int(e) for e in exact]
    by_remainder = sorted(range(len(counts)), key=lambda c: (-(exact[c] - quotas[c]), c))
    for c in by_remainder[:total - sum(quotas)]:
        quotas[c] += 1
    return quotas


def _fill_quota(lesion_groups, quota, class_count):
    """Greedy: take lesions (in the given order) that fit the quota; then the one remaining lesion
    that brings the count closest to the quota, if it gets closer and leaves a training image."""
    taken, rest = [], []
    for group in lesion_groups:
        (taken if sum(map(len, taken)) + len(group) <= quota else rest).append(group)
    count = sum(map(len, taken))
    if count < quota and rest:
        best = min(rest, key=len)
        if abs(count + len(best) - quota) < quota - count and count + len(best) < class_count:
            taken.append(best)
    return [i for group in taken for i in group]


def _check_train_has_every_class(train_labels, classes):
    present = set(np.asarray(train_labels).tolist())
    missing = [c for i, c in enumerate(classes) if i not in present]
    if missing:
        raise UserError(f"the train/val split leaves class {', '.join(missing)} without a training "
                        "image; use a smaller --val_size or add images of that class")
