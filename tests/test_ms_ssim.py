"""MS-SSIM against an independent loop-based NumPy reference of the official code
(docs/design.md#ms-ssim-fid-and-uint8-images)."""
import math

import numpy as np
import pytest

from pgan_tf.errors import UserError
from pgan_tf.metrics import ms_ssim as ms

WEIGHTS = [0.0448, 0.2856, 0.3001, 0.2363, 0.1333]


# ----------------------------------------------------------------------------------------------
# Reference: 2-D window from the formula, windowed sums one position at a time.
def _ref_window(size, sigma):
    offset = 0.5 if size % 2 == 0 else 0.0
    w = np.zeros((size, size))
    for i in range(size):
        for j in range(size):
            y, x = i - size // 2 + offset, j - size // 2 + offset
            w[i, j] = math.exp(-(x * x + y * y) / (2 * sigma * sigma))
    return w / w.sum()


def _ref_ssim_cs(a, b):
    """Per-image SSIM and CS of float64 [N, H, W, C] with a 'valid' window."""
    n, h, w, c = a.shape
    size = min(11, h, w)
    win = _ref_window(size, size * 1.5 / 11)[None, :, :, None]
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    ssim_sum, cs_sum, count = np.zeros(n), np.zeros(n), 0
    for y in range(h - size + 1):
        for x in range(w - size + 1):
            pa, pb = a[:, y:y + size, x:x + size], b[:, y:y + size, x:x + size]
            mu_a, mu_b = (win * pa).sum((1, 2)), (win * pb).sum((1, 2))  # [N, C]
            var_a = (win * pa * pa).sum((1, 2)) - mu_a ** 2
            var_b = (win * pb * pb).sum((1, 2)) - mu_b ** 2
            cov = (win * pa * pb).sum((1, 2)) - mu_a * mu_b
            cs = (2 * cov + c2) / (var_a + var_b + c2)
            lum = (2 * mu_a * mu_b + c1) / (mu_a ** 2 + mu_b ** 2 + c1)
            ssim_sum += (lum * cs).sum(1)
            cs_sum += cs.sum(1)
            count += c
    return ssim_sum / count, cs_sum / count


def _ref_ms_ssim(a, b):
    a, b = a.astype(np.float64), b.astype(np.float64)
    result = np.ones(len(a))
    for level, weight in enumerate(WEIGHTS):
        ssim, cs = _ref_ssim_cs(a, b)
        value = ssim if level == len(WEIGHTS) - 1 else cs
        result *= np.maximum(value, 0.0) ** weight
        n, h, w, c = a.shape
        a = a.reshape(n, h // 2, 2, w // 2, 2, c).mean((2, 4))
        b = b.reshape(n, h // 2, 2, w // 2, 2, c).mean((2, 4))
    return result


# ----------------------------------------------------------------------------------------------
def _images(seed, n, size=32):
    rng = np.random.RandomState(seed)
    yy, xx = np.mgrid[0:size, 0:size] / size
    out = []
    for _ in range(n):
        f = rng.uniform(0.5, 4, size=(3, 2))
        base = np.stack([np.sin(2 * np.pi * (f[c, 0] * yy + f[c, 1] * xx)) for c in range(3)], -1)
        out.append(128 + 80 * base + rng.normal(0, 15, size=(size, size, 3)))
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


def test_window_matches_official_2d_gaussian():
    for size, sigma in ((11, 1.5), (8, 8 * 1.5 / 11), (4, 4 * 1.5 / 11)):
        g = ms.gaussian_window_1d(size, sigma)
        np.testing.assert_allclose(np.outer(g, g), _ref_window(size, sigma), rtol=1e-12)


def test_matches_loop_reference():
    a = _images(0, 3)
    noise = np.random.RandomState(2).normal(size=a.shape) * np.array([40, 100, 200])[:, None, None, None]
    b = np.clip(np.round(a + noise), 0, 255).astype(np.uint8)
    ours = ms.ms_ssim(a, b)
    ref = _ref_ms_ssim(a, b)
    assert ref.max() < 0.99 and ref.min() > 0.01  # values away from the trivial 1 and the clip at 0
    np.testing.assert_allclose(ours, ref, rtol=1e-4)


def test_identical_images_score_one():
    a = _images(3, 2)
    np.testing.assert_allclose(ms.ms_ssim(a, a.copy()), 1.0, rtol=1e-12)
    assert ms.ms_ssim_of_set(np.repeat(a[:1], 4, axis=0)) == pytest.approx(1.0)


def test_negative_structure_is_clipped_to_zero():
    a = _images(4, 1)
    score = ms.ms_ssim(a, 255 - a)
    assert np.isfinite(score).all() and score[0] == 0.0


def test_decreases_with_noise():
    a = _images(5, 2)
    noise = np.random.RandomState(6).normal(size=a.shape)
    scores = [ms.ms_ssim(a, np.clip(np.round(a + s * noise), 0, 255)).mean() for s in (0, 5, 20, 60)]
    assert scores[0] == pytest.approx(1.0)
    assert all(hi > lo for hi, lo in zip(scores, scores[1:])), scores


def test_set_pairs_even_with_odd_and_seeded_sampling():
    images = _images(7, 7)
    per_pair = ms.ms_ssim(images[0:6:2], images[1:6:2])
    assert ms.ms_ssim_of_set(images) == pytest.approx(per_pair.mean())  # last odd image left out
    order = np.random.RandomState(9).permutation(7)[:4]
    expected = ms.ms_ssim(images[order[0::2]], images[order[1::2]]).mean()
    assert ms.ms_ssim_of_set(images, num_pairs=2, seed=9, batch_pairs=1) == pytest.approx(expected)
    again = ms.ms_ssim_of_set(images, num_pairs=2, seed=9)
    assert ms.ms_ssim_of_set(images, num_pairs=2, seed=9) == again


def test_bad_inputs_raise_user_error():
    images = _images(8, 4)
    with pytest.raises(UserError, match="num_pairs"):
        ms.ms_ssim_of_set(images, num_pairs=3)
    with pytest.raises(UserError, match="multiple of 16"):
        ms.ms_ssim(images[:, :24, :24], images[:, :24, :24])
    with pytest.raises(UserError, match="uint8"):
        ms.ms_ssim_of_set(images.astype(np.float32))
