"""D augmentation ops (issue 13): bit-exact identity at p = 0, shape and range, gradients to the
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
    if group != "color":  # index ops, convex resampling, zeroing: never outside the input range
        assert y.min() >= x.numpy().min() - 1e-6 and y.max() <= x.numpy().max() + 1e-6
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


def test_resample_integer_shift_and_quarter_turn_match_numpy():
    x = _images(n=2, size=8)
    size = 8
    eye = np.eye(3, dtype=np.float32)
    shift = eye.copy()
    shift[0, 2] = 2 * 2.0 / size  # output (x) samples input (x + 2 px): a left shift by 2
    out = da.resample(x, tf.constant(np.stack([eye, shift]))).numpy()
    np.testing.assert_allclose(out[0], x.numpy()[0], atol=1e-6)
    padded = np.pad(x.numpy()[1], [(0, 0), (0, 2), (0, 0)], mode="reflect")
    np.testing.assert_allclose(out[1], padded[:, 2:], atol=1e-5)
    turn = np.array([[0, -1, 0], [1, 0, 0], [0, 0, 1]], np.float32)  # (x, y) <- (-y, x): out[i, j] = in[j, S-1-i]
    out = da.resample(x, tf.constant(np.stack([turn, turn]))).numpy()
    np.testing.assert_allclose(out, np.rot90(x.numpy(), k=1, axes=(1, 2)), atol=1e-5)


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
