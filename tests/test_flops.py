"""Analytic FLOPs: hand-computed layer values, and whole tiny networks against TF's own profiler.

The profiler cross-check counts the float ops that TensorFlow's registered statistics assign to the
Conv2D, Conv2DBackpropInput (the transposed conv), MatMul and BatchMatMulV2 ops of the very graph
G or D runs, so a layer the analytic count forgets, or miscounts, shows up as a difference.
"""
import pytest

from pgan_tf import cli

tf = cli.import_tensorflow()

from pgan_tf.bench import flops  # noqa: E402
from pgan_tf.config import TrainConfig  # noqa: E402
from pgan_tf.training.builders import model_factories  # noqa: E402

# nf(stage) = min(32 / 2^stage, 8): 8 channels at 4x4 and 8x8, 4 at 16x16 (a width change).
TINY = dict(resolution=16, num_classes=3, latent_size=8, fmap_base=32, fmap_max=8)
# Ops whose float ops the analytic count covers (the profiler also counts elementwise ops).
MATMUL_OPS = ["Conv2D", "Conv2DBackpropInput", "MatMul", "BatchMatMulV2"]


def _config(**overrides):
    return TrainConfig(**{**TINY, **overrides})


def test_single_layer_rules_by_hand():
    assert flops.conv2d_flops(4, 4, 3, 2, 5) == 2 * 16 * 9 * 2 * 5  # 2880
    # Stride-2 4x4 conv from 8x8 to 4x4: 16 output pixels x 16 taps x 2 x 5.
    assert flops.conv2d_flops(4, 4, 4, 2, 5) == 5120
    # Transposed 4x4 conv from 4x4: every one of the 16 input pixels meets all 16 taps.
    assert flops.conv2d_transpose_flops(4, 4, 4, 2, 5) == 5120
    assert flops.dense_flops(11, 128) == 2816
    # SNL on 4x4x8: W_k 2*16*8, weighted sum 2*16*8, W_v 2*8*8.
    assert flops.attention_flops("snl", 4, 8) == 256 + 256 + 128
    # SAGAN on 2x2x16 (C' = 2): q and k 2 x (2*4*16*2), v 2*4*16*16, QK^T 2*4*4*2, AV 2*4*4*16.
    assert flops.attention_flops("sagan", 2, 16) == 512 + 2048 + 64 + 512


def test_generator_4x4_block_and_8x8_by_hand():
    layers = dict(flops.generator_layer_flops(_config(), 4))
    assert layers == {"base/dense": 2 * 11 * 128,  # (latent 8 + 3 labels) -> 4*4*8
                      "base/conv": 2 * 16 * 9 * 8 * 8,
                      "to_rgb_4": 2 * 16 * 8 * 3}
    at8 = dict(flops.generator_layer_flops(_config(), 8))
    assert at8["block_8/conv0_up"] == 2 * 16 * 16 * 8 * 8  # 4x4 input, 4x4 kernel
    assert at8["block_8/conv1"] == 2 * 64 * 9 * 8 * 8
    assert flops.generator_forward_flops(_config(), 8) == 2816 + 18432 + 32768 + 73728 + 3072


def test_discriminator_8x8_by_hand():
    # from_rgb 3->8 at 8x8; conv0 8->8 at 8x8; conv1_down 4x4 stride 2 -> 4x4; base conv
    # (8 + 1 stddev channel) -> 8; dense0 128 -> nf(0) = 8; dense1 8 -> 1 + 3.
    expected = (2 * 64 * 3 * 8 + 2 * 64 * 9 * 64 + 2 * 16 * 16 * 64 + 2 * 16 * 9 * 9 * 8
                + 2 * 128 * 8 + 2 * 8 * 4)
    assert flops.discriminator_forward_flops(_config(), 8) == expected
    no_mbstd = flops.discriminator_forward_flops(_config(mbstd_group_size=0), 8)
    assert expected - no_mbstd == 2 * 16 * 9 * 1 * 8  # only the stddev channel's conv taps


def test_training_convention_and_fused_saving():
    cfg = _config()
    assert flops.training_flops_per_image(cfg, 8) == (
        4 * flops.generator_forward_flops(cfg, 8) + 12 * flops.discriminator_forward_flops(cfg, 8))
    fused = dict(flops.generator_layer_flops(cfg, 16))["block_16/conv0_up"]
    plain = dict(flops.generator_layer_flops(_config(fused_scale=False), 16))["block_16/conv0_up"]
    assert fused * 36 == plain * 16  # 4x4 taps at 8x8 vs 3x3 taps at 16x16


def _profiled_flops(fn, *specs):
    graph = tf.function(fn).get_concrete_function(*specs).graph
    opts = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
    opts.update(output="none", account_type_regexes=MATMUL_OPS)
    return tf.compat.v1.profiler.profile(graph=graph, options=opts).total_float_ops


@pytest.mark.parametrize("overrides, res, fading", [
    ({}, 8, False),
    ({}, 16, True),
    ({"fused_scale": False}, 16, False),
    ({"attention_stages": (8, 16), "attention_type": "sagan"}, 16, False),
])
def test_networks_match_tf_profiler(overrides, res, fading):
    cfg = _config(**overrides)
    make_g, make_d = model_factories(cfg)
    g, d = make_g(name="g"), make_d(name="d")
    alpha = 0.5 if fading else None
    z = tf.TensorSpec([1, cfg.latent_size])
    y = tf.TensorSpec([1, cfg.num_classes])
    x = tf.TensorSpec([1, res, res, 3])
    g_count = _profiled_flops(lambda z, y: g(z, y, res=res, alpha=alpha), z, y)
    d_count = _profiled_flops(lambda x: d(x, res=res, alpha=alpha), x)
    assert g_count == flops.generator_forward_flops(cfg, res, fading)
    assert d_count == flops.discriminator_forward_flops(cfg, res, fading)


def test_snl_attention_by_layer_shapes():
    """SNL's weighted sum is an Einsum (no profiler statistic): count it from its own shapes."""
    cfg = _config(attention_stages=(16,))
    layers = dict(flops.generator_layer_flops(cfg, 16))
    c = 4  # nf at 16x16
    assert layers["block_16/attention"] == 2 * 256 * c * 1 + 2 * 256 * c + 2 * c * c
    d_layers = dict(flops.discriminator_layer_flops(cfg, 16))
    assert d_layers["block_16/attention"] == layers["block_16/attention"]
    base = flops.generator_forward_flops(_config(), 16)
    assert flops.generator_forward_flops(cfg, 16) - base == layers["block_16/attention"]


def test_full_width_matches_official_layer_table():
    """Official widths at 32x32 (docs/design.md#feature-map-widths): 512 channels from
    4x4 to 32x32."""
    cfg = TrainConfig()
    g = dict(flops.generator_layer_flops(cfg, 32))
    assert g["block_32/conv1"] == 2 * 32 * 32 * 9 * 512 * 512
    assert g["block_32/conv0_up"] == 2 * 16 * 16 * 16 * 512 * 512
    d64 = dict(flops.discriminator_layer_flops(cfg, 64))
    assert d64["block_64/conv1_down"] == 2 * 32 * 32 * 16 * 256 * 512  # 256 -> 512 channels
    sq = 512 * 512
    g_macs = (519 * 8192 + 16 * 9 * sq + 16 * 16 * sq + 64 * 9 * sq + 64 * 16 * sq + 256 * 9 * sq
              + 256 * 16 * sq + 1024 * 9 * sq + 1024 * 512 * 3)
    d_macs = (1024 * 3 * 512 + 1024 * 9 * sq + 256 * 16 * sq + 256 * 9 * sq + 64 * 16 * sq
              + 64 * 9 * sq + 16 * 16 * sq + 16 * 9 * 513 * 512 + 8192 * 512 + 512 * 8)
    assert flops.training_flops_per_image(cfg, 32) == 2 * (4 * g_macs + 12 * d_macs)
