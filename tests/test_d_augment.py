"""D augmentation ops: bit-exact identity at p = 0, shape and range, gradients to the
input through every op, the per-op gate rate, and NumPy cross-checks of the resampler, the
reflection and the colour rotation."""
import math

import numpy as np
import pytest

from pgan_tf import cli

tf = cli.import_tensorflow()

from pgan_tf.training import d_augment as da  # noqa: E402

SEED = tf.constant([3, 4], tf.int64)
P_HIGH = 0.999  # every gate open (almost surely) for a batch of 8


def _images(n=8, size=16, seed=0):
    rng = np.random.RandomState(seed)
    return tf.constant(rng.uniform(-1, 1, (n, size, size, 3)).astype(np.float32))


@pytest.mark.parametrize("groups", [[g] for g in da.GROUPS] + [list(da.GROUPS)])
def test_p_zero_is_the_bit_exact_identity(groups):
    x = _images()
    np.testing.assert_array_equal(da.augment(x, 0.0, SEED, groups).numpy(), x.numpy())


@pytest.mark.parametrize("group", da.GROUPS)
def test_shape_dtype_range_and_every_sample_changed(group):
    x = _images()
    y = da.augment(x, P_HIGH, SEED, [group]).numpy()
    assert y.shape == x.shape and y.dtype == np.float32 and np.all(np.isfinite(y))
    changed = [not np.array_equal(a, b) for a, b in zip(y, x.numpy())]
    assert sum(changed) >= 7  # x-flip/lumaflip fire on half, but each group has other ops
    if group in ("blit", "cutout"):  # index ops, zeroing: never outside the input range
        assert y.min() >= x.numpy().min() - 1e-6 and y.max() <= x.numpy().max() + 1e-6
    elif group == "geom":  # the wavelet low-pass rings a little on noise, as ADA's does
        assert np.abs(y).max() < 1.6
    else:  # colour is unclipped (as ADA) but stays near the range
        assert np.abs(y).max() < 8.0
    again = da.augment(x, P_HIGH, SEED, [group]).numpy()
    other = da.augment(x, P_HIGH, tf.constant([3, 5], tf.int64), [group]).numpy()
    np.testing.assert_array_equal(y, again)  # stateless: same seed, same draw
    assert not np.array_equal(y, other)


@pytest.mark.parametrize("group", da.GROUPS)
def test_gradients_reach_every_input_image(group):
    x = _images()
    weights = tf.constant(np.random.RandomState(1).uniform(0.5, 1.5, x.shape).astype(np.float32))
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = da.augment(x, P_HIGH, SEED, [group])
        total = tf.reduce_sum(y * weights)
    grad = tape.gradient(total, x).numpy()
    assert np.all(np.isfinite(grad))
    assert np.all(np.abs(grad).reshape(len(grad), -1).sum(axis=1) > 0)
    if group in ("blit", "geom"):
        # Every output pixel is a convex combination of input pixels: the gradient of sum(y)
        # spreads exactly one unit per output value.
        with tf.GradientTape() as tape:
            tape.watch(x)
            total = tf.reduce_sum(da.augment(x, P_HIGH, SEED, [group]))
        np.testing.assert_allclose(tape.gradient(total, x).numpy().sum(), np.prod(x.shape),
                                   rtol=1e-5)


def test_each_op_fires_with_probability_p():
    x = _images(n=2000, size=4)
    y = da.augment(x, 0.3, SEED, ["cutout"]).numpy()
    fired = np.mean([not np.array_equal(a, b) for a, b in zip(y, x.numpy())])
    assert abs(fired - 0.3) < 0.04
    # geom has 5 gated ops (two rotations at 1 - sqrt(1 - p)): fires with 1 - (1-p)^4.
    y = da.augment(x, 0.3, SEED, ["geom"]).numpy()
    fired = np.mean([not np.array_equal(a, b) for a, b in zip(y, x.numpy())])
    assert abs(fired - (1 - 0.7 ** 4)) < 0.04


def test_reflect_matches_numpy_reflect_padding():
    size = 5
    index = np.arange(-7, 12)
    padded = np.pad(np.arange(size), 7, mode="reflect")  # padded[i + 7] = value at index i
    np.testing.assert_array_equal(da._reflect(tf.constant(index), size).numpy(), padded[index + 7])


def test_resample_identity_and_integer_shift_match_numpy():
    """Exact up to float rounding, edges included (reflect padding). Quarter turns are `blit`'s:
    through the 2x grid the sym6 pair is zero-phase only in its own direction, as in ADA."""
    x = _images(n=2, size=8)
    size = 8
    eye = np.eye(3, dtype=np.float32)
    shift = eye.copy()
    shift[0, 2] = 2 * 2.0 / size  # output (x) samples input (x + 2 px): a left shift by 2
    out = da.resample(x, tf.constant(np.stack([eye, shift]))).numpy()
    np.testing.assert_allclose(out[0], x.numpy()[0], atol=1e-5)  # sym6 is orthonormal
    padded = np.pad(x.numpy()[1], [(0, 0), (0, 2), (0, 0)], mode="reflect")
    np.testing.assert_allclose(out[1], padded[:, 2:], atol=1e-5)


def test_hue_rotation_keeps_grey_and_cycles_channels_at_120_degrees():
    rot = da._luma_rotation(tf.constant([2 * math.pi / 3, 0.7])).numpy()
    np.testing.assert_allclose(rot[0, :3, :3] @ np.array([1.0, 0.0, 0.0]), [0, 1, 0], atol=1e-6)
    np.testing.assert_allclose(rot[1, :3, :3] @ np.ones(3), np.ones(3), atol=1e-6)
    np.testing.assert_allclose(rot[1, :3, :3].T @ rot[1, :3, :3], np.eye(3), atol=1e-6)
    np.testing.assert_allclose(rot[:, 3], [[0, 0, 0, 1]] * 2)


def test_colour_matrices_are_affine_and_saturation_keeps_grey():
    keys = tf.unstack(tf.random.experimental.stateless_split(SEED, num=5))
    matrix, fired = da.color_matrices(6, P_HIGH, keys)
    assert matrix.shape == (6, 4, 4) and bool(tf.reduce_all(fired))
    np.testing.assert_allclose(matrix.numpy()[:, 3], [[0, 0, 0, 1]] * 6, atol=1e-6)
    sat = da.saturation_matrix(tf.constant([2.0])).numpy()[0]
    np.testing.assert_allclose(sat @ [0.3, 0.3, 0.3, 1], [0.3, 0.3, 0.3, 1], atol=1e-6)
    np.testing.assert_allclose(sat @ [0.5, 0.2, 0.2, 1], [0.7, 0.1, 0.1, 1], atol=1e-6)


def test_cutout_zeroes_one_square_of_half_the_size():
    x = tf.ones([16, 16, 16, 3])
    y = da.augment(x, P_HIGH, SEED, ["cutout"]).numpy()
    for image in y:
        rows, cols = np.nonzero(image[..., 0] == 0)
        assert image[rows, cols].sum() == 0 and len(rows) > 0
        h, w = rows.max() - rows.min() + 1, cols.max() - cols.min() + 1
        assert h <= 8 and w <= 8 and len(rows) == h * w  # a (clipped) square, nothing else


# ---- the resampler keeps fine detail (2x grid between sym6 low-passes, as ADA) ------------------

def _bilinear_native(images, matrix):
    """The resampler `geom` used before the 2x grid: bilinear at the native resolution, reflect
    padding. Kept here only to show that the band test below can fail."""
    batch, size, channels = tf.shape(images)[0], images.shape[1], images.shape[3]
    centres = (tf.range(size, dtype=tf.float32) * 2.0 + 1.0) / size - 1.0
    ys, xs = tf.meshgrid(centres, centres, indexing="ij")
    points = tf.stack([tf.reshape(xs, [-1]), tf.reshape(ys, [-1]), tf.ones([size * size])], 0)
    source = tf.matmul(matrix, points[None])
    px = (source[:, 0] + 1.0) * size / 2.0 - 0.5
    py = (source[:, 1] + 1.0) * size / 2.0 - 0.5
    x0, y0 = tf.floor(px), tf.floor(py)
    fx, fy = (px - x0)[..., None], (py - y0)[..., None]
    x0, y0 = tf.cast(x0, tf.int32), tf.cast(y0, tf.int32)
    flat = tf.reshape(images, [batch, size * size, channels])

    def corner(y, x):
        return tf.gather(flat, da._reflect(y, size) * size + da._reflect(x, size), axis=1,
                         batch_dims=1)

    out = ((corner(y0, x0) * (1 - fx) + corner(y0, x0 + 1) * fx) * (1 - fy)
           + (corner(y0 + 1, x0) * (1 - fx) + corner(y0 + 1, x0 + 1) * fx) * fy)
    return tf.reshape(out, [batch, size, size, channels])


BANDS = ((0.125, 0.25, 0.90), (0.25, 0.375, 0.74), (0.375, 0.5, 0.47))  # cycles/px, min share


def _band_shares(resampler):
    """Share of white noise's power kept per radial band after the `geom` group at p = 1
    (64 images of 32x32, 3 channels): mean |FFT(out)|^2 / mean |FFT(in)|^2 in each band."""
    x = tf.constant(np.random.RandomState(5).normal(size=(64, 32, 32, 3)).astype(np.float32))
    keys = tf.unstack(tf.random.experimental.stateless_split(tf.constant([9, 9], tf.int64), 5))
    matrix, fired = da.geom_matrices(64, tf.constant(1.0), keys)
    assert bool(tf.reduce_all(fired))
    y = resampler(x, matrix).numpy()
    power = lambda a: np.mean(np.abs(np.fft.fft2(a, axes=(1, 2))) ** 2, axis=(0, 3))  # noqa: E731
    f = np.fft.fftfreq(32)
    radius = np.hypot(f[:, None], f[None, :])
    ratio = power(y) / power(x.numpy())
    return [float(np.mean(ratio[(radius >= lo) & (radius < hi)])) for lo, hi, _ in BANDS]


def test_geom_keeps_the_power_of_fine_detail_as_adas_resampler():
    shares = _band_shares(da.resample)
    assert all(s >= floor for s, (_, _, floor) in zip(shares, BANDS)), shares
    old = _band_shares(_bilinear_native)  # the native bilinear resampler fails the same bands
    assert all(s < floor for s, (_, _, floor) in zip(old, BANDS)), old


def test_half_pixel_shift_matches_a_numpy_upsample_filter_decimate_reference():
    """A shift by half a pixel moves the 2x image by one whole sample (no interpolation), so the
    result is NumPy's: reflect-pad, zero-insert, convolve with the sym6 low-pass (x2), skip one
    sample, correlate with the low-pass, keep every other sample."""
    from pgan_tf.training.resample import SYM6
    x = _images(n=1, size=8)
    shift = np.eye(3, dtype=np.float32)
    shift[0, 2] = 0.5 * 2.0 / 8                       # output x samples input x + 0.5 px
    out = da.resample(x, tf.constant(shift[None])).numpy()[0, :, :, 0]
    h, pad = np.array(SYM6) / np.sum(SYM6), 8
    for y in range(8):
        row = np.pad(x.numpy()[0, y, :, 0].astype(np.float64), pad, mode="reflect")
        zeros = np.zeros(2 * len(row))
        zeros[::2] = row
        up = 2.0 * np.convolve(zeros, h)              # 2x sample j of the image at j + 5 + 2 pad
        down = np.correlate(up, h, "valid")           # element m = sum_k h[k] up[m + k]
        expected = down[1 + 2 * pad:1 + 2 * pad + 16:2]
        np.testing.assert_allclose(out[y], expected, atol=1e-5)
