"""Attention blocks inserted into G and D (paper §2.2): SNL (paper Eq. 3, the default) and SAGAN.

Both are residual and the identity at initialisation, so inserting one into a PGAN block does not
change the network until training moves its weights (docs/design.md#snl-attention,
docs/design.md#sagan-attention). Both use the equalized-LR layers of `layers.py` (N(0,1) variables
scaled at run time), like every other PGAN weight, so Adam's per-parameter step has the same
effective size as in the surrounding convs; a zero-initialised kernel stays zero after the runtime
scaling, which keeps the identity-at-init property (docs/design.md#snl-attention). Softmaxes run in
float32 under mixed precision.
"""
import math

import keras
import tensorflow as tf

from pgan_tf.model.layers import EqualizedConv2D, EqualizedDense

# W_k (C -> 1 logits) gain: GCNet's conv_mask uses Kaiming-normal fan_in with the ReLU gain, i.e.
# std sqrt(2)/sqrt(C); with equalized LR that is gain sqrt(2) (docs/design.md#snl-attention).
SNL_KEY_GAIN = math.sqrt(2.0)
# W_v (C -> C, linear, zero-init) gain: 1 as for PGAN's other linear outputs (ToRGB, D's last
# dense). With a zero init the gain only sets the effective step size of W_v
# (docs/design.md#shared-layers).
SNL_VALUE_GAIN = 1.0
# SAGAN query/key width divisor: 1x1 convs C -> C // 8 (heykeetae Self_Attn,
# docs/design.md#sagan-attention).
SAGAN_QK_DIVISOR = 8
ATTENTION_TYPES = ("snl", "sagan")


class SNLAttention(keras.layers.Layer):
    """Simplified non-local block, paper Eq. 3: z_i = x_i + W_v sum_j softmax_j(W_k x_j) x_j.

    Context modelling: a 1x1 conv W_k (C -> 1, no bias: the softmax over positions is shift
    invariant, so a bias would never receive a gradient) gives one logit per position; a softmax
    over all H*W positions (float32) weights a sum of the input features -> one C-vector per image.
    Transform: W_v (C -> C with bias, GCNet's last conv) on that vector, i.e. once per image.
    Fusion: the result is added to every position. W_v's kernel and bias are zero-initialised
    (GCNet `last_zero_init`), so the block is the identity at initialisation; W_k is N(0,1) times
    wscale = sqrt(2)/sqrt(C), the equalized-LR form of GCNet's Kaiming fan_in init.
    """

    def build(self, input_shape):
        channels = int(input_shape[-1])
        self.key = EqualizedConv2D(1, 1, gain=SNL_KEY_GAIN, use_bias=False, name="key")
        self.key.build(input_shape)
        self.value = EqualizedDense(channels, gain=SNL_VALUE_GAIN, kernel_initializer="zeros",
                                    name="value")
        self.value.build((input_shape[0], channels))

    def call(self, x):
        _, h, w, c = x.shape
        logits = tf.reshape(tf.cast(self.key(x), tf.float32), [-1, h * w])  # [N,H,W,1] -> [N, HW]
        weights = tf.nn.softmax(logits, axis=-1)  # [N, HW], sums to 1 over positions
        feats = tf.reshape(tf.cast(x, tf.float32), [-1, h * w, c])  # [N,H,W,C] -> [N, HW, C]
        context = tf.einsum("np,npc->nc", weights, feats)  # [N, C] attention-pooled features
        delta = self.value(tf.cast(context, x.dtype))  # [N, C] = W_v context (+ bias)
        return x + tf.reshape(delta, [-1, 1, 1, c])  # [N, C] -> [N, 1, 1, C], broadcast add

    def compute_output_shape(self, input_shape):
        return input_shape


class SAGANAttention(keras.layers.Layer):
    """SAGAN self-attention (ablation; heykeetae Self_Attn, docs/design.md#sagan-attention).

    q, k: 1x1 convs C -> max(C // 8, 1); v: 1x1 conv C -> C; attention a_ij = softmax_j(q_i . k_j)
    (float32); out_i = sum_j a_ij v_j; result = gamma * out + x with a scalar gamma initialised to 0
    (identity at init). The 1x1 convs are equalized-LR (gain sqrt(2)) instead of SAGAN's spectral
    norm, for consistency with the rest of PGAN; gamma is a plain scalar variable.
    """

    def build(self, input_shape):
        channels = int(input_shape[-1])
        qk = max(channels // SAGAN_QK_DIVISOR, 1)
        self.query = EqualizedConv2D(qk, 1, name="query")
        self.key = EqualizedConv2D(qk, 1, name="key")
        self.value = EqualizedConv2D(channels, 1, name="value")
        for layer in (self.query, self.key, self.value):
            layer.build(input_shape)
        self.gamma = self.add_weight(name="gamma", shape=(), initializer="zeros")

    def call(self, x):
        _, h, w, c = x.shape
        qk = self.query.filters
        q = tf.reshape(tf.cast(self.query(x), tf.float32), [-1, h * w, qk])  # [N,H,W,C']->[N,P,C']
        k = tf.reshape(tf.cast(self.key(x), tf.float32), [-1, h * w, qk])  # [N,H,W,C']->[N,P,C']
        v = tf.reshape(tf.cast(self.value(x), tf.float32), [-1, h * w, c])  # [N, P, C]
        attn = tf.nn.softmax(tf.matmul(q, k, transpose_b=True), axis=-1)  # [N, P(query), P(key)]
        out = tf.reshape(tf.matmul(attn, v), [-1, h, w, c])  # [N, P, C] -> [N, H, W, C]
        return x + tf.cast(self.gamma, x.dtype) * tf.cast(out, x.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape


def make_attention(kind, name):
    """Returns a new attention layer: kind "snl" (paper Eq. 3) or "sagan" (ablation)."""
    if kind == "snl":
        return SNLAttention(name=name)
    if kind == "sagan":
        return SAGANAttention(name=name)
    raise ValueError(f"unknown attention type {kind!r}; expected one of {ATTENTION_TYPES}")
