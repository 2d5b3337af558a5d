"""Affine resampling of D's inputs on a 2x grid with a wavelet low-pass (the `geom` group).

Sampling an image bilinearly at its own resolution after a rotation or a scaling blurs it: between
pixel centres bilinear interpolation is a triangle filter, which at 0.25-0.375 cycles/px keeps about
half of the power (white noise through the `geom` group at p = 1). StyleGAN2-ADA (Karras et al.
2020, appendix B.2) avoids this by (1) upsampling 2x with a wavelet low-pass, (2) resampling
bilinearly on that 2x grid, where the image is band-limited to half the grid's Nyquist rate, so the
triangle filter costs little, and (3) low-pass filtering and decimating back. We do the same with
the same filter pair: the Daubechies least-asymmetric wavelet of 12 taps, "symlet 6" (sym6), whose
decomposition low-pass h is used to upsample and its mirror image (the reconstruction low-pass) to
downsample, so the pair's combined response is symmetric (zero phase). Because h is orthonormal,
upsampling then downsampling without a warp returns the image (up to float rounding).

Every step is a gather or a matrix product on the images, so gradients reach the input images.
Points outside the image are read from its mirror image about the edge pixels (numpy/torch
'reflect', as the `blit` group and ADA's reflect padding).
"""
import numpy as np
import tensorflow as tf

# sym6 decomposition low-pass h[0..11] (sum sqrt(2), orthonormal: sum_k h[k] h[k + 2n] = delta_n,
# 6 vanishing moments of the matching high-pass). Values from the published table of symlets
# (Daubechies, "Ten Lectures on Wavelets", 1992, §8.1; as listed by PyWavelets for 'sym6').
SYM6 = (0.015404109327027373, 0.0034907120842174702, -0.11799011114819057, -0.048311742585633,
        0.4910559419267466, 0.787641141030194, 0.3379294217276218, -0.07263752278646252,
        -0.021060292512300564, 0.04472490177066578, 0.0017677118642428036, -0.007800708325034148)
_TAPS = len(SYM6)
_HALF = _TAPS // 2 - 1  # 5: tap k sits (k - 5.5) half-pixels from the sample it serves
# Native pixels of reflected border kept around the 2x image: the decimation filter reads up to
# 2.75 px outside the image and each 2x sample draws on 3 px more, so 6 px make the un-warped
# round trip exact up to the edges; points beyond are mirrored into the image first.
_MARGIN = 6


def _reflect(index, size):
    """Mirror integer indices into [0, size - 1] without repeating the edge (numpy 'reflect')."""
    period = max(2 * size - 2, 1)
    index = np.mod(index, period)
    return np.where(index >= size, period - index, index)


def upsample_matrix(size, margin=0):
    """[2(S + 2 margin), S] float32: the 2x grid's samples (centres at native i -/+ 0.25) of the
    image extended by `margin` pixels each side by reflection; row r holds 2x sample r - 2 margin.

    up[j] = 2 sum_k h'[k] x[(j - k + 5) / 2] over the taps where that index is whole; h' = h / sum h,
    and each parity of h' sums to 1/2, so a constant image stays constant."""
    h = np.asarray(SYM6, np.float64) / np.sum(SYM6)
    rows = 2 * (size + 2 * margin)
    matrix = np.zeros((rows, size), np.float64)
    for r in range(rows):
        j = r - 2 * margin
        for k in range(_TAPS):
            if (j - k + _HALF) % 2 == 0:
                matrix[r, _reflect((j - k + _HALF) // 2, size)] += 2.0 * h[k]
    return matrix.astype(np.float32)


def downsample_matrix(size):
    """[S, 2S + 10] float32: native samples from the 2x grid with 5 extra samples on each side
    (index j + 5 holds 2x sample j): d[i] = sum_k h'[k] u[2i + k - 5], a correlation with h',
    i.e. a convolution with its mirror image (the reconstruction low-pass)."""
    h = np.asarray(SYM6, np.float64) / np.sum(SYM6)
    matrix = np.zeros((size, 2 * size + 2 * _HALF), np.float64)
    for i in range(size):
        for k in range(_TAPS):
            matrix[i, 2 * i + k] += h[k]  # column 2i + k holds 2x sample 2i + k - 5
    return matrix.astype(np.float32)


def _mirror(coord, size):
    """Continuous 'reflect' about the first and last pixel centres for points more than
    _MARGIN - 1 px outside the image (-> [0, size - 1]); points nearer are kept (the 2x image holds
    their reflected neighbourhood)."""
    period = 2.0 * (size - 1)
    folded = tf.math.floormod(coord, period)
    folded = tf.where(folded > size - 1, period - folded, folded)
    near = tf.logical_and(coord >= 1.0 - _MARGIN, coord <= size - 2.0 + _MARGIN)
    return tf.where(near, coord, folded)


def resample(images, matrix):
    """Sample `images` [N, S, S, C] at `matrix` @ (output pixel centre) through the 2x grid.

    `matrix`: [N, 3, 3] output -> input maps in normalized coordinates ([-1, 1] across the image,
    x first). Gradients flow to `images` (not to `matrix`)."""
    batch, size, channels = tf.shape(images)[0], images.shape[1], images.shape[3]
    up_m = tf.constant(upsample_matrix(size, _MARGIN))
    up = tf.einsum("ab,nbcz,dc->nadz", up_m, images, up_m)          # [N, 2S+4M, 2S+4M, C]
    side = 2 * (size + 2 * _MARGIN)
    # The 2x output grid with 5 extra samples each side for the decimation filter.
    fine = 2 * size + 2 * _HALF
    t = (tf.range(fine, dtype=tf.float32) - _HALF) / 2.0 - 0.25      # native pixel units
    centres = (t + 0.5) * 2.0 / size - 1.0                             # normalized
    ys, xs = tf.meshgrid(centres, centres, indexing="ij")
    points = tf.stack([tf.reshape(xs, [-1]), tf.reshape(ys, [-1]), tf.ones([fine * fine])], 0)
    source = tf.matmul(tf.stop_gradient(matrix), points[None])        # [N, 3, F*F]
    # Normalized -> native pixel units (mirrored if far out) -> row of `up` (2 (t + M) + 0.5).
    qx = (_mirror((source[:, 0] + 1.0) * size / 2.0 - 0.5, size) + _MARGIN) * 2.0 + 0.5
    qy = (_mirror((source[:, 1] + 1.0) * size / 2.0 - 0.5, size) + _MARGIN) * 2.0 + 0.5
    x0 = tf.clip_by_value(tf.floor(qx), 0.0, side - 2.0)
    y0 = tf.clip_by_value(tf.floor(qy), 0.0, side - 2.0)
    fx, fy = (qx - x0)[..., None], (qy - y0)[..., None]               # [N, F*F, 1]
    x0, y0 = tf.cast(x0, tf.int32), tf.cast(y0, tf.int32)
    flat = tf.reshape(up, [batch, side * side, channels])

    def corner(y, x):
        return tf.gather(flat, y * side + x, axis=1, batch_dims=1)    # [N, F*F, C]

    top = corner(y0, x0) * (1.0 - fx) + corner(y0, x0 + 1) * fx
    bottom = corner(y0 + 1, x0) * (1.0 - fx) + corner(y0 + 1, x0 + 1) * fx
    warped = tf.reshape(top * (1.0 - fy) + bottom * fy, [batch, fine, fine, channels])
    down_m = tf.constant(downsample_matrix(size))
    return tf.einsum("ab,nbcz,dc->nadz", down_m, warped, down_m)      # [N, S, S, C]
