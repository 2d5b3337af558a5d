"""Training step behaviour on tiny networks: GP mix draws, EMA, optimizer reset, NaN skipping."""
import functools

import numpy as np
import pytest

from pgan_tf import cli

tf = cli.import_tensorflow()

from pgan_tf.config import TrainConfig  # noqa: E402
from pgan_tf.model.networks import Discriminator, Generator  # noqa: E402
from pgan_tf.training.step import Trainer, gp_mix_factors  # noqa: E402

RES, K, LATENT = 8, 3, 8


def _trainer(**overrides):
    cfg = TrainConfig(resolution=RES, num_classes=K, latent_size=LATENT, fmap_base=32, fmap_max=8,
                      seed=3, **overrides)
    common = dict(resolution=RES, num_classes=K, fmap_base=32, fmap_max=8)
    rows = np.eye(K, dtype=np.float32)[[0, 0, 1, 2]]
    tf.keras.utils.set_random_seed(0)
    return Trainer(cfg, functools.partial(Generator, latent_size=LATENT, **common),
                   functools.partial(Discriminator, **common), rows)


def _batch(n=4, seed=0):
    rng = np.random.RandomState(seed)
    reals = rng.uniform(-1, 1, (n, RES, RES, 3)).astype(np.float32)
    labels = np.eye(K, dtype=np.float32)[rng.randint(0, K, n)]
    return tf.constant(reals), tf.constant(labels)


def test_gp_mix_is_uniform_per_sample():
    u = gp_mix_factors(4096, tf.constant([1, 2], tf.int64)).numpy()
    assert u.shape == (4096, 1, 1, 1)
    assert u.min() >= 0.0 and u.max() <= 1.0
    assert len(np.unique(u)) > 4000  # one draw per sample, not one per batch
    assert abs(u.mean() - 0.5) < 0.02 and abs(u.var() - 1 / 12) < 0.005  # U[0,1], not N(0,1)


def test_step_trains_only_active_stage_and_updates_ema():
    trainer = _trainer()
    before_g = [v.numpy().copy() for v in trainer.G.trainable_variables]
    before_ema = [v.numpy().copy() for v in trainer.G_ema.weights]
    reals, labels = _batch()
    out = trainer.step(tf.image.resize(reals, [4, 4], "area"), labels, 4, 1.0, False, 0)
    assert bool(out["finite"])
    assert np.isfinite(float(out["loss_d"])) and np.isfinite(float(out["loss_g"]))
    changed = [not np.array_equal(b, v.numpy()) for b, v in zip(before_g, trainer.G.trainable_variables)]
    names = [v.path for v in trainer.G.trainable_variables]
    assert all(c for c, n in zip(changed, names) if "4x4" in n or n.startswith("base/"))
    # 8x8 layers are not used at 4x4 (native-resolution compute): untouched.
    assert not any(c for c, n in zip(changed, names) if "8x8" in n)
    # EMA: Gs = G_old + (Gs_old - G_old) * beta with G_old = Gs_old at start → Gs unchanged after
    # the first D step; it only moves by (1 - beta) toward G on the next iteration.
    for b, v in zip(before_ema, trainer.G_ema.weights):
        np.testing.assert_allclose(v.numpy(), b, rtol=0, atol=1e-7)
    g_now = [v.numpy().copy() for v in trainer.G.weights]
    ema_now = [v.numpy().copy() for v in trainer.G_ema.weights]
    trainer.step(tf.image.resize(reals, [4, 4], "area"), labels, 4, 1.0, False, 4)
    for e, g, v in zip(ema_now, g_now, trainer.G_ema.weights):
        np.testing.assert_allclose(v.numpy(), g + (e - g) * 0.999, rtol=1e-5, atol=1e-7)


def test_reset_optimizers_zeroes_moments_and_counter_but_keeps_rate():
    trainer = _trainer()
    reals, labels = _batch()
    trainer.set_learning_rates(0.002, 0.004)
    trainer.step(tf.image.resize(reals, [4, 4], "area"), labels, 4, 1.0, False, 0)
    assert int(trainer.d_opt.iterations.numpy()) == 1
    trainer.reset_optimizers()
    for opt, lr in ((trainer.g_opt, 0.002), (trainer.d_opt, 0.004)):
        assert int(opt.iterations.numpy()) == 0
        assert all(not np.any(v.numpy()) for v in opt.variables if v is not opt._learning_rate)
        assert float(opt.learning_rate.numpy()) == pytest.approx(lr)


def test_non_finite_step_is_skipped_without_touching_weights():
    trainer = _trainer()
    reals, labels = _batch()
    bad = tf.tensor_scatter_nd_update(tf.image.resize(reals, [4, 4], "area"), [[0, 0, 0, 0]], [np.nan])
    before = [v.numpy().copy() for v in trainer.D.trainable_variables]
    out = trainer.step(bad, labels, 4, 1.0, False, 0)
    assert not bool(out["finite"])
    for b, v in zip(before, trainer.D.trainable_variables):
        np.testing.assert_array_equal(b, v.numpy())
    assert int(trainer.d_opt.iterations.numpy()) == 0


def test_draws_are_functions_of_seed_and_images_seen():
    a, b = _trainer(), _trainer()
    reals, labels = _batch()
    x = tf.image.resize(reals, [4, 4], "area")
    out_a = a.step(x, labels, 4, 1.0, False, 128)
    out_b = b.step(x, labels, 4, 1.0, False, 128)
    assert float(out_a["loss_d"]) == float(out_b["loss_d"])
    out_c = _trainer().step(x, labels, 4, 1.0, False, 132)
    assert float(out_c["loss_d"]) != float(out_a["loss_d"])


def test_uniform_label_sampling_covers_classes_evenly():
    trainer = _trainer(label_sampling="uniform")
    labels = trainer._sample_labels(3000, tf.constant([5, 6], tf.int64)).numpy()
    counts = labels.sum(axis=0)
    assert counts.sum() == 3000 and counts.min() > 900  # rows [0,0,1,2] would give class 0 half
    dataset = _trainer()._sample_labels(4000, tf.constant([5, 6], tf.int64)).numpy().sum(axis=0)
    assert 1800 < dataset[0] < 2200  # official: dataset label rows, class 0 is half of them


def test_ac_balanced_changes_only_the_weighting_of_ds_class_terms():
    # Rows [0,0,1,2]: weights 4/(3*2), 4/3, 4/3. A batch of class-0 samples has its AC terms
    # scaled by 2/3, so D's loss moves by exactly -1/3 of their cross-entropy sum.
    reals, _ = _batch()
    x = tf.image.resize(reals, [4, 4], "area")
    labels = tf.constant(np.eye(K, dtype=np.float32)[[0, 0, 0, 0]])
    plain = _trainer().step(x, labels, 4, 1.0, False, 128)
    balanced_trainer = _trainer(ac_balanced=True)
    np.testing.assert_allclose(balanced_trainer.class_weights.numpy(), [2 / 3, 4 / 3, 4 / 3],
                               rtol=1e-6)
    balanced = balanced_trainer.step(x, labels, 4, 1.0, False, 128)
    ac = float(plain["d_ac_real"]) + float(plain["d_ac_fake"])
    assert float(balanced["d_ac_real"]) == pytest.approx(float(plain["d_ac_real"]), rel=1e-6)
    assert float(balanced["loss_d"]) == pytest.approx(float(plain["loss_d"]) - ac / 3, rel=1e-5,
                                                      abs=1e-5)


@pytest.fixture
def float16_policy():
    tf.keras.mixed_precision.set_global_policy("mixed_float16")
    yield
    tf.keras.mixed_precision.set_global_policy("float32")


def test_mixed_float16_loss_scaling_skips_overflow_and_moves_the_scale(float16_policy):
    reals, labels = _batch()
    x = tf.image.resize(reals, [4, 4], "area")
    # Official init log2 = 64: the scaled loss overflows fp16, the step is skipped, log2 − 1.
    huge = _trainer(precision="mixed_float16")
    before = [v.numpy().copy() for v in huge.D.trainable_variables]
    out = huge.step(x, labels, 4, 1.0, False, 0)
    assert not bool(out["finite"])
    assert float(huge.log2_loss_scale["d"].numpy()) == 63.0
    for b, v in zip(before, huge.D.trainable_variables):
        np.testing.assert_array_equal(b, v.numpy())
    # A scale that fits: the step applies, log2 + 0.0005, and the unscaled loss is unchanged.
    fits = _trainer(precision="mixed_float16", loss_scaling_init=8.0)
    out = fits.step(x, labels, 4, 1.0, False, 0)
    assert bool(out["finite"]) and np.isfinite(float(out["loss_d"]))
    assert float(fits.log2_loss_scale["d"].numpy()) == pytest.approx(8.0005)
    assert int(fits.d_opt.iterations.numpy()) == 1


def test_mixed_float16_tracks_float32_over_several_steps(float16_policy):
    """Loss scaling is numerically transparent: with a scale that fits, four fp16 steps give the
    float32 losses (to fp16 precision), including the GP (its input gradient is unscaled before
    the norm), D's weights follow the float32 run's, and the scale grows 0.0005 per finite step."""
    half = _trainer(precision="mixed_float16", loss_scaling_init=8.0)
    tf.keras.mixed_precision.set_global_policy("float32")
    full = _trainer()
    tf.keras.mixed_precision.set_global_policy("mixed_float16")
    init = [v.numpy().copy() for v in full.D.trainable_variables]
    for step in range(4):
        reals, labels = _batch(seed=step)
        x = tf.image.resize(reals, [4, 4], "area")
        out_half = half.step(x, labels, 4, 1.0, False, 4 * step)
        tf.keras.mixed_precision.set_global_policy("float32")  # full traces as it was built
        out_full = full.step(x, labels, 4, 1.0, False, 4 * step)
        tf.keras.mixed_precision.set_global_policy("mixed_float16")
        assert bool(out_half["finite"]), step
        for key in ("loss_d", "loss_g", "d_gp", "d_grad_norm"):
            np.testing.assert_allclose(float(out_half[key]), float(out_full[key]),
                                       rtol=2e-2, atol=2e-3, err_msg=f"{key} at step {step}")
    assert float(half.log2_loss_scale["d"].numpy()) == pytest.approx(8.0 + 4 * 0.0005)
    assert float(half.log2_loss_scale["g"].numpy()) == pytest.approx(8.0 + 4 * 0.0005)
    # Adam's first steps are nearly sign(gradient) · lr, so fp16 rounding flips a few tiny
    # gradients' updates: compare D's whole update, not the largest single weight.
    apart = np.sqrt(sum(np.sum((h.numpy() - f.numpy()) ** 2) for h, f in
                        zip(half.D.trainable_variables, full.D.trainable_variables)))
    update = np.sqrt(sum(np.sum((f.numpy() - i) ** 2)
                         for f, i in zip(full.D.trainable_variables, init)))
    assert apart < 0.3 * update, (apart, update)  # the fp16 D moved where the fp32 D moved


# ---- lazy gradient penalty (--gp_interval, beyond the paper) ---------------------------------------

def test_gp_is_carried_by_every_kth_step_of_the_image_count():
    from pgan_tf.training.step import carries_gp
    assert [carries_gp(n, 4, 1) for n in range(0, 32, 4)] == [True] * 8
    assert [carries_gp(n, 4, 4) for n in range(0, 32, 4)] == [True, False, False, False] * 2
    # A function of (images seen, minibatch) only: a resumed run picks the same steps.
    assert [carries_gp(n, 16, 2) for n in (4096, 4112, 4128)] == [True, False, True]


def _weights_after(trainer, images_seen, x, labels):
    out = trainer.step(x, labels, 4, 1.0, False, images_seen)
    return out, [v.numpy() for m in (trainer.G, trainer.D) for v in m.trainable_variables]


def test_lazy_gp_weights_the_penalty_by_k_on_carrying_steps_and_skips_it_on_the_others():
    reals, labels = _batch()
    x = tf.image.resize(reals, [4, 4], "area")
    # Step 128/4 = 32 carries the GP at k = 4: the penalty enters D's loss and gradient 4 times
    # over, exactly as an official step (k = 1) with lambda 4 x 10 and the same draws.
    lazy, lazy_w = _weights_after(_trainer(gp_interval=4), 128, x, labels)
    heavy, heavy_w = _weights_after(_trainer(wgan_lambda=40.0), 128, x, labels)
    assert float(heavy["d_gp"]) > 0
    for key in ("loss_d", "d_gp", "d_real", "d_fake", "loss_g"):
        assert float(lazy[key]) == pytest.approx(float(heavy[key]), rel=1e-6), key
    # The tick mean over k steps estimates the mean norm: x k here, 0 on the other steps.
    assert float(lazy["d_grad_norm"]) == pytest.approx(4 * float(heavy["d_grad_norm"]), rel=1e-6)
    for a, b in zip(lazy_w, heavy_w):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    # Step 132/4 = 33 does not: no penalty in the loss or the gradient, as with lambda 0.
    skip, skip_w = _weights_after(_trainer(gp_interval=4), 132, x, labels)
    free, free_w = _weights_after(_trainer(wgan_lambda=0.0), 132, x, labels)
    assert float(skip["d_gp"]) == 0 and float(skip["d_grad_norm"]) == 0
    assert float(free["d_grad_norm"]) > 0  # lambda 0 still computes the norm: k = 4 does not
    for key in ("loss_d", "d_real", "d_fake", "loss_g"):
        assert float(skip[key]) == pytest.approx(float(free[key]), rel=1e-6), key
    for a, b in zip(skip_w, free_w):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    assert any(not np.allclose(a, b) for a, b in zip(skip_w, lazy_w))


def test_gp_interval_is_validated():
    from pgan_tf.errors import UserError
    with pytest.raises(UserError, match="--gp_interval=0: must be >= 1"):
        TrainConfig(gp_interval=0)
