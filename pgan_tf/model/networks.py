"""Progressive, class-conditional Generator and Discriminator (official G_paper / D_paper), NHWC.

Structure and constants follow docs/design.md#architecture; SNL attention (paper
§2.2) sits after G's upsampling conv and before D's downsampling conv at the chosen stages.

Native-resolution compute: ``call(..., res=r, alpha=a)`` runs only the layers up to resolution r
(a static Python int). ``alpha`` is None in a stable phase; during a fade-in it is the weight of the
*new* level r (paper alpha = 1 - frac(lod)):
  G: lerp(upscale2x(ToRGB_{r/2}(x_{r/2})), ToRGB_r(block_r(x_{r/2})), alpha)
  D: lerp(FromRGB_{r/2}(downscale2x(img)), block_r(FromRGB_r(img)), alpha), then the lower blocks,
which is what official PGAN's full-resolution clipped-lerp chain computes at that lod
(docs/design.md#growing-and-fade-in).

All variables of all stages are created in ``__init__``, so the parameter count, the optimizer
variables and the checkpoint structure never change while growing. Per-resolution sub-layers
live in `Levels` containers indexed by resolution (``G.blocks[8]``, ``G.to_rgb[4]``), whose
checkpoint keys are "blocks/8x8/...", "to_rgb/4x4/...".

Differences from official that change no function class: NHWC instead of NCHW, so the reshape
after G's 4x4 dense and the flatten before D's Dense0 order their units channels-last; the fused
upsampling kernel is flipped (see ``layers.EqualizedConv2DUp``).
"""
import math

import keras
import tensorflow as tf

from pgan_tf.model.attention import make_attention
from pgan_tf.model.layers import (
    MBSTD_GROUP_SIZE, PIXELNORM_EPSILON, Bias, Downscale2D, EqualizedConv2D, EqualizedConv2DDown,
    EqualizedConv2DUp, EqualizedDense, MinibatchStddev, PixelNorm, Upscale2D, lrelu)

# Official feature-map defaults, docs/design.md#feature-map-widths: nf(stage) = min(fmap_base /
# 2^(stage*decay), max).
FMAP_BASE = 8192
FMAP_MAX = 512
FMAP_DECAY = 1.0
# G's 4x4 dense gain: sqrt(2)/4 matches the Theano 4x4 "full" conv (16x larger fan-in),
# docs/design.md#shared-layers.
G_DENSE4_GAIN = math.sqrt(2.0) / 4.0
# Linear outputs (G ToRGB, D's last dense) use gain 1, docs/design.md#shared-layers.
LINEAR_GAIN = 1.0
BASE_RES = 4  # the first level: 4x4 (official resolution_log2 >= 2)


def num_features(stage, fmap_base=FMAP_BASE, fmap_max=FMAP_MAX, fmap_decay=FMAP_DECAY):
    """Official nf(stage) = min(int(fmap_base / 2**(stage * fmap_decay)), fmap_max),
    docs/design.md#feature-map-widths."""
    return min(int(fmap_base / (2.0 ** (stage * fmap_decay))), fmap_max)


def _log2(res):
    return int(round(math.log2(res)))


def _key(res):
    return f"{res}x{res}"


def _check_resolution(resolution):
    if resolution < BASE_RES or 2 ** _log2(resolution) != resolution:
        raise ValueError(f"resolution must be a power of two >= {BASE_RES}, got {resolution}")


def _check_attention_stages(stages, resolution):
    block_res = [2 ** k for k in range(_log2(BASE_RES) + 1, _log2(resolution) + 1)]
    for stage in stages:
        if stage not in block_res:
            raise ValueError(f"attention stage {stage} is not a block resolution of this network "
                             f"(one of {block_res})")


def _resolve_res(res, resolution):
    """The static working resolution: `resolution` when None, else a power of two in [4, R]."""
    if res is None:
        return resolution
    res = int(res)
    if res < BASE_RES or res > resolution or 2 ** _log2(res) != res:
        raise ValueError(f"res must be a power of two in [{BASE_RES}, {resolution}], got {res}")
    return res


def _lerp(old, new, alpha):
    """old + (new - old) * alpha: alpha = 0 gives `old` exactly and zero gradient into `new`."""
    return old + (new - old) * tf.cast(alpha, new.dtype)


class Levels(keras.layers.Layer):
    """Per-resolution sub-layers indexed by resolution (``levels[8]``), saved as "8x8", "16x16", ...

    Keras 3 tracks dicts and lists for its own weight lists, but tf.train.Checkpoint only follows
    attributes, so each level is an attribute named after its resolution. The layers must be built.
    """

    def __init__(self, layers, **kwargs):
        super().__init__(**kwargs)
        self.resolutions = tuple(sorted(layers))
        for res, layer in layers.items():
            setattr(self, _key(res), layer)  # the checkpoint key of this level
        self.built = True

    def __getitem__(self, res):
        if res not in self.resolutions:
            raise KeyError(f"no level at resolution {res}; have {self.resolutions}")
        return getattr(self, _key(res))

    def __contains__(self, res):
        return res in self.resolutions

    def __len__(self):
        return len(self.resolutions)

    def items(self):
        """(resolution, layer) pairs in increasing resolution."""
        return [(res, self[res]) for res in self.resolutions]


class _GeneratorBase(keras.layers.Layer):
    """G's 4x4 block: PN(combo) -> Dense (gain sqrt(2)/4) -> [N,4,4,f] -> bias, LReLU, PN -> conv"""

    def __init__(self, filters, epsilon, **kwargs):
        super().__init__(**kwargs)
        self.filters = filters
        self.pixel_norm = PixelNorm(epsilon, name="pixel_norm")
        self.dense = EqualizedDense(BASE_RES * BASE_RES * filters, gain=G_DENSE4_GAIN,
                                    use_bias=False, name="dense")
        self.bias = Bias(name="bias")  # official apply_bias after the reshape: one per channel
        self.conv = EqualizedConv2D(filters, 3, name="conv")

    def build(self, input_shape):
        self.dense.build(input_shape)
        self.bias.build((None, BASE_RES, BASE_RES, self.filters))
        self.conv.build((None, BASE_RES, BASE_RES, self.filters))

    def call(self, combo):
        x = self.dense(self.pixel_norm(combo))  # [N, 16 f]
        x = tf.reshape(x, [-1, BASE_RES, BASE_RES, self.filters])  # [N, 16 f] -> [N, 4, 4, f]
        x = self.pixel_norm(lrelu(self.bias(x)))
        return self.pixel_norm(lrelu(self.conv(x)))  # [N, 4, 4, f]


class _GeneratorBlock(keras.layers.Layer):
    """G block 2x: Conv0_up (fused or not) -> LReLU, PN -> [attention] -> Conv1 -> LReLU, PN."""

    def __init__(self, filters, attention_type, fused_scale, epsilon, **kwargs):
        super().__init__(**kwargs)
        self.filters = filters
        self.fused_scale = fused_scale
        self.pixel_norm = PixelNorm(epsilon, name="pixel_norm")
        if fused_scale:
            self.conv0_up = EqualizedConv2DUp(filters, name="conv0_up")
        else:
            self.upscale = Upscale2D(2, name="upscale")
            self.conv0_up = EqualizedConv2D(filters, 3, name="conv0_up")
        self.attention = None
        if attention_type is not None:
            self.attention = make_attention(attention_type, name="attention")
        self.conv1 = EqualizedConv2D(filters, 3, name="conv1")

    def build(self, input_shape):
        n, h, w, _ = input_shape
        out_shape = (n, None if h is None else 2 * h, None if w is None else 2 * w, self.filters)
        self.conv0_up.build(input_shape)
        if self.attention is not None:
            self.attention.build(out_shape)
        self.conv1.build(out_shape)

    def call(self, x):
        if not self.fused_scale:
            x = self.upscale(x)
        x = self.pixel_norm(lrelu(self.conv0_up(x)))  # [N, 2H, 2W, f]
        if self.attention is not None:
            x = self.attention(x)  # paper §2.2: attention after G's upsample layer
        return self.pixel_norm(lrelu(self.conv1(x)))


class _DiscriminatorBlock(keras.layers.Layer):
    """D block: Conv0 3x3 -> LReLU -> [attention] -> Conv1_down (fused or conv, LReLU, pool)."""

    def __init__(self, filters, out_filters, attention_type, fused_scale, **kwargs):
        super().__init__(**kwargs)
        self.fused_scale = fused_scale
        self.conv0 = EqualizedConv2D(filters, 3, name="conv0")
        self.attention = None
        if attention_type is not None:
            self.attention = make_attention(attention_type, name="attention")
        if fused_scale:
            self.conv1_down = EqualizedConv2DDown(out_filters, name="conv1_down")
        else:
            self.conv1_down = EqualizedConv2D(out_filters, 3, name="conv1_down")
            self.downscale = Downscale2D(2, name="downscale")

    def build(self, input_shape):
        self.conv0.build(input_shape)
        mid_shape = tuple(input_shape[:-1]) + (self.conv0.filters,)
        if self.attention is not None:
            self.attention.build(mid_shape)
        self.conv1_down.build(mid_shape)

    def call(self, x):
        x = lrelu(self.conv0(x))
        if self.attention is not None:
            x = self.attention(x)  # paper §2.2: attention before D's downsample layer
        if self.fused_scale:
            return lrelu(self.conv1_down(x))  # [N, H/2, W/2, f_out]
        # Official non-fused D pools after the activation (docs/design.md#shared-layers).
        return self.downscale(lrelu(self.conv1_down(x)))


class _DiscriminatorBase(keras.layers.Layer):
    """D's 4x4 block: [minibatch stddev] -> 3x3 conv, LReLU -> Dense0, LReLU -> Dense1 (gain 1)."""

    def __init__(self, filters, dense_units, outputs, mbstd_group_size, **kwargs):
        super().__init__(**kwargs)
        self.mbstd = None
        if mbstd_group_size > 1:  # official: group size 0/1 disables the layer
            self.mbstd = MinibatchStddev(mbstd_group_size, name="mbstd")
        self.conv = EqualizedConv2D(filters, 3, name="conv")
        self.dense0 = EqualizedDense(dense_units, name="dense0")
        self.dense1 = EqualizedDense(outputs, gain=LINEAR_GAIN, name="dense1")

    def build(self, input_shape):
        n, h, w, c = input_shape
        self.conv.build((n, h, w, c + (1 if self.mbstd is not None else 0)))
        self.dense0.build((n, h, w, self.conv.filters))
        self.dense1.build((n, self.dense0.units))

    def call(self, x):
        if self.mbstd is not None:
            x = self.mbstd(x)  # [N, 4, 4, f] -> [N, 4, 4, f + 1]
        x = lrelu(self.conv(x))  # [N, 4, 4, f]
        x = lrelu(self.dense0(x))  # flattened [N, 16 f] -> [N, dense_units]
        return self.dense1(x)  # [N, 1 + num_classes]


class Generator(keras.Model):
    """Official G_paper, class-conditional, progressive, with optional attention at some stages.

    Args:
      resolution: final resolution R (power of two >= 4).
      num_classes: label count; one-hot labels are concatenated to the latents and pixel-normed
        together (docs/design.md#generator). 0 = unconditional.
      latent_size: latent dimension (official nf(0) = 512).
      fmap_base, fmap_max, fmap_decay: feature-map formula (docs/design.md#feature-map-widths).
      attention_stages: resolutions whose block gets an attention layer after Conv0_up.
      attention_type: "snl" (paper Eq. 3) or "sagan".
      num_channels: image channels.
      fused_scale: fused upsample+conv (official default True); False = upscale then conv.
      pixelnorm_epsilon: pixel-norm epsilon (official 1e-8).
    """

    def __init__(self, *, resolution, num_classes, latent_size=512, fmap_base=FMAP_BASE,
                 fmap_max=FMAP_MAX, fmap_decay=FMAP_DECAY, attention_stages=(),
                 attention_type="snl", num_channels=3, fused_scale=True,
                 pixelnorm_epsilon=PIXELNORM_EPSILON, name="generator", **kwargs):
        super().__init__(name=name, **kwargs)
        _check_resolution(resolution)
        _check_attention_stages(attention_stages, resolution)
        self._config = dict(
            resolution=resolution, num_classes=num_classes, latent_size=latent_size,
            fmap_base=fmap_base, fmap_max=fmap_max, fmap_decay=fmap_decay,
            attention_stages=tuple(attention_stages), attention_type=attention_type,
            num_channels=num_channels, fused_scale=fused_scale,
            pixelnorm_epsilon=pixelnorm_epsilon)
        self.resolution, self.num_classes, self.latent_size = resolution, num_classes, latent_size

        # a block working at resolution 2^r uses nf(r - 1), docs/design.md#feature-map-widths
        def nf(res):
            return num_features(_log2(res) - 1, fmap_base, fmap_max, fmap_decay)

        self.base = _GeneratorBase(nf(BASE_RES), pixelnorm_epsilon, name="base")
        self.base.build((None, latent_size + num_classes))
        blocks, to_rgb = {}, {}
        res = BASE_RES
        to_rgb[res] = EqualizedConv2D(num_channels, 1, gain=LINEAR_GAIN, name=f"to_rgb_{_key(res)}")
        to_rgb[res].build((None, res, res, nf(res)))
        while res < resolution:
            res *= 2
            attention = attention_type if res in attention_stages else None
            blocks[res] = _GeneratorBlock(nf(res), attention, fused_scale, pixelnorm_epsilon,
                                          name=f"block_{_key(res)}")
            blocks[res].build((None, res // 2, res // 2, nf(res // 2)))
            to_rgb[res] = EqualizedConv2D(num_channels, 1, gain=LINEAR_GAIN,
                                          name=f"to_rgb_{_key(res)}")
            to_rgb[res].build((None, res, res, nf(res)))
        self.blocks = Levels(blocks, name="blocks")  # G block of each resolution 8..R
        self.to_rgb = Levels(to_rgb, name="to_rgb")  # ToRGB of each resolution 4..R
        # lower level's RGB -> res, docs/design.md#growing-and-fade-in
        self._upscale = Upscale2D(2, name="fade_upscale")
        self.built = True

    def _combo(self, latents, labels):
        """[N, latent] (+ one-hot labels) -> [N, latent + num_classes]; pixel norm comes later."""
        if self.num_classes == 0:
            return latents
        if labels is None:
            raise ValueError("a conditional generator needs labels")
        labels = tf.convert_to_tensor(labels)
        if labels.dtype.is_integer:  # class ids [N] -> one-hot [N, num_classes]
            labels = tf.one_hot(labels, self.num_classes, dtype=latents.dtype)
        return tf.concat([latents, tf.cast(labels, latents.dtype)], axis=-1)

    def call(self, latents, labels=None, res=None, alpha=None):
        """Images [N, res, res, C] (float32) from latents [N, latent_size] and labels.

        labels: int class ids [N] or float rows [N, num_classes] (one-hot); None if unconditional.
        res: static working resolution (default R). alpha: None (stable) or the new level's weight
        in a fade-in; ignored at res 4, which has no lower level.
        """
        res = _resolve_res(res, self.resolution)
        x = self.base(self._combo(latents, labels))  # [N, 4, 4, nf(4)]
        if res == BASE_RES:
            return tf.cast(self.to_rgb[res](x), tf.float32)
        lower = BASE_RES
        while lower < res // 2:
            lower *= 2
            x = self.blocks[lower](x)  # [N, lower, lower, nf(lower)]
        new = self.to_rgb[res](self.blocks[res](x))  # [N, res, res, C]
        if alpha is not None:
            old = self._upscale(self.to_rgb[lower](x))  # [N, res/2, res/2, C] -> [N,res,res,C]
            new = _lerp(old, new, alpha)
        return tf.cast(new, tf.float32)

    def get_config(self):
        return dict(self._config, name=self.name)


class Discriminator(keras.Model):
    """Official D_paper with an AC-GAN head: outputs (scores [N, 1], logits [N, num_classes]).

    Args mirror `Generator`; mbstd_group_size is the minibatch-stddev group size (official 4; 0 or
    1 disables it). Attention sits before Conv1_down of the block at each stage.
    """

    def __init__(self, *, resolution, num_classes, fmap_base=FMAP_BASE, fmap_max=FMAP_MAX,
                 fmap_decay=FMAP_DECAY, attention_stages=(), attention_type="snl",
                 num_channels=3, fused_scale=True, mbstd_group_size=MBSTD_GROUP_SIZE,
                 name="discriminator", **kwargs):
        super().__init__(name=name, **kwargs)
        _check_resolution(resolution)
        _check_attention_stages(attention_stages, resolution)
        self._config = dict(
            resolution=resolution, num_classes=num_classes, fmap_base=fmap_base,
            fmap_max=fmap_max, fmap_decay=fmap_decay, attention_stages=tuple(attention_stages),
            attention_type=attention_type, num_channels=num_channels, fused_scale=fused_scale,
            mbstd_group_size=mbstd_group_size)
        self.resolution, self.num_classes = resolution, num_classes

        # a block working at resolution 2^r uses nf(r - 1), docs/design.md#feature-map-widths
        def nf(res):
            return num_features(_log2(res) - 1, fmap_base, fmap_max, fmap_decay)

        blocks, from_rgb = {}, {}
        res = resolution
        while True:
            from_rgb[res] = EqualizedConv2D(nf(res), 1, name=f"from_rgb_{_key(res)}")
            from_rgb[res].build((None, res, res, num_channels))
            if res == BASE_RES:
                break
            attention = attention_type if res in attention_stages else None
            blocks[res] = _DiscriminatorBlock(nf(res), nf(res // 2), attention, fused_scale,
                                              name=f"block_{_key(res)}")
            blocks[res].build((None, res, res, nf(res)))
            res //= 2
        # Dense0 width nf(0) (official nf(res - 2) at res_log2 = 2),
        # docs/design.md#feature-map-widths, docs/design.md#discriminator.
        self.base = _DiscriminatorBase(
            nf(BASE_RES), num_features(0, fmap_base, fmap_max, fmap_decay), 1 + num_classes,
            mbstd_group_size, name="base")
        self.base.build((None, BASE_RES, BASE_RES, nf(BASE_RES)))
        self.blocks = Levels(blocks, name="blocks")  # D block of each resolution 8..R
        self.from_rgb = Levels(from_rgb, name="from_rgb")  # FromRGB of each resolution 4..R
        # images -> lower level, docs/design.md#growing-and-fade-in
        self._downscale = Downscale2D(2, name="fade_downscale")
        self.built = True

    def call(self, images, res=None, alpha=None):
        """(scores [N, 1], logits [N, num_classes]), float32, for images [N, res, res, C].

        res: static working resolution (default R). alpha: None (stable) or the new level's weight
        in a fade-in; ignored at res 4, which has no lower level.
        """
        res = _resolve_res(res, self.resolution)
        if tuple(images.shape[1:3]) not in ((res, res), (None, None)):
            raise ValueError(f"images of shape {images.shape} do not match res {res}")
        x = lrelu(self.from_rgb[res](images))  # [N, res, res, nf(res)]
        if res > BASE_RES:
            x = self.blocks[res](x)  # [N, res/2, res/2, nf(res/2)]
            if alpha is not None:
                old = lrelu(self.from_rgb[res // 2](self._downscale(images)))
                x = _lerp(old, x, alpha)
        lower = res // 2
        while lower > BASE_RES:
            x = self.blocks[lower](x)
            lower //= 2
        out = tf.cast(self.base(x), tf.float32)  # [N, 1 + num_classes]
        return out[:, :1], out[:, 1:]

    def get_config(self):
        return dict(self._config, name=self.name)
