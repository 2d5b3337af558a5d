"""Shared building blocks of official PGAN (docs/design.md#shared-layers) as Keras 3 layers, NHWC.

Equalized learning rate: every kernel is a plain N(0, 1) variable and is multiplied at call time by
the constant ``wscale = gain / sqrt(fan_in)`` (He's std). Biases are separate zero-initialised
variables, never scaled, added after the (possibly fused) op. The constants are Python floats
computed once in ``build()``; they are not variables and are not saved in checkpoints.

Numerically sensitive reductions (pixel norm, minibatch stddev) run in float32 even when the layer's
compute dtype is float16/bfloat16 (mixed precision), as official PGAN does for its fp16 preset.
"""
import math

import keras
import tensorflow as tf

# Official default gain of every conv/dense (He init for ReLU-like activations),
# docs/design.md#shared-layers.
DEFAULT_GAIN = math.sqrt(2.0)
# Official leaky-ReLU slope (docs/design.md#shared-layers: max(slope * x, x)).
LRELU_SLOPE = 0.2
# Official pixel-norm epsilon (1e-4 only in the fp16 preset), docs/design.md#shared-layers.
PIXELNORM_EPSILON = 1e-8
# Epsilon inside sqrt(var + eps) of the minibatch-stddev layer, docs/design.md#shared-layers.
MBSTD_EPSILON = 1e-8
# Official default minibatch-stddev group size (preset-v1 used 16), docs/design.md#shared-layers.
MBSTD_GROUP_SIZE = 4


def lrelu(x, slope=LRELU_SLOPE):
    """Leaky ReLU, equal to official PGAN's max(slope * x, x) for 0 < slope < 1.

    One fused op (``LeakyRelu``, one ``LeakyReluGrad`` backwards) instead of official's
    Mul + Maximum, whose gradient costs a GreaterEqual + two Selects per activation: 4-5% of the
    full-width training step on the CPU (profile in docs/history.md).
    """
    return tf.nn.leaky_relu(x, alpha=slope)


def _normal_init(initializer):
    """Equalized-LR kernel initializer: N(0, 1) unless one is given (e.g. zeros for SNL's W_v)."""
    if initializer is None:
        return keras.initializers.RandomNormal(mean=0.0, stddev=1.0)
    return keras.initializers.get(initializer)


class _EqualizedBase(keras.layers.Layer):
    """Holds the common equalized-LR bookkeeping: gain, bias switch, kernel initializer, wscale."""

    def __init__(self, gain=DEFAULT_GAIN, use_bias=True, kernel_initializer=None, **kwargs):
        super().__init__(**kwargs)
        self.gain = float(gain)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = _normal_init(kernel_initializer)
        self.wscale = None  # Python float, set in build() from the fan-in.

    def _make_weights(self, kernel_shape, fan_in, units):
        """Creates the N(0,1) kernel and the zero bias; sets wscale = gain / sqrt(fan_in)."""
        self.wscale = self.gain / math.sqrt(fan_in)
        self.kernel = self.add_weight(
            name="kernel", shape=kernel_shape, initializer=self.kernel_initializer)
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(name="bias", shape=(units,), initializer="zeros")

    def _scaled_kernel(self):
        """kernel * wscale in the compute dtype (the runtime constant of equalized LR)."""
        return tf.cast(self.kernel, self.compute_dtype) * tf.cast(self.wscale, self.compute_dtype)

    def _add_bias(self, y):
        # BiasAdd, not a broadcasting Add: oneDNN then fuses the bias into the conv and its
        # gradient into the filter gradient (Conv2DWithBias, Conv2DBackpropFilterWithBias).
        if self.bias is None:
            return y
        return tf.nn.bias_add(y, tf.cast(self.bias, y.dtype))

    def get_config(self):
        config = super().get_config()
        config.update(gain=self.gain, use_bias=self.use_bias,
                      kernel_initializer=keras.initializers.serialize(self.kernel_initializer))
        return config


class EqualizedDense(_EqualizedBase):
    """Dense layer with equalized learning rate; flattens inputs of rank > 2 first (as official)."""

    def __init__(self, units, gain=DEFAULT_GAIN, use_bias=True, kernel_initializer=None, **kwargs):
        super().__init__(gain=gain, use_bias=use_bias, kernel_initializer=kernel_initializer,
                         **kwargs)
        self.units = int(units)

    def build(self, input_shape):
        fan_in = math.prod(input_shape[1:])
        self._make_weights((fan_in, self.units), fan_in, self.units)

    def call(self, x):
        fan_in = self.kernel.shape[0]
        x = tf.reshape(x, [-1, fan_in])  # [N, ...] -> [N, fan_in]
        return self._add_bias(tf.matmul(x, self._scaled_kernel()))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.units)

    def get_config(self):
        config = super().get_config()
        config.update(units=self.units)
        return config


class EqualizedConv2D(_EqualizedBase):
    """k x k conv, stride 1, SAME padding, equalized LR; kernel [k,k,Cin,Cout], fan_in k*k*Cin."""

    def __init__(self, filters, kernel_size, gain=DEFAULT_GAIN, use_bias=True,
                 kernel_initializer=None, **kwargs):
        super().__init__(gain=gain, use_bias=use_bias, kernel_initializer=kernel_initializer,
                         **kwargs)
        self.filters = int(filters)
        self.kernel_size = int(kernel_size)
        if self.kernel_size < 1 or self.kernel_size % 2 != 1:
            raise ValueError(f"kernel_size must be odd and >= 1, got {kernel_size}")

    def build(self, input_shape):
        k, c_in = self.kernel_size, int(input_shape[-1])
        self._make_weights((k, k, c_in, self.filters), k * k * c_in, self.filters)

    def call(self, x):
        y = tf.nn.conv2d(x, self._scaled_kernel(), strides=1, padding="SAME")
        return self._add_bias(y)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.filters,)

    def get_config(self):
        config = super().get_config()
        config.update(filters=self.filters, kernel_size=self.kernel_size)
        return config


# Where the 3x3 kernel sits inside the 4x4 one: the four 2x2 offsets (top/left pad, bottom/right).
_SHIFT_PADS = (((1, 0), (1, 0)), ((1, 0), (0, 1)), ((0, 1), (1, 0)), ((0, 1), (0, 1)))


def _sum_shifted(kernel):
    """[3,3,a,b] -> [4,4,a,b]: the sum of the kernel at the four 2x2 offsets
    (docs/design.md#shared-layers).

    Official pads to 5x5 and adds four strided crops; the same sum written as four pads keeps the
    backward pass to four cheap Slices. The crops' StridedSliceGrad cost 6-11% of the full-width
    step on the CPU because the kernels are rebuilt at every call (profile in docs/history.md).
    """
    return tf.add_n([tf.pad(kernel, [*pad, (0, 0), (0, 0)]) for pad in _SHIFT_PADS])


class _FusedConv3x3(EqualizedConv2D):
    """Base of the fused up/down convs: a 3x3 equalized conv whose kernel is rebuilt as 4x4."""

    def __init__(self, filters, kernel_size=3, gain=DEFAULT_GAIN, use_bias=True,
                 kernel_initializer=None, **kwargs):
        if int(kernel_size) != 3:
            raise ValueError("the fused 2x kernel trick is defined for 3x3 kernels only")
        super().__init__(filters, 3, gain=gain, use_bias=use_bias,
                         kernel_initializer=kernel_initializer, **kwargs)


class EqualizedConv2DUp(_FusedConv3x3):
    """Fused nearest 2x upsample + 3x3 conv as one stride-2 transposed conv (official fused_scale).

    The variable is a plain [3, 3, C_in, C_out] kernel (same shape and count as a 3x3 conv, fan_in
    9*C_in). Official builds the 4x4 transposed-conv kernel without flipping it, which equals
    upsample+conv with a spatially flipped 3x3 kernel (same distribution at init). We flip it, so
    that this layer equals ``EqualizedConv2D(Upscale2D(x))`` for the *same* variable and the
    ``fused_scale`` switch of the networks does not change what a checkpoint means.
    """

    def call(self, x):
        w = tf.transpose(self._scaled_kernel(), [0, 1, 3, 2])  # [3,3,Cin,Cout] -> [3,3,Cout,Cin]
        w = _sum_shifted(tf.reverse(w, [0, 1]))  # flipped (class docstring) -> [4, 4, Cout, Cin]
        shape = tf.shape(x)
        out_shape = tf.stack([shape[0], shape[1] * 2, shape[2] * 2, self.filters])  # [N,2H,2W,Cout]
        y = tf.nn.conv2d_transpose(x, w, out_shape, strides=2, padding="SAME")
        if x.shape[1] is not None and x.shape[2] is not None:
            y = tf.ensure_shape(y, [None, x.shape[1] * 2, x.shape[2] * 2, self.filters])
        return self._add_bias(y)

    def compute_output_shape(self, input_shape):
        n, h, w = input_shape[0], input_shape[1], input_shape[2]
        return (n, None if h is None else 2 * h, None if w is None else 2 * w, self.filters)


class EqualizedConv2DDown(_FusedConv3x3):
    """Fused 3x3 conv + 2x2 average pool as one stride-2 4x4 conv (official fused_scale).

    The 4x4 kernel is the 3x3 kernel's four 2x2-shifted sums times 0.25, so it equals
    ``Downscale2D(conv3x3(x))`` (bias added after the pooling) for the same variable.
    """

    def call(self, x):
        # 0.25 = the 2x2 box filter's weight: the four shifted sums average the pooled positions.
        w = _sum_shifted(self._scaled_kernel())  # [4, 4, Cin, Cout]
        w = w * tf.cast(0.25, self.compute_dtype)
        y = tf.nn.conv2d(x, w, strides=2, padding="SAME")  # [N, H/2, W/2, Cout]
        return self._add_bias(y)

    def compute_output_shape(self, input_shape):
        n, h, w = input_shape[0], input_shape[1], input_shape[2]
        return (n, None if h is None else h // 2, None if w is None else w // 2, self.filters)


class Bias(keras.layers.Layer):
    """Zero-initialised, unscaled bias over the last axis (G's 4x4 dense: one bias per channel)."""

    def build(self, input_shape):
        self.bias = self.add_weight(name="bias", shape=(int(input_shape[-1]),), initializer="zeros")

    def call(self, x):
        return x + tf.cast(self.bias, x.dtype)


class PixelNorm(keras.layers.Layer):
    """x / sqrt(mean over channels of x^2 + epsilon), computed in float32
    (docs/design.md#shared-layers)."""

    def __init__(self, epsilon=PIXELNORM_EPSILON, **kwargs):
        super().__init__(**kwargs)
        self.epsilon = float(epsilon)

    def call(self, x):
        x32 = tf.cast(x, tf.float32)
        mean_square = tf.reduce_mean(tf.square(x32), axis=-1, keepdims=True)  # [..., 1]
        y = x32 * tf.math.rsqrt(mean_square + self.epsilon)
        return tf.cast(y, x.dtype)

    def get_config(self):
        config = super().get_config()
        config.update(epsilon=self.epsilon)
        return config


class MinibatchStddev(keras.layers.Layer):
    """Appends one channel holding the per-group mean feature stddev (official,
    docs/design.md#shared-layers).

    G = min(group_size, N) and N must be divisible by G. The batch is viewed as [G, M, ...] with
    sample n = g*M + m, so sample n belongs to group n mod M. Per group: population variance over
    the G members, sqrt(var + 1e-8), averaged over H, W and C -> one scalar, tiled over the group's
    samples and pixels. Computed in float32.
    """

    def __init__(self, group_size=MBSTD_GROUP_SIZE, **kwargs):
        super().__init__(**kwargs)
        self.group_size = int(group_size)

    def call(self, x):
        _, h, w, c = x.shape
        if x.shape[0] is not None and x.shape[0] % min(self.group_size, x.shape[0]) != 0:
            raise ValueError(f"minibatch size {x.shape[0]} is not divisible by the "
                             f"minibatch-stddev group size {self.group_size}")
        g = tf.minimum(self.group_size, tf.shape(x)[0])  # official: min(group_size, N)
        y = tf.reshape(tf.cast(x, tf.float32), [g, -1, h, w, c])  # [N,H,W,C] -> [G, M, H, W, C]
        y -= tf.reduce_mean(y, axis=0, keepdims=True)  # [G, M, H, W, C] centred over the group
        y = tf.reduce_mean(tf.square(y), axis=0)  # [M, H, W, C] population variance
        y = tf.sqrt(y + MBSTD_EPSILON)  # [M, H, W, C] stddev
        y = tf.reduce_mean(y, axis=[1, 2, 3], keepdims=True)  # [M, 1, 1, 1] one scalar per group
        y = tf.tile(tf.cast(y, x.dtype), [g, h, w, 1])  # [N, H, W, 1]; row g*M + m gets group m
        return tf.concat([x, y], axis=-1)  # [N, H, W, C + 1]

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (input_shape[-1] + 1,)

    def get_config(self):
        config = super().get_config()
        config.update(group_size=self.group_size)
        return config


class _Resample2D(keras.layers.Layer):
    """Base of Upscale2D/Downscale2D: an integer `factor` with its config."""

    def __init__(self, factor=2, **kwargs):
        super().__init__(**kwargs)
        self.factor = int(factor)

    def get_config(self):
        config = super().get_config()
        config.update(factor=self.factor)
        return config


class Upscale2D(_Resample2D):
    """Nearest-neighbour upscaling by an integer factor (official upscale2d, reshape + tile)."""

    def call(self, x):
        f = self.factor
        if f == 1:
            return x
        _, h, w, c = x.shape
        y = tf.reshape(x, [-1, h, 1, w, 1, c])  # [N, H, 1, W, 1, C]
        y = tf.tile(y, [1, 1, f, 1, f, 1])  # [N, H, f, W, f, C]
        return tf.reshape(y, [-1, h * f, w * f, c])  # [N, H*f, W*f, C]

    def compute_output_shape(self, input_shape):
        n, h, w, c = input_shape
        return (n, h * self.factor, w * self.factor, c)


class Downscale2D(_Resample2D):
    """Box-filter downscaling by an integer factor (official downscale2d: average pool)."""

    def call(self, x):
        f = self.factor
        if f == 1:
            return x
        return tf.nn.avg_pool2d(x, ksize=f, strides=f, padding="VALID")  # [N, H/f, W/f, C]

    def compute_output_shape(self, input_shape):
        n, h, w, c = input_shape
        return (n, h // self.factor, w // self.factor, c)
