"""MS-SSIM of image pairs and of an image set, as official PGAN
(docs/design.md#ms-ssim-fid-and-uint8-images).

Official code: `metrics/ms_ssim.py` of tkarras/progressive_growing_of_gans (itself from the
TensorFlow models repository): 5 scales with weights [0.0448, 0.2856, 0.3001, 0.2363, 0.1333], an
11x11 Gaussian window with sigma 1.5 applied with 'valid' borders (the window shrinks to the image
size at coarse scales, sigma scaled with it), K1 0.01, K2 0.03, max value 255, 2x2 average
downsampling between scales, per-scale SSIM/CS averaged over pixels *and* channels, negatives
clipped to 0 before the weighted product. For a set (the variation metric) images are paired
(even, odd) and the scores averaged over pairs: lower = more diverse.

This port filters separably with SciPy's `ndimage.correlate1d` (the normalised 2-D Gaussian is the
outer product of the normalised 1-D one) in float64; the official code uses SciPy fftconvolve in
float32.
"""
import numpy as np
from scipy import ndimage

from pgan_tf.errors import UserError

# docs/design.md#ms-ssim-fid-and-uint8-images (Wang et al. 2003)
MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
FILTER_SIZE = 11       # docs/design.md#ms-ssim-fid-and-uint8-images: Gaussian window 11 ...
FILTER_SIGMA = 1.5     # ... with sigma 1.5
K1, K2 = 0.01, 0.03    # docs/design.md#ms-ssim-fid-and-uint8-images: SSIM stabilisers
MAX_VAL = 255.0        # docs/design.md#ms-ssim-fid-and-uint8-images: uint8 dynamic range
DEFAULT_BATCH_PAIRS = 32  # pairs per computation batch (memory only)


def gaussian_window_1d(size, sigma):
    """Normalised 1-D Gaussian whose outer product is official `_FSpecialGauss(size, sigma)`.

    Even sizes are centred between pixels (official offset 0.5).
    """
    offset = 0.5 if size % 2 == 0 else 0.0
    x = np.arange(size) - size // 2 + offset
    g = np.exp(-x ** 2 / (2.0 * sigma ** 2))
    return g / g.sum()


def _valid_filter(x, taps):
    """'valid' separable filtering over H and W of [N, H, W, C] -> [N, H-k+1, W-k+1, C].

    `correlate1d` centres a k-tap window at k // 2 (odd or even k); the outputs whose window lies
    inside the image are [k // 2, k // 2 + H - k + 1). The window is symmetric, so this is the
    official convolution.
    """
    k = len(taps)
    first = k // 2
    h, w = x.shape[1] - k + 1, x.shape[2] - k + 1
    rows = ndimage.correlate1d(x, taps, axis=1, mode="constant")[:, first:first + h]
    return ndimage.correlate1d(rows, taps, axis=2, mode="constant")[:, :, first:first + w]


def ssim_and_cs(img1, img2, max_val=MAX_VAL, filter_size=FILTER_SIZE, filter_sigma=FILTER_SIGMA,
                k1=K1, k2=K2):
    """Official `_SSIMForMultiScale`: per-image SSIM and contrast-structure [N] of float [N,H,W,C]."""
    height, width = img1.shape[1:3]
    size = min(filter_size, height, width)          # official: the window cannot exceed the image
    sigma = size * filter_sigma / filter_size       # official: sigma shrinks with the window
    taps = gaussian_window_1d(size, sigma)
    mu1, mu2 = _valid_filter(img1, taps), _valid_filter(img2, taps)
    mu11, mu22, mu12 = mu1 * mu1, mu2 * mu2, mu1 * mu2
    sigma11 = _valid_filter(img1 * img1, taps) - mu11
    sigma22 = _valid_filter(img2 * img2, taps) - mu22
    sigma12 = _valid_filter(img1 * img2, taps) - mu12
    c1, c2 = (k1 * max_val) ** 2, (k2 * max_val) ** 2
    v1 = 2.0 * sigma12 + c2
    v2 = sigma11 + sigma22 + c2
    ssim = np.mean(((2.0 * mu12 + c1) * v1) / ((mu11 + mu22 + c1) * v2), axis=(1, 2, 3))
    cs = np.mean(v1 / v2, axis=(1, 2, 3))
    return ssim, cs


def _downsample(x):
    """Official `_HoxDownsample`: mean of each 2x2 block. [N, H, W, C] -> [N, H/2, W/2, C]."""
    return (x[:, 0::2, 0::2] + x[:, 1::2, 0::2] + x[:, 0::2, 1::2] + x[:, 1::2, 1::2]) * 0.25


def _check_pairs(images_a, images_b, levels):
    if images_a.shape != images_b.shape or images_a.ndim != 4:
        raise UserError(f"MS-SSIM: image sets must be [N, H, W, C] with equal shapes, got "
                        f"{images_a.shape} and {images_b.shape}")
    h, w = images_a.shape[1:3]
    step = 1 << (levels - 1)
    if h % step or w % step:
        raise UserError(f"MS-SSIM: image size {h}x{w} must be a multiple of {step} "
                        f"({levels} scales halve it {levels - 1} times)")


def ms_ssim(images_a, images_b, *, weights=MS_SSIM_WEIGHTS, max_val=MAX_VAL):
    """MS-SSIM of each pair (images_a[i], images_b[i]): float64 [N]. Inputs [N, H, W, C], 0..max_val.

    Official `msssim` returns the mean over the batch; this returns the per-pair values.
    """
    images_a, images_b = np.asarray(images_a), np.asarray(images_b)
    weights = np.asarray(weights, np.float64)
    _check_pairs(images_a, images_b, len(weights))
    im1, im2 = images_a.astype(np.float64), images_b.astype(np.float64)
    mssim, mcs = [], []
    for _ in range(len(weights)):
        ssim, cs = ssim_and_cs(im1, im2, max_val=max_val)
        mssim.append(ssim)
        mcs.append(cs)
        im1, im2 = _downsample(im1), _downsample(im2)
    # Official: "Clip to zero. Otherwise we get NaNs." ([scales, N] arrays)
    mssim = np.clip(np.asarray(mssim), 0.0, np.inf)
    mcs = np.clip(np.asarray(mcs), 0.0, np.inf)
    return np.prod(mcs[:-1] ** weights[:-1, None], axis=0) * mssim[-1] ** weights[-1]


def ms_ssim_of_set(images, *, num_pairs=None, seed=0, batch_pairs=DEFAULT_BATCH_PAIRS):
    """Variation metric of an image set: mean MS-SSIM over pairs (lower = more diverse).

    images: uint8 [N, H, W, C]. With `num_pairs=None` the images are paired in the given order
    (even, odd) as official (an odd last image is left out); otherwise `num_pairs` pairs of distinct
    images are drawn with `np.random.RandomState(seed)` (a permutation, then (even, odd)).
    """
    images = np.asarray(images)
    if images.ndim != 4 or images.dtype != np.uint8:
        raise UserError(f"MS-SSIM: images must be uint8 [N, H, W, C], got {images.dtype} {images.shape}")
    if num_pairs is None:
        order = np.arange(len(images) - len(images) % 2)
    else:
        if not 1 <= num_pairs <= len(images) // 2:
            raise UserError(f"MS-SSIM: num_pairs={num_pairs} needs 1..{len(images) // 2} pairs "
                            f"from {len(images)} images")
        order = np.random.RandomState(seed).permutation(len(images))[:2 * num_pairs]
    if len(order) < 2:
        raise UserError("MS-SSIM: needs at least 2 images")
    first, second = order[0::2], order[1::2]
    scores = [ms_ssim(images[first[i:i + batch_pairs]], images[second[i:i + batch_pairs]])
              for i in range(0, len(first), batch_pairs)]
    return float(np.mean(np.concatenate(scores)))
