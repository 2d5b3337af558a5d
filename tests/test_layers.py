"""Golden-value and reference tests for pgan_tf.model.layers (docs/design.md#shared-layers)."""
import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from pgan_tf.model import layers as L

SQRT2 = math.sqrt(2.0)


@pytest.fixture(autouse=True)
def _seed():
    keras.utils.set_random_seed(1234)


@pytest.fixture
def float16_policy():
    keras.mixed_precision.set_global_policy("mixed_float16")
    yield
    keras.mixed_precision.set_global_policy("float32")


def np_conv_same(x, w):
    """Independent NumPy 'SAME' stride-1 cross-correlation, x [N,H,W,Ci], w [k,k,Ci,Co]."""
    k = w.shape[0]
    p = k // 2
    n, h, wd, _ = x.shape
    xp = np.pad(x, ((0, 0), (p, p), (p, p), (0, 0)))
    out = np.zeros((n, h, wd, w.shape[3]))
    for i in range(k):
        for j in range(k):
            out += xp[:, i:i + h, j:j + wd, :] @ w[i, j]
    return out


def np_upsample(x):
    return x.repeat(2, axis=1).repeat(2, axis=2)


def np_avgpool(x):
    n, h, w, c = x.shape
    return x.reshape(n, h // 2, 2, w // 2, 2, c).mean(axis=(2, 4))


def built(layer, shape):
    layer.build(shape)
    return layer


def randomize_bias(layer, rng):
    layer.bias.assign(rng.standard_normal(layer.bias.shape).astype(np.float32))


# Runtime constants listed in docs/design.md#shared-layers (rounded there to 4 significant digits).
@pytest.mark.parametrize("make_layer, shape, expected", [
    (lambda: L.EqualizedDense(1, gain=SQRT2 / 4), (None, 519), 0.01552),  # G 4x4 dense, 512+7 in
    (lambda: L.EqualizedConv2D(1, 3), (None, 4, 4, 512), 0.02083),  # 3x3 conv from 512 ch
    (lambda: L.EqualizedConv2D(1, 3), (None, 4, 4, 64), 0.0589),  # 3x3 conv from 64 ch
    (lambda: L.EqualizedConv2D(3, 1, gain=1.0), (None, 4, 4, 64), 0.125),  # ToRGB from 64
    (lambda: L.EqualizedConv2D(3, 1, gain=1.0), (None, 4, 4, 512), 0.0442),  # ToRGB from 512
    (lambda: L.EqualizedConv2D(1, 1), (None, 4, 4, 3), 0.8165),  # FromRGB from 3 ch
    (lambda: L.EqualizedConv2D(1, 3), (None, 4, 4, 513), 0.02081),  # D 4x4 conv after mbstd
    (lambda: L.EqualizedDense(1), (None, 4, 4, 512), 0.015625),  # D Dense0, 8192 in (flattened)
    (lambda: L.EqualizedDense(8, gain=1.0), (None, 512), 0.0442),  # D Dense1
    (lambda: L.EqualizedConv2DUp(1), (None, 4, 4, 512), 0.02083),  # fused up: fan_in 9*C_in
    (lambda: L.EqualizedConv2DDown(1), (None, 4, 4, 64), 0.0589),  # fused down: fan_in 9*C_in
])
def test_wscale_golden_values(make_layer, shape, expected):
    layer = built(make_layer(), shape)
    assert isinstance(layer.wscale, float)
    assert layer.wscale == pytest.approx(expected, rel=5e-4)


def test_kernel_is_standard_normal_and_bias_zero():
    conv = built(L.EqualizedConv2D(64, 3), (None, 8, 8, 64))
    kernel = conv.kernel.numpy()
    assert abs(kernel.mean()) < 0.02 and abs(kernel.std() - 1.0) < 0.02  # N(0, 1), not He-scaled
    np.testing.assert_array_equal(conv.bias.numpy(), 0.0)


def test_dense_matches_numpy_and_flattens():
    rng = np.random.default_rng(0)
    dense = built(L.EqualizedDense(5, gain=0.7), (None, 2, 2, 3))
    randomize_bias(dense, rng)
    x = rng.standard_normal((4, 2, 2, 3)).astype(np.float32)
    w = dense.kernel.numpy().astype(np.float64) * 0.7 / math.sqrt(12)
    expected = x.reshape(4, 12) @ w + dense.bias.numpy()
    np.testing.assert_allclose(dense(x).numpy(), expected, atol=1e-5)


def test_conv_matches_numpy_with_scaled_kernel():
    rng = np.random.default_rng(1)
    conv = built(L.EqualizedConv2D(4, 3), (None, 5, 6, 3))
    randomize_bias(conv, rng)
    x = rng.standard_normal((2, 5, 6, 3)).astype(np.float32)
    w = conv.kernel.numpy().astype(np.float64) * SQRT2 / math.sqrt(27)
    expected = np_conv_same(x, w) + conv.bias.numpy()
    np.testing.assert_allclose(conv(x).numpy(), expected, atol=1e-5)


def test_fused_up_equals_upsample_then_conv():
    rng = np.random.default_rng(2)
    up = built(L.EqualizedConv2DUp(4), (None, 5, 6, 3))
    assert tuple(up.kernel.shape) == (3, 3, 3, 4)  # same variable as a plain 3x3 conv
    randomize_bias(up, rng)
    x = rng.standard_normal((2, 5, 6, 3)).astype(np.float32)
    w = up.kernel.numpy().astype(np.float64) * up.wscale
    expected = np_conv_same(np_upsample(x), w) + up.bias.numpy()
    y = up(x).numpy()
    assert y.shape == (2, 10, 12, 4)
    np.testing.assert_allclose(y, expected, atol=1e-5)


def test_fused_down_equals_conv_then_avgpool():
    rng = np.random.default_rng(3)
    down = built(L.EqualizedConv2DDown(4), (None, 6, 8, 3))
    assert tuple(down.kernel.shape) == (3, 3, 3, 4)
    randomize_bias(down, rng)
    x = rng.standard_normal((2, 6, 8, 3)).astype(np.float32)
    w = down.kernel.numpy().astype(np.float64) * down.wscale
    expected = np_avgpool(np_conv_same(x, w)) + down.bias.numpy()  # bias after the pooling
    y = down(x).numpy()
    assert y.shape == (2, 3, 4, 4)
    np.testing.assert_allclose(y, expected, atol=1e-5)


def test_bias_layer_adds_per_channel_vector():
    bias = built(L.Bias(), (None, 2, 2, 3))
    np.testing.assert_array_equal(bias.bias.numpy(), 0.0)
    bias.bias.assign([1.0, -2.0, 0.5])
    y = bias(np.zeros((1, 2, 2, 3), np.float32)).numpy()
    np.testing.assert_array_equal(y[0, 1, 0], [1.0, -2.0, 0.5])


def test_pixel_norm_hand_values():
    # Channels (3, 4): mean square (9 + 16) / 2 = 12.5 -> (3, 4) / sqrt(12.5).
    x = np.array([[[[3.0, 4.0]], [[0.0, 0.0]]]], np.float32)  # [1, 2, 1, 2]
    y = L.PixelNorm()(x).numpy()
    np.testing.assert_allclose(y[0, 0, 0], [0.848528137, 1.131370850], rtol=1e-6)
    np.testing.assert_array_equal(y[0, 1, 0], [0.0, 0.0])  # epsilon keeps zeros finite


def test_pixel_norm_runs_in_float32_under_float16(float16_policy):
    # 300^2 + 400^2 overflows float16 (max 65504); a float32 reduction does not.
    x = tf.constant([[3.0, 4.0]], tf.float16) * 100
    y = L.PixelNorm()(x)
    assert y.dtype == tf.float16
    np.testing.assert_allclose(y.numpy().astype(np.float32), [[0.8485, 1.1314]], rtol=1e-3)


def test_minibatch_stddev_groups_samples_n_mod_m():
    # N = 8, group size 4 -> M = 2 groups; sample n is in group n mod 2.
    # Group 0 = samples 0,2,4,6 = (0, 2, 4, 6): population var = (9+1+1+9)/4 = 5.
    # Group 1 = samples 1,3,5,7 = all 10: var 0 -> sqrt(0 + 1e-8) = 1e-4.
    x = np.array([0, 10, 2, 10, 4, 10, 6, 10], np.float32).reshape(8, 1, 1, 1)
    y = L.MinibatchStddev(group_size=4)(x).numpy()
    assert y.shape == (8, 1, 1, 2)
    np.testing.assert_array_equal(y[..., 0], x[..., 0])
    expected = np.array([math.sqrt(5.0), 1e-4] * 4)
    np.testing.assert_allclose(y[:, 0, 0, 1], expected, rtol=1e-5)


def test_minibatch_stddev_averages_over_pixels_and_channels():
    # One group of 4; channel 0 alternates +-1 (std 1), channel 1 is constant (std 1e-4);
    # pixel (0,1) is scaled by 3 (std 3, 3e-4). Mean over H, W, C of those four stds.
    base = np.array([1.0, -1.0, 1.0, -1.0], np.float32)
    x = np.zeros((4, 1, 2, 2), np.float32)
    x[:, 0, 0, 0] = base
    x[:, 0, 1, 0] = 3 * base
    y = L.MinibatchStddev(group_size=4)(x).numpy()
    expected = (1.0 + 1e-4 + 3.0 + 1e-4) / 4
    np.testing.assert_allclose(y[..., 2], np.full((4, 1, 2), expected), rtol=1e-5)


def test_minibatch_stddev_group_capped_by_batch_and_divisibility():
    x = np.array([1.0, 3.0], np.float32).reshape(2, 1, 1, 1)  # G = min(4, 2) = 2, std 1
    np.testing.assert_allclose(L.MinibatchStddev(4)(x).numpy()[:, 0, 0, 1], [1.0, 1.0], rtol=1e-6)
    with pytest.raises(ValueError, match="divisible"):
        L.MinibatchStddev(4)(np.zeros((6, 1, 1, 1), np.float32))


def test_minibatch_stddev_float32_under_float16(float16_policy):
    x = tf.constant([300.0, -300.0, 300.0, -300.0], tf.float16)[:, None, None, None]
    y = L.MinibatchStddev(4)(x)  # 300^2 overflows float16
    assert y.dtype == tf.float16
    np.testing.assert_allclose(y.numpy()[:, 0, 0, 1].astype(np.float32), 300.0, rtol=1e-3)


def test_upscale_and_downscale_hand_values():
    x = np.array([[1.0, 2.0], [3.0, 4.0]], np.float32).reshape(1, 2, 2, 1)
    up = L.Upscale2D(2)(x).numpy()[0, :, :, 0]
    np.testing.assert_array_equal(up, [[1, 1, 2, 2], [1, 1, 2, 2], [3, 3, 4, 4], [3, 3, 4, 4]])
    big = np.arange(16, dtype=np.float32).reshape(1, 4, 4, 1)
    down = L.Downscale2D(2)(big).numpy()[0, :, :, 0]
    np.testing.assert_array_equal(down, [[2.5, 4.5], [10.5, 12.5]])  # e.g. (0+1+4+5)/4
    assert L.Upscale2D(4)(x).shape == (1, 8, 8, 1)


def test_lrelu_slope():
    y = L.lrelu(tf.constant([-1.0, 0.0, 2.0])).numpy()
    np.testing.assert_allclose(y, [-0.2, 0.0, 2.0])


def test_equalized_layers_under_mixed_precision(float16_policy):
    conv = built(L.EqualizedConv2DUp(2), (None, 2, 2, 3))
    assert conv.kernel.dtype == "float32"
    y = conv(np.ones((1, 2, 2, 3), np.float32))
    assert y.dtype == tf.float16 and y.shape == (1, 4, 4, 2)


@pytest.mark.parametrize("layer, shape", [
    (L.EqualizedDense(3, gain=0.5, use_bias=False, name="d"), (None, 4)),
    (L.EqualizedConv2D(3, 1, gain=1.0, name="c"), (None, 4, 4, 2)),
    (L.EqualizedConv2DUp(3, name="u"), (None, 4, 4, 2)),
    (L.EqualizedConv2DDown(3, name="v"), (None, 4, 4, 2)),
    (L.PixelNorm(1e-4), None), (L.MinibatchStddev(16), None), (L.Upscale2D(4), None),
    (L.Downscale2D(4), None), (L.Bias(), None),
])
def test_get_config_round_trip(layer, shape):
    config = layer.get_config()
    clone = type(layer).from_config(config)
    assert clone.get_config() == config
    if shape is not None:
        layer.build(shape)
        clone.build(shape)
        assert clone.wscale == layer.wscale
        clone.set_weights(layer.get_weights())
        x = np.random.default_rng(4).standard_normal((2,) + shape[1:]).astype(np.float32)
        np.testing.assert_array_equal(clone(x).numpy(), layer(x).numpy())
