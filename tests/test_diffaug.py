"""DiffAugment (`--d_augment=diffaug`, Zhao et al. 2020): each op against NumPy with the same
draws, always on with independent draws per call, gradients to the input, applied to D's reals,
fakes and their interpolate and to G's fakes, and the one-line refusal of an unknown op."""
import functools

import numpy as np
import pytest

from pgan_tf import cli

tf = cli.import_tensorflow()

from pgan_tf.config import TrainConfig  # noqa: E402
from pgan_tf.errors import UserError  # noqa: E402
from pgan_tf.model.networks import Discriminator, Generator  # noqa: E402
from pgan_tf.training import diffaug  # noqa: E402
from pgan_tf.training.step import _STREAM_GP_MIX, Trainer, _replica_seed, gp_mix_factors  # noqa: E402
from tests.train_helpers import Recorder  # noqa: E402

SEED = tf.constant([5, 6], tf.int64)


def _images(n=8, size=16, seed=0):
    return tf.constant(np.random.RandomState(seed).uniform(-1, 1, (n, size, size, 3)), tf.float32)


def test_translation_is_a_whole_pixel_shift_with_zeros_shifted_in():
    x = _images()
    y = diffaug.translation(x, SEED).numpy()
    shift = tf.random.stateless_uniform([8, 2], SEED, -2, 3, dtype=tf.int32).numpy()  # 16/8 = 2
    for img, out, (dy, dx) in zip(x.numpy(), y, shift):
        padded = np.pad(img, [(2, 2), (2, 2), (0, 0)])  # zeros
        np.testing.assert_array_equal(out, padded[2 - dy:18 - dy, 2 - dx:18 - dx])
    assert len({tuple(s) for s in shift}) > 1  # each image its own shift


def test_cutout_zeroes_one_square_of_half_the_size():
    ones = tf.ones([64, 16, 16, 3])
    y = diffaug.cutout(ones, SEED).numpy()
    zero = np.all(y == 0, axis=3)
    assert np.all((y == 0) | (y == 1))
    for mask in zero:
        rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
        assert mask.sum() == len(rows) * len(cols) and 1 <= len(rows) <= 8 and len(cols) <= 8
    assert (zero.sum(axis=(1, 2)) == 64).mean() > 0.3  # fully inside the image: 8 x 8


def test_color_matches_numpy_with_the_same_draws():
    x = _images(n=4)
    y = diffaug.color(x, SEED).numpy()
    k = tf.unstack(tf.random.experimental.stateless_split(SEED, num=3))
    u = [tf.random.stateless_uniform([4, 1, 1, 1], key).numpy() for key in k]
    ref = x.numpy() + (u[0] - 0.5)
    mean = ref.mean(axis=3, keepdims=True)
    ref = (ref - mean) * (u[1] * 2) + mean
    mean = ref.mean(axis=(1, 2, 3), keepdims=True)
    ref = (ref - mean) * (u[2] + 0.5) + mean
    np.testing.assert_allclose(y, ref, atol=1e-5)


@pytest.mark.parametrize("policy", ["translation", "cutout", "color", "translation,cutout,color"])
def test_always_on_independent_draws_and_gradients(policy):
    ops = diffaug.policy_ops(policy)
    x = _images()
    y = diffaug.augment(x, SEED, ops).numpy()
    assert all(not np.array_equal(a, b) for a, b in zip(y, x.numpy()))  # every image, always
    np.testing.assert_array_equal(y, diffaug.augment(x, SEED, ops).numpy())
    assert not np.array_equal(y, diffaug.augment(x, tf.constant([5, 7], tf.int64), ops).numpy())
    with tf.GradientTape() as tape:
        tape.watch(x)
        total = tf.reduce_sum(diffaug.augment(x, SEED, ops) * 1.5)
    grads = tape.gradient(total, x).numpy()
    assert all(np.abs(g).sum() > 0 for g in grads)


def test_unknown_policy_op_is_refused_in_one_line():
    with pytest.raises(UserError) as err:
        TrainConfig(d_augment="diffaug", diffaug_policy="translation,rotate")
    assert str(err.value) == ("--diffaug_policy=translation,rotate: unknown op 'rotate'; valid ops: "
                              "translation, cutout, color")
    assert diffaug.policy_ops(TrainConfig().diffaug_policy) == ("translation", "cutout")




def _trainer():
    common = dict(resolution=16, num_classes=3, fmap_base=32, fmap_max=8)
    tf.keras.utils.set_random_seed(0)
    config = TrainConfig(latent_size=8, seed=3, d_augment="diffaug", **common)
    return Trainer(config, functools.partial(Generator, latent_size=8, **common),
                   functools.partial(Discriminator, **common), np.eye(3, dtype=np.float32))


def test_d_sees_augmented_reals_fakes_interpolate_and_g_trains_through_it():
    trainer = _trainer()
    trainer.D = Recorder(trainer.D)
    reals = _images(n=8, size=16)
    labels = tf.constant(np.eye(3, dtype=np.float32)[np.arange(8) % 3])
    seeds = tf.random.experimental.stateless_split(tf.constant([1, 2], tf.int64), num=4)
    _, metrics = trainer._d_replica(reals, labels, None, 16, seeds, 0)
    seen_reals, seen_fakes, mixed = trainer.D.inputs
    assert np.mean(seen_reals.numpy() == 0) > 0.2  # translated and cut out: zeros
    assert not np.array_equal(seen_reals.numpy(), reals.numpy())
    assert np.mean(seen_fakes.numpy() == 0) > 0.2  # the fakes too, with their own draws
    u = gp_mix_factors(8, _replica_seed(seeds[_STREAM_GP_MIX], 0))
    np.testing.assert_allclose(mixed.numpy(), (seen_reals + (seen_fakes - seen_reals) * u).numpy(),
                               atol=1e-6)
    assert "ovf_rt" in metrics  # r_t is logged in this arm too
    grads, _ = trainer._g_replica(reals, labels, None, 16, seeds, 0)
    assert np.mean(trainer.D.inputs[-1].numpy() == 0) > 0.2  # G's fakes are augmented
    assert sum(float(tf.reduce_sum(tf.abs(g))) for g in grads) > 0
