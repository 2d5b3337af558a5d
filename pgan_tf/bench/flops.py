"""Analytic forward FLOPs per image of G and D at one working resolution (conventions below).

Counted: the multiply-adds of convolutions, dense layers and attention matmuls, at
**1 multiply-add = 2 FLOPs** (the convention of TF's profiler and of GPU peak figures), for one
image (batch 1). Each rule below equals what the layer's TF op computes, so the TF profiler's
float-op count of the same ops agrees exactly (tests/test_flops.py checks that):

* k x k conv, stride 1, SAME, output H x W:            2 * H * W * k^2 * C_in * C_out.
* fused upsample + conv (`EqualizedConv2DUp`), a stride-2 transposed conv with a 4x4 kernel, input
  H x W: every input pixel is multiplied into a 4x4 x C_out patch -> 2 * H * W * 16 * C_in * C_out
  (16/36 of upsample-then-3x3-conv, which is why official PGAN fuses it;
  docs/design.md#shared-layers).
* fused conv + downsample (`EqualizedConv2DDown`), a stride-2 4x4 conv, input H x W:
  2 * (H/2) * (W/2) * 16 * C_in * C_out (16/36 of 3x3-conv-then-pool).
* non-fused paths (`fused_scale=False`): the 3x3 conv at the larger resolution; the nearest
  upsampling and the average pooling are data movement / elementwise and are not counted.
* dense: 2 * n_in * n_out.
* SNL attention (paper Eq. 3): W_k 1x1 conv C -> 1 (2*HW*C), the softmax-weighted sum over
  positions (2*HW*C), W_v on the pooled vector (2*C^2).
* SAGAN attention: q, k 1x1 convs C -> C' (2 * 2*HW*C*C'), v 1x1 conv (2*HW*C^2), Q K^T
  (2*(HW)^2*C'), A V (2*(HW)^2*C).

Not counted (elementwise or per-step, not per-image work): biases, leaky ReLUs, pixel norm,
minibatch stddev, softmax, fade-in lerps, and the equalized-LR kernel scaling and fused-kernel
construction (done once per step, independent of the batch). Their share falls with width: it is
negligible at official widths, where the convs dominate.

Training cost per image, fixed so that numbers compare across versions:
    FLOPs per image = 4 * G_fwd + 12 * D_fwd.
G: one forward in D's step plus forward and backward (~2 forwards) in its own step = 4. D: the
forwards on reals, fakes and the GP mix, their backward passes, the gradient penalty's input
gradient and double backward, and the G step's forward and input-gradient pass through D, counted
together as 12 forward-equivalents. It is a convention, not an exact count of the backward graph.
"""
import math

from pgan_tf.model.attention import SAGAN_QK_DIVISOR
from pgan_tf.model.networks import BASE_RES, num_features

FLOPS_PER_MULTIPLY_ADD = 2
# Kernel side of the fused stride-2 convs: the 3x3 kernel's four shifted sums
# (docs/design.md#shared-layers).
FUSED_KERNEL = 4
CONV_KERNEL = 3  # official PGAN's 3x3 convs (docs/design.md#shared-layers)
# The benchmark's fixed training-step convention (see module docstring).
TRAINING_G_PASSES = 4
TRAINING_D_PASSES = 12


def conv2d_flops(out_h, out_w, kernel, c_in, c_out):
    """FLOPs of a kernel x kernel conv producing an out_h x out_w x c_out map (any stride)."""
    return FLOPS_PER_MULTIPLY_ADD * out_h * out_w * kernel * kernel * c_in * c_out


def conv2d_transpose_flops(in_h, in_w, kernel, c_in, c_out):
    """FLOPs of a transposed conv: each of the in_h x in_w input pixels meets the whole kernel."""
    return FLOPS_PER_MULTIPLY_ADD * in_h * in_w * kernel * kernel * c_in * c_out


def dense_flops(n_in, n_out):
    """FLOPs of x [1, n_in] @ W [n_in, n_out]."""
    return FLOPS_PER_MULTIPLY_ADD * n_in * n_out


def attention_flops(kind, size, channels):
    """FLOPs of one attention block on a size x size x channels map (kind 'snl' or 'sagan')."""
    positions = size * size
    if kind == "snl":
        return (conv2d_flops(size, size, 1, channels, 1)  # W_k logits
                + FLOPS_PER_MULTIPLY_ADD * positions * channels  # softmax-weighted sum
                + dense_flops(channels, channels))  # W_v on the pooled vector
    if kind == "sagan":
        qk = max(channels // SAGAN_QK_DIVISOR, 1)
        return (2 * conv2d_flops(size, size, 1, channels, qk)  # q and k
                + conv2d_flops(size, size, 1, channels, channels)  # v
                + FLOPS_PER_MULTIPLY_ADD * positions * positions * qk  # Q K^T
                + FLOPS_PER_MULTIPLY_ADD * positions * positions * channels)  # A V
    raise ValueError(f"unknown attention type {kind!r}")


def _nf(config, res):
    """Channels of the block working at `res`: nf(log2(res) - 1),
    docs/design.md#feature-map-widths."""
    return num_features(int(math.log2(res)) - 1, config.fmap_base, config.fmap_max,
                        config.fmap_decay)


def _up_conv(config, in_size, c_in, c_out):
    """G's Conv0_up from in_size to 2*in_size."""
    if config.fused_scale:
        return conv2d_transpose_flops(in_size, in_size, FUSED_KERNEL, c_in, c_out)
    return conv2d_flops(2 * in_size, 2 * in_size, CONV_KERNEL, c_in, c_out)


def _down_conv(config, in_size, c_in, c_out):
    """D's Conv1_down from in_size to in_size/2."""
    if config.fused_scale:
        return conv2d_flops(in_size // 2, in_size // 2, FUSED_KERNEL, c_in, c_out)
    return conv2d_flops(in_size, in_size, CONV_KERNEL, c_in, c_out)


def generator_layer_flops(config, res, fading=False):
    """[(layer name, forward FLOPs per image)] of G working at `res`, in execution order.

    `config` has the `TrainConfig` model fields (fmap_*, latent_size, num_classes, num_channels,
    attention_stages, attention_type, fused_scale). `fading`: G also runs ToRGB of res/2.
    """
    f4 = _nf(config, BASE_RES)
    layers = [("base/dense", dense_flops(config.latent_size + config.num_classes,
                                         BASE_RES * BASE_RES * f4)),
              ("base/conv", conv2d_flops(BASE_RES, BASE_RES, CONV_KERNEL, f4, f4))]
    size = BASE_RES
    while size < res:
        c_in, c_out = _nf(config, size), _nf(config, 2 * size)
        size *= 2
        layers.append((f"block_{size}/conv0_up", _up_conv(config, size // 2, c_in, c_out)))
        if size in config.attention_stages:
            layers.append((f"block_{size}/attention",
                           attention_flops(config.attention_type, size, c_out)))
        layers.append((f"block_{size}/conv1", conv2d_flops(size, size, CONV_KERNEL, c_out, c_out)))
    layers.append((f"to_rgb_{res}", conv2d_flops(res, res, 1, _nf(config, res),
                                                 config.num_channels)))
    if fading and res > BASE_RES:
        half = res // 2
        layers.append((f"to_rgb_{half}", conv2d_flops(half, half, 1, _nf(config, half),
                                                      config.num_channels)))
    return layers


def discriminator_layer_flops(config, res, fading=False):
    """[(layer name, forward FLOPs per image)] of D working at `res`, in execution order.

    `fading`: D also runs FromRGB of res/2 on the downscaled image.
    """
    layers = [(f"from_rgb_{res}", conv2d_flops(res, res, 1, config.num_channels,
                                               _nf(config, res)))]
    if fading and res > BASE_RES:
        half = res // 2
        layers.append((f"from_rgb_{half}", conv2d_flops(half, half, 1, config.num_channels,
                                                        _nf(config, half))))
    size = res
    while size > BASE_RES:
        c, c_out = _nf(config, size), _nf(config, size // 2)
        layers.append((f"block_{size}/conv0", conv2d_flops(size, size, CONV_KERNEL, c, c)))
        if size in config.attention_stages:
            layers.append((f"block_{size}/attention",
                           attention_flops(config.attention_type, size, c)))
        layers.append((f"block_{size}/conv1_down", _down_conv(config, size, c, c_out)))
        size //= 2
    f4 = _nf(config, BASE_RES)
    # the stddev channel, docs/design.md#shared-layers
    mbstd = 1 if config.mbstd_group_size > 1 else 0
    dense_units = num_features(0, config.fmap_base, config.fmap_max, config.fmap_decay)
    layers += [("base/conv", conv2d_flops(BASE_RES, BASE_RES, CONV_KERNEL, f4 + mbstd, f4)),
               ("base/dense0", dense_flops(BASE_RES * BASE_RES * f4, dense_units)),
               ("base/dense1", dense_flops(dense_units, 1 + config.num_classes))]
    return layers


def generator_forward_flops(config, res, fading=False):
    """Forward FLOPs per image of G at `res` (sum of `generator_layer_flops`)."""
    return sum(f for _, f in generator_layer_flops(config, res, fading))


def discriminator_forward_flops(config, res, fading=False):
    """Forward FLOPs per image of D at `res` (sum of `discriminator_layer_flops`)."""
    return sum(f for _, f in discriminator_layer_flops(config, res, fading))


def training_flops_per_image(config, res, fading=False):
    """Convention: 4 * G_fwd + 12 * D_fwd FLOPs per real image of a training iteration."""
    return (TRAINING_G_PASSES * generator_forward_flops(config, res, fading)
            + TRAINING_D_PASSES * discriminator_forward_flops(config, res, fading))
