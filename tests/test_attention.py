"""Tests for pgan_tf.model.attention: SNL (paper Eq. 3) and SAGAN, against NumPy references."""
import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from pgan_tf.model.attention import SAGANAttention, SNLAttention, make_attention

SHAPE = (2, 4, 5, 6)  # [N, H, W, C]


@pytest.fixture(autouse=True)
def _seed():
    keras.utils.set_random_seed(99)


def np_softmax(z, axis=-1):
    z = z - z.max(axis=axis, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=axis, keepdims=True)


def np_snl(x, wk, wv, bv):
    """Paper Eq. 3: z_i = x_i + W_v sum_j softmax_j(W_k x_j) x_j (plus W_v's bias), NumPy."""
    n, h, w, c = x.shape
    flat = x.reshape(n, h * w, c)  # [N, P, C]
    a = np_softmax(flat @ wk)  # [N, P]: one logit per position, softmax over all positions
    context = np.einsum("np,npc->nc", a, flat)  # [N, C]
    return x + (context @ wv + bv)[:, None, None, :]


def np_sagan(x, wq, bq, wk, bk, wv, bv, gamma):
    """heykeetae Self_Attn in NumPy: softmax over keys of q_i . k_j, out = gamma * attn(v) + x."""
    n, h, w, c = x.shape
    flat = x.reshape(n, h * w, c)
    q, k, v = flat @ wq + bq, flat @ wk + bk, flat @ wv + bv
    attn = np_softmax(np.einsum("nic,njc->nij", q, k))  # [N, P, P], rows sum to 1
    return x + gamma * np.einsum("nij,njc->nic", attn, v).reshape(n, h, w, c)


def random_input(seed=0):
    return np.random.default_rng(seed).standard_normal(SHAPE).astype(np.float32)


def built(layer):
    layer.build(SHAPE)
    return layer


@pytest.mark.parametrize("kind", ["snl", "sagan"])
def test_identity_at_initialisation(kind):
    layer = built(make_attention(kind, name="attention"))
    x = random_input()
    np.testing.assert_array_equal(layer(x).numpy(), x)


def test_snl_weights_and_init():
    layer = built(SNLAttention())
    c = SHAPE[-1]
    assert tuple(layer.key.kernel.shape) == (1, 1, c, 1) and layer.key.bias is None
    assert tuple(layer.value.kernel.shape) == (c, c) and tuple(layer.value.bias.shape) == (c,)
    assert sum(int(np.prod(v.shape)) for v in layer.trainable_weights) == c + c * c + c
    np.testing.assert_array_equal(layer.value.kernel.numpy(), 0.0)  # last_zero_init
    np.testing.assert_array_equal(layer.value.bias.numpy(), 0.0)
    assert np.any(layer.key.kernel.numpy() != 0.0)
    assert layer.key.wscale == pytest.approx(math.sqrt(2.0 / c))  # GCNet Kaiming fan_in std


def test_snl_matches_numpy_eq3_with_random_weights():
    layer = built(SNLAttention())
    rng = np.random.default_rng(1)
    for var in (layer.key.kernel, layer.value.kernel, layer.value.bias):
        var.assign(rng.standard_normal(var.shape).astype(np.float32))
    x = random_input(2)
    wk = layer.key.kernel.numpy()[0, 0].astype(np.float64) * layer.key.wscale  # [C, 1] -> [C]
    wv = layer.value.kernel.numpy().astype(np.float64) * layer.value.wscale
    expected = np_snl(x.astype(np.float64), wk[:, 0], wv, layer.value.bias.numpy())
    y = layer(x).numpy()
    assert np.abs(y - x).max() > 0.1  # the block really does something with these weights
    np.testing.assert_allclose(y, expected, atol=1e-5)


def test_snl_adds_the_same_vector_at_every_position():
    layer = built(SNLAttention())
    layer.value.kernel.assign(np.eye(SHAPE[-1], dtype=np.float32))
    x = random_input(3)
    delta = layer(x).numpy() - x  # [N, H, W, C]
    np.testing.assert_allclose(delta, np.broadcast_to(delta[:, :1, :1], delta.shape), atol=1e-6)


def test_sagan_shapes_init_and_numpy_reference():
    layer = built(SAGANAttention())
    c = SHAPE[-1]
    assert layer.query.filters == 1 and layer.key.filters == 1  # max(6 // 8, 1)
    assert layer.value.filters == c and float(layer.gamma.numpy()) == 0.0
    rng = np.random.default_rng(5)
    for sub in (layer.query, layer.key, layer.value):
        sub.bias.assign(rng.standard_normal(sub.bias.shape).astype(np.float32))
    layer.gamma.assign(0.7)

    def eff(sub):
        return sub.kernel.numpy()[0, 0].astype(np.float64) * sub.wscale, sub.bias.numpy()

    x = random_input(6)
    expected = np_sagan(x.astype(np.float64), *eff(layer.query), *eff(layer.key),
                        *eff(layer.value), 0.7)
    np.testing.assert_allclose(layer(x).numpy(), expected, atol=1e-5)


def test_sagan_query_key_width_is_c_over_8():
    layer = SAGANAttention()
    layer.build((None, 4, 4, 32))
    assert layer.query.filters == 4 and layer.key.filters == 4


def test_snl_under_mixed_precision_keeps_float16_output():
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        layer = built(SNLAttention())
        layer.value.kernel.assign(np.eye(SHAPE[-1], dtype=np.float32))
        x = random_input(7)
        y = layer(tf.constant(x, tf.float16))
        assert y.dtype == tf.float16
        wk = layer.key.kernel.numpy()[0, 0, :, 0].astype(np.float64) * layer.key.wscale
        expected = np_snl(x.astype(np.float64), wk, np.eye(SHAPE[-1]) * layer.value.wscale, 0.0)
        np.testing.assert_allclose(y.numpy().astype(np.float32), expected, atol=2e-2)
    finally:
        keras.mixed_precision.set_global_policy("float32")


def test_make_attention_factory():
    assert isinstance(make_attention("snl", name="a"), SNLAttention)
    sagan = make_attention("sagan", name="b")
    assert isinstance(sagan, SAGANAttention) and sagan.name == "b"
    with pytest.raises(ValueError, match="unknown attention type"):
        make_attention("nonlocal", name="c")
