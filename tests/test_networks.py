"""Behaviour tests for pgan_tf.model.networks: counts, fade-in, conditioning, placement, saving."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from pgan_tf.model.attention import SAGANAttention, SNLAttention
from pgan_tf.model.layers import lrelu
from pgan_tf.model.networks import Discriminator, Generator, num_features

R = 32  # final resolution of the tiny test networks
TINY = dict(resolution=R, num_classes=3, fmap_base=64, fmap_max=16)  # widths 16, 16, 8, 4
LATENT = 16
N = 8  # two minibatch-stddev groups of 4
# Training phases in order: (res, alpha). alpha 0 = first step of a fade-in, None = stable.
PHASES = [(4, None), (8, 0.0), (8, 0.5), (8, None), (16, 0.0), (16, 0.5), (16, None),
          (32, 0.0), (32, 0.5), (32, None)]


@pytest.fixture(autouse=True)
def _seed():
    keras.utils.set_random_seed(7)


def tiny_g(**kwargs):
    return Generator(latent_size=LATENT, **dict(TINY, **kwargs))


def tiny_d(**kwargs):
    return Discriminator(**dict(TINY, **kwargs))


def inputs(seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((N, LATENT)).astype(np.float32), np.arange(N) % 3


def images(res, seed=1):
    return np.random.default_rng(seed).standard_normal((N, res, res, 3)).astype(np.float32)


def grads_by_layer(model, loss_fn):
    """{id(variable): gradient or None} for the scalar loss_fn()."""
    with tf.GradientTape() as tape:
        loss = loss_fn()
    grads = tape.gradient(loss, model.trainable_variables)
    return {id(v): g for v, g in zip(model.trainable_variables, grads)}


def status(grads, layer):
    """'none' if no variable of `layer` is touched, 'zero' if all gradients are 0, else 'live'."""
    gs = [grads[id(v)] for v in layer.trainable_variables]
    if all(g is None for g in gs):
        return "none"
    assert all(g is not None for g in gs)
    return "zero" if all(not np.any(g.numpy()) for g in gs) else "live"


def expected_status(level, res, alpha):
    if level > res:
        return "none"  # never run a higher level
    if level == res and alpha == 0.0:
        return "zero"  # new level weighted 0 at the first step of its fade-in
    return "live"


def weighted_sum(t, seed=3):
    weights = np.random.default_rng(seed).standard_normal(t.shape).astype(np.float32)
    return tf.reduce_sum(t * weights)


def test_num_features_table():
    # docs/design.md#feature-map-widths: a block at 2^r uses nf(r - 1).
    table = {4: 512, 8: 512, 16: 512, 32: 512, 64: 256, 128: 128, 256: 64, 512: 32, 1024: 16}
    for res, channels in table.items():
        assert num_features(int(np.log2(res)) - 1) == channels
    assert num_features(0) == 512 and num_features(3, fmap_base=64, fmap_max=16) == 8


def count(model):
    return sum(int(np.prod(v.shape)) for v in model.trainable_weights)


@pytest.mark.parametrize("classes, g_params, d_params", [
    (7, 23_101_653, 23_055_944), (0, 23_044_309, 23_052_353)])
def test_official_parameter_counts(classes, g_params, d_params):
    # docs/design.md#parameter-counts, 256x256, 3 channels, default widths, no attention;
    # nothing is called.
    assert count(Generator(resolution=256, num_classes=classes)) == g_params
    assert count(Discriminator(resolution=256, num_classes=classes)) == d_params


def test_snl_stage_adds_c_plus_c2_plus_c_parameters():
    c = num_features(4, 64, 16)  # the 32x32 block works at nf(4) = 4 channels
    assert count(tiny_g(attention_stages=(32,))) - count(tiny_g()) == c + c * c + c
    assert count(tiny_d(attention_stages=(32,))) - count(tiny_d()) == c + c * c + c


def test_all_weights_exist_before_any_call_and_shapes_per_phase():
    g, d = tiny_g(attention_stages=(16,)), tiny_d(attention_stages=(16,))
    before = (len(g.trainable_weights), count(g), len(d.trainable_weights), count(d))
    z, labels = inputs()
    for res, alpha in PHASES:
        fake = g(z, labels, res=res, alpha=alpha)
        scores, logits = d(fake, res=res, alpha=alpha)
        assert fake.shape == (N, res, res, 3) and fake.dtype == tf.float32
        assert scores.shape == (N, 1) and logits.shape == (N, 3)
    assert (len(g.trainable_weights), count(g), len(d.trainable_weights), count(d)) == before
    assert g(z, labels).shape == (N, R, R, 3)  # res defaults to the full resolution


def test_generator_fade_in_values():
    g = tiny_g()
    z, labels = inputs()
    low = g(z, labels, res=8).numpy()
    upscaled = low.repeat(2, axis=1).repeat(2, axis=2)
    np.testing.assert_array_equal(g(z, labels, res=16, alpha=0.0).numpy(), upscaled)
    high = g(z, labels, res=16).numpy()
    np.testing.assert_allclose(g(z, labels, res=16, alpha=0.3).numpy(),
                               0.7 * upscaled + 0.3 * high, atol=1e-5)
    np.testing.assert_allclose(g(z, labels, res=16, alpha=1.0).numpy(), high, atol=1e-6)
    np.testing.assert_array_equal(g(z, labels, res=4, alpha=0.5), g(z, labels, res=4))


def test_discriminator_fade_in_at_zero_equals_lower_level_on_downscaled_images():
    d = tiny_d()
    x = images(16)
    pooled = x.reshape(N, 8, 2, 8, 2, 3).mean(axis=(2, 4))
    for got, want in zip(d(x, res=16, alpha=0.0), d(pooled, res=8)):
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=0, atol=1e-6)
    assert np.abs(d(x, res=16, alpha=0.3)[0] - d(pooled, res=8)[0]).max() > 1e-4


def test_generator_levels_get_gradient_exactly_from_their_fade_in():
    g = tiny_g()
    z, labels = inputs()
    for res, alpha in PHASES:
        grads = grads_by_layer(g, lambda: weighted_sum(g(z, labels, res=res, alpha=alpha)))
        assert status(grads, g.base) == "live"
        for level in (8, 16, 32):
            want = expected_status(level, res, alpha)
            assert status(grads, g.blocks[level]) == want, (level, res, alpha)
            if level >= res:  # lower to_rgb layers are checked below
                assert status(grads, g.to_rgb[level]) == want, (level, res, alpha)
        for level in [lvl for lvl in (4, 8, 16) if lvl < res]:
            # Only the level just below res, and only during a fade.
            want = "live" if (alpha is not None and level == res // 2) else "none"
            assert status(grads, g.to_rgb[level]) == want, (level, res, alpha)


def test_discriminator_levels_get_gradient_exactly_from_their_fade_in():
    d = tiny_d()
    for res, alpha in PHASES:
        x = images(res)
        grads = grads_by_layer(d, lambda: weighted_sum(tf.concat(d(x, res=res, alpha=alpha), 1)))
        assert status(grads, d.base) == "live"
        for level in (8, 16, 32):
            want = expected_status(level, res, alpha)
            assert status(grads, d.blocks[level]) == want, (level, res, alpha)
            if level >= res:  # lower from_rgb layers are checked below
                assert status(grads, d.from_rgb[level]) == want, (level, res, alpha)
        for level in (4, 8, 16):
            if level < res:
                want = "live" if (alpha is not None and level == res // 2) else "none"
                assert status(grads, d.from_rgb[level]) == want, (level, res, alpha)


def test_class_conditioning_and_joint_pixel_norm():
    g = tiny_g()
    z, labels = inputs()
    onehot = np.eye(3, dtype=np.float32)[labels]
    out = g(z, labels).numpy()
    np.testing.assert_array_equal(g(z, onehot).numpy(), out)  # int ids == one-hot rows
    assert np.abs(g(z, (labels + 1) % 3).numpy() - out).max() > 1e-3  # labels matter
    # Latent and label are pixel-normed together: scaling both together changes nothing,
    # scaling the latent alone changes the label's share of the normalised vector.
    np.testing.assert_allclose(g(3 * z, 3 * onehot).numpy(), out, atol=1e-4)
    assert np.abs(g(3 * z, onehot).numpy() - out).max() > 1e-3
    with pytest.raises(ValueError, match="labels"):
        g(z)


def test_unconditional_networks():
    g, d = tiny_g(num_classes=0), tiny_d(num_classes=0)
    z, _ = inputs()
    fake = g(z, res=8)
    scores, logits = d(fake, res=8)
    assert fake.shape == (N, 8, 8, 3) and scores.shape == (N, 1) and logits.shape == (N, 0)


def test_discriminator_head_column_zero_is_the_score():
    d = tiny_d()
    x = images(8)
    scores, logits = d(x, res=8)
    d.base.dense1.bias.assign([10.0, 1.0, 2.0, 3.0])
    scores2, logits2 = d(x, res=8)
    np.testing.assert_allclose(scores2 - scores, 10.0, atol=1e-5)
    np.testing.assert_allclose(logits2 - logits, np.tile([1.0, 2.0, 3.0], (N, 1)), atol=1e-5)


def test_minibatch_stddev_sits_at_the_4x4_block():
    d = tiny_d()
    assert d.base.mbstd is not None and d.base.mbstd.group_size == 4
    assert d.base.conv.kernel.shape[2] == num_features(1, 64, 16) + 1  # 4x4 conv sees +1 channel
    x = images(8)
    x2 = x.copy()
    x2[4] += 1.0
    delta = np.abs(d(x2, res=8)[0].numpy() - d(x, res=8)[0].numpy())[:, 0]
    assert np.all(delta[[0, 2, 6]] > 0)  # sample 4 shares group 4 mod 2 = 0 with 0, 2, 6
    np.testing.assert_array_equal(delta[[1, 3, 5, 7]], 0.0)  # the other group is untouched
    plain = tiny_d(mbstd_group_size=1)
    assert plain.base.mbstd is None and plain.base.conv.kernel.shape[2] == 16
    delta = np.abs(plain(x2, res=8)[0].numpy() - plain(x, res=8)[0].numpy())[:, 0]
    np.testing.assert_array_equal(np.delete(delta, 4), 0.0)


def randomize_snl(layer, seed):
    rng = np.random.default_rng(seed)
    for v in layer.trainable_variables:
        v.assign(rng.standard_normal(v.shape).astype(np.float32))


def test_attention_order_inside_blocks():
    g, d = tiny_g(attention_stages=(16,)), tiny_d(attention_stages=(16,))
    assert isinstance(g.blocks[16].attention, SNLAttention) and g.blocks[8].attention is None
    blk = g.blocks[16]
    randomize_snl(blk.attention, 0)
    x = np.random.default_rng(1).standard_normal((2, 8, 8, 16)).astype(np.float32)
    h = blk.pixel_norm(lrelu(blk.conv0_up(x)))  # after the upsampling conv ...
    want = blk.pixel_norm(lrelu(blk.conv1(blk.attention(h))))  # ... and before Conv1
    np.testing.assert_allclose(blk(x).numpy(), want.numpy(), atol=1e-5)
    blk = d.blocks[16]
    randomize_snl(blk.attention, 2)
    x = np.random.default_rng(3).standard_normal((2, 16, 16, 8)).astype(np.float32)
    want = lrelu(blk.conv1_down(blk.attention(lrelu(blk.conv0(x)))))  # before the downsampling
    np.testing.assert_allclose(blk(x).numpy(), want.numpy(), atol=1e-5)


def test_attention_gets_gradient_only_from_its_stage_on():
    g, d = tiny_g(attention_stages=(16,)), tiny_d(attention_stages=(16,))
    z, labels = inputs()
    for res, alpha in PHASES:
        grads = grads_by_layer(g, lambda: weighted_sum(g(z, labels, res=res, alpha=alpha)))
        assert status(grads, g.blocks[16].attention.value) == expected_status(16, res, alpha)
        x = images(res)
        grads = grads_by_layer(d, lambda: weighted_sum(d(x, res=res, alpha=alpha)[0]))
        assert status(grads, d.blocks[16].attention.value) == expected_status(16, res, alpha)


def test_sagan_type_and_bad_stages():
    assert isinstance(tiny_g(attention_stages=(8, 32), attention_type="sagan").blocks[32].attention,
                      SAGANAttention)
    for stages in [(4,), (12,), (64,)]:
        with pytest.raises(ValueError, match="attention stage"):
            tiny_g(attention_stages=stages)
        with pytest.raises(ValueError, match="attention stage"):
            tiny_d(attention_stages=stages)


def test_bad_resolutions():
    with pytest.raises(ValueError, match="resolution"):
        tiny_g(resolution=48)
    g, d = tiny_g(), tiny_d()
    z, labels = inputs()
    for res in (2, 12, 64):
        with pytest.raises(ValueError, match="res must be"):
            g(z, labels, res=res)
    with pytest.raises(ValueError, match="do not match"):
        d(images(16), res=8)


def test_unfused_generator_equals_fused_with_the_same_weights():
    fused, plain = tiny_g(), tiny_g(fused_scale=False)
    assert [v.path for v in plain.trainable_weights] == [v.path for v in fused.trainable_weights]
    plain.set_weights(fused.get_weights())
    z, labels = inputs()
    np.testing.assert_allclose(plain(z, labels).numpy(), fused(z, labels).numpy(), atol=1e-4)
    d_fused, d_plain = tiny_d(), tiny_d(fused_scale=False)
    assert count(d_plain) == count(d_fused)
    assert d_plain(images(R))[0].shape == (N, 1)


def test_checkpoint_holds_every_level_and_restores(tmp_path):
    g = tiny_g(attention_stages=(16,))
    path = tf.train.Checkpoint(g=g).save(str(tmp_path / "ckpt"))
    names = [name for name, _ in tf.train.list_variables(path)]
    assert "g/blocks/32x32/conv1/kernel/.ATTRIBUTES/VARIABLE_VALUE" in names
    assert "g/blocks/16x16/attention/value/kernel/.ATTRIBUTES/VARIABLE_VALUE" in names
    assert "g/to_rgb/4x4/kernel/.ATTRIBUTES/VARIABLE_VALUE" in names
    assert sum(n.startswith("g/") for n in names) == len(g.trainable_weights)
    keras.utils.set_random_seed(8)
    other = tiny_g(attention_stages=(16,))
    tf.train.Checkpoint(g=other).restore(path).assert_existing_objects_matched()
    z, labels = inputs()
    np.testing.assert_array_equal(other(z, labels).numpy(), g(z, labels).numpy())


def test_get_config_rebuilds_the_same_network():
    for model in (tiny_g(attention_stages=(16,)), tiny_d(mbstd_group_size=2)):
        clone = type(model).from_config(model.get_config())
        assert clone.get_config() == model.get_config() and count(clone) == count(model)
