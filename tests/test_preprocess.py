"""Decode/convert, center crop + antialiased resize, and the lesion-grouped stratified split."""
import collections
import io

import numpy as np
import pytest
from PIL import Image

from pgan_tf.data import preprocess
from pgan_tf.errors import UserError

CLASSES = ("MEL", "NV", "BCC", "AKIEC", "BKL", "DF", "VASC")


@pytest.mark.parametrize("size, box", [((600, 450), (75, 0, 525, 450)),
                                       ((450, 600), (0, 75, 450, 525)),
                                       ((5, 4), (0, 0, 4, 4)), ((7, 7), (0, 0, 7, 7))])
def test_center_square_box(size, box):
    assert preprocess.center_square_box(*size) == box


def test_crop_ignores_everything_outside_the_center_square():
    # 600x450: the central 450x450 square is (10, 200, 30); the side bands are saturated colours
    # that a resize reading outside the square (or a non-centered crop) would bleed in.
    pixels = np.zeros((450, 600, 3), np.uint8)
    pixels[:, :75] = (255, 0, 0)
    pixels[:, 525:] = (0, 0, 255)
    pixels[:, 75:525] = (10, 200, 30)
    out = preprocess.crop_and_resize(Image.fromarray(pixels), 16)
    assert out.shape == (16, 16, 3) and out.dtype == np.uint8
    assert np.all(out == (10, 200, 30))


def test_resize_is_antialiased():
    # A 1-pixel checkerboard averages to mid-grey; point sampling would give pure 0/255 pixels.
    checker = (np.indices((448, 448)).sum(0) % 2 * 255).astype(np.uint8)
    out = preprocess.crop_and_resize(Image.fromarray(checker).convert("RGB"), 16)
    assert np.all(np.abs(out.astype(float) - 127.5) < 3)


def test_resize_keeps_a_smooth_ramp():
    # Linear horizontal ramp 0..255 over 512 px → 32 px: pixel j covers source [16j, 16j+16), whose
    # mean value is (16j + 7.5) * 255 / 511 (away from the borders, where the filter is truncated).
    ramp = np.tile(np.arange(512) * 255 / 511, (512, 1)).round().astype(np.uint8)
    out = preprocess.crop_and_resize(Image.fromarray(ramp).convert("RGB"), 32)[:, :, 0]
    expected = (16 * np.arange(32) + 7.5) * 255 / 511
    assert np.all(np.abs(out[:, 2:-2] - expected[2:-2]) <= 1.0)


def _encoded(img, fmt, **kw):
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


@pytest.mark.parametrize("mode, fmt", [("L", "PNG"), ("RGBA", "PNG"), ("CMYK", "JPEG"),
                                       ("P", "PNG"), ("RGB", "JPEG")])
def test_colour_modes_are_converted_to_rgb(tmp_path, mode, fmt):
    path = tmp_path / f"x.{fmt.lower()}"
    path.write_bytes(_encoded(Image.new(mode, (12, 10)), fmt))
    img, converted = preprocess.decode_rgb(str(path))
    assert img.mode == "RGB" and img.size == (12, 10)
    assert converted == (None if mode == "RGB" else mode)


def test_grayscale_conversion_copies_the_grey_level(tmp_path):
    path = tmp_path / "g.png"
    Image.new("L", (6, 6), 77).save(path)
    out, converted = preprocess.load_square(str(path), 4)
    assert converted == "L" and np.all(out == 77)


def test_truncated_and_garbage_files_are_bad_images(tmp_path):
    data = _encoded(Image.fromarray(np.random.default_rng(0).integers(
        0, 255, (64, 64, 3), dtype=np.uint8)), "JPEG")
    (tmp_path / "cut.jpg").write_bytes(data[:len(data) // 2])
    (tmp_path / "junk.jpg").write_bytes(b"this is not an image")
    for name in ("cut.jpg", "junk.jpg"):
        with pytest.raises(preprocess.BadImageError, match="cannot decode"):
            preprocess.decode_rgb(str(tmp_path / name))


def test_unsupported_mode_is_a_bad_image(tmp_path):
    Image.new("I;16", (4, 4)).save(tmp_path / "deep.png")
    with pytest.raises(preprocess.BadImageError, match="unsupported colour mode"):
        preprocess.decode_rgb(str(tmp_path / "deep.png"))


# ---- split -------------------------------------------------------------------------------------

def _dataset(seed=0, n_lesions=(40, 200, 20, 15, 40, 6, 7)):
    """Labels and lesion ids: per class, lesions of 1-3 images."""
    rng = np.random.default_rng(seed)
    labels, lesions = [], []
    for c, count in enumerate(n_lesions):
        for k in range(count):
            size = int(rng.choice([1, 2, 3], p=[0.7, 0.2, 0.1]))
            labels += [c] * size
            lesions += [f"{c}-{k}"] * size
    order = rng.permutation(len(labels))  # images of a lesion are not adjacent
    return [labels[i] for i in order], [lesions[i] for i in order]


def test_split_keeps_lesions_whole_and_is_stratified():
    labels, lesions = _dataset()
    n, val_size = len(labels), 60
    train, val = preprocess.split_by_lesion(labels, lesions, CLASSES, val_size, seed=3)
    assert sorted(train + val) == list(range(n))
    assert not {lesions[i] for i in train} & {lesions[i] for i in val}
    counts = collections.Counter(labels)
    val_counts = collections.Counter(labels[i] for i in val)
    for c in range(len(CLASSES)):
        # within one lesion (≤ 3 images) of the proportional share, and never all of a class
        assert abs(val_counts[c] - val_size * counts[c] / n) < 1 + 3
        assert val_counts[c] < counts[c]
    assert abs(len(val) - val_size) <= 7  # each class may miss its quota by < 1 lesion


def test_split_quotas_are_exact_for_single_image_lesions():
    # Counts (7, 30, 4, 4, 7, 4, 4), val 10: exact shares 1.17, 5, .67, .67, 1.17, .67, .67 →
    # floors 1, 5, 0, 0, 1, 0, 0 (7) + the 3 largest remainders (.67 each: BCC, AKIEC, DF by class
    # order).
    labels = [c for c, k in enumerate((7, 30, 4, 4, 7, 4, 4)) for _ in range(k)]
    lesions = [str(i) for i in range(len(labels))]
    _, val = preprocess.split_by_lesion(labels, lesions, CLASSES, 10, seed=0)
    assert [sum(labels[i] == c for i in val) for c in range(7)] == [1, 5, 1, 1, 1, 1, 0]


def test_split_is_deterministic_for_a_seed():
    labels, lesions = _dataset()
    a = preprocess.split_by_lesion(labels, lesions, CLASSES, 50, seed=1)
    b = preprocess.split_by_lesion(labels, lesions, CLASSES, 50, seed=1)
    c = preprocess.split_by_lesion(labels, lesions, CLASSES, 50, seed=2)
    assert a == b and a[1] != c[1]


def test_val_size_zero_keeps_everything_in_train():
    labels, lesions = _dataset()
    train, val = preprocess.split_by_lesion(labels, lesions, CLASSES, 0, seed=0)
    assert val == [] and train == list(range(len(labels)))


def test_split_refuses_to_leave_a_class_without_training_images():
    labels = [0, 0, 0, 1, 1, 1]
    lesions = ["a", "a", "b", "c", "d", "e"]
    with pytest.raises(UserError, match="leave class MEL without a training image"):
        preprocess.split_by_lesion(labels, lesions, ("MEL", "NV"), 5, seed=0)
    with pytest.raises(UserError, match="larger than the dataset"):
        preprocess.split_by_lesion(labels, lesions, ("MEL", "NV"), 7, seed=0)


def test_split_never_takes_a_class_s_last_lesion():
    # MEL is one lesion of 3 images; its quota (2) cannot be met without taking all of it.
    labels = [0, 0, 0] + [1] * 6
    lesions = ["m", "m", "m"] + [f"n{i}" for i in range(6)]
    train, val = preprocess.split_by_lesion(labels, lesions, ("MEL", "NV"), 6, seed=0)
    assert {0, 1, 2} <= set(train)
    assert len(val) == 4  # NV's quota
