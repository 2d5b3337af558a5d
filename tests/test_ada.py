"""ADA state and controller: the overfitting statistic, p's direction and step on a
stub D, p = 0 equals no augmentation inside the step, the GP interpolates between the augmented
pair, G trained through the augmentation, and p surviving a resume exactly."""
import functools

import numpy as np
import pytest

from pgan_tf import cli

tf = cli.import_tensorflow()

from pgan_tf.config import TrainConfig  # noqa: E402
from pgan_tf.errors import UserError  # noqa: E402
from pgan_tf.model.networks import Discriminator, Generator  # noqa: E402
from pgan_tf.training import ada, d_augment, loop  # noqa: E402
from pgan_tf.training.step import (  # noqa: E402
    _STREAM_GP_MIX, Trainer, _replica_seed, gp_mix_factors)
from pgan_tf.training.summaries import parse_log_line  # noqa: E402
from tests.tiny_dataset import make_tiny_dataset  # noqa: E402
from tests.train_helpers import Recorder  # noqa: E402

RES, K, LATENT, B = 8, 3, 8, 8
NET = dict(resolution=RES, num_classes=K, latent_size=LATENT, fmap_base=32, fmap_max=8, seed=3,
           d_augment_min_res=4)  # augment at these tiny sizes (default: from 16x16)


def _config(**overrides):
    return TrainConfig(**{**NET, **overrides})


# ---- the statistic and the controller on a stub D -------------------------------------------------

def _stub_scores(overfit, offset, seed=0):
    """A stub critic's scores for B reals and B fakes: a memorising D scores its reals above
    every fake; an undecided one gives both the same distribution. `offset` shifts all scores
    (a WGAN critic's arbitrary level)."""
    rng = np.random.RandomState(seed)
    fake = rng.normal(0.0, 1.0, B)
    real = fake + 5.0 if overfit else rng.normal(0.0, 1.0, B)
    return tf.constant(real + offset, tf.float32), tf.constant(fake + offset, tf.float32)


def test_statistic_measures_separation_not_the_critics_offset():
    for offset in (0.0, 50.0, -50.0):
        assert float(ada.overfit_statistic(*_stub_scores(True, offset))) == 1.0
        undecided = [float(ada.overfit_statistic(*_stub_scores(False, offset, s))) for s in range(40)]
        assert abs(np.mean(undecided)) < 0.15
    # ADA's raw E[sign(D(real))] would read the offset instead: +1 for an undecided critic at +50.
    real, _ = _stub_scores(False, 50.0)
    assert float(tf.reduce_mean(tf.sign(real))) == 1.0


def test_rt_compares_each_real_with_the_real_fake_midpoint():
    real, fake = tf.constant([3.0, 2.0, 1.0, 0.0]), tf.constant([0.0, 0.0, 0.0, 0.0])
    # midpoint (1.5 + 0) / 2 = 0.75: three reals above, one below (the fake mean 0 gave 0.75)
    assert float(ada.overfit_statistic(real, fake)) == 0.5
    # Equal-variance Gaussian scores 1.68 sigma apart: ADA's 0.6 (2 Phi(0.84) - 1 = 0.599).
    rng = np.random.RandomState(0)
    real = rng.normal(1.68, 1.0, 200000).astype(np.float32)
    fake = rng.normal(0.0, 1.0, 200000).astype(np.float32)
    assert float(ada.overfit_statistic(real, fake)) == pytest.approx(0.599, abs=0.01)


@pytest.mark.parametrize("scale, offset", [(1.0, 0.0), (7.0, -300.0), (0.01, 42.0)])
def test_rv_is_free_of_the_critics_offset_and_scale(scale, offset):
    score = lambda s: tf.constant(s * scale + offset, tf.float32)  # noqa: E731
    rv = lambda t, h, f: float(ada.rv_statistic(score(t), score(h), score(f)))  # noqa: E731
    assert rv(3.0, 2.0, 1.0) == pytest.approx(0.5, abs=1e-3)  # held-out halfway to the fakes
    assert rv(3.0, 3.0, 1.0) == pytest.approx(0.0, abs=1e-3)  # held-out scored like training reals
    assert rv(3.0, 1.0, 1.0) == pytest.approx(1.0, abs=1e-3)  # held-out scored like fakes
    assert rv(1.0, 0.0, 2.0) == 1.0 and rv(1.0, 2.0, 2.0) == -1.0  # fakes above reals: sign only


@pytest.mark.parametrize("held_out, direction", [(0.5, 1), (2.8, -1)])
def test_rv_controller_uses_the_ratio_of_interval_sums(held_out, direction):
    aug = ada.DAugment(_config(d_augment="ada", d_augment_p=0.5, d_augment_interval=2,
                               d_augment_speed_kimg=2.0))
    assert aug.config.d_augment_target == 0.5 and aug.config.heldout_per_class == 8
    # Two steps whose own ratios differ: the controller divides the interval's sums.
    for real, fake in ((3.0, 1.0), (5.0, -1.0)):
        stats = {ada.STAT_RT: 1.0, ada.STAT_REAL: real, ada.STAT_HELDOUT: held_out + real - 3.0,
                 ada.STAT_FAKE: fake}
        aug.update({k: tf.constant(v) for k, v in stats.items()}, tf.constant(True), tf.constant(B))
    expected = ((3 + 5) - (2 * held_out + 2)) / ((3 + 5) - 0.0)
    assert float(aug.last_rt.numpy()) == pytest.approx(expected)
    assert float(aug.p.numpy()) == pytest.approx(0.5 + direction * 2 * B / 2000.0)


def test_tick_statistics_average_over_the_steps_that_gathered_them():
    # Half the tick's steps were below --d_augment_min_res (weight 0): means are halved sums.
    means = {"loss_d": 1.0, ada.STAT_WEIGHT: 0.5, ada.STAT_RT: 0.3, ada.STAT_REAL: 1.5,
             ada.STAT_HELDOUT: 1.0, ada.STAT_FAKE: 0.5}
    stats = ada.tick_statistics(means)
    assert stats == pytest.approx({"aug_rt": 0.6, "aug_rv": 0.5, "d_heldout": 2.0})
    assert means == {"loss_d": 1.0}
    assert ada.tick_statistics({ada.STAT_WEIGHT: 0.0, ada.STAT_RT: 0.0}) == {}


@pytest.mark.parametrize("overfit, direction", [(True, 1), (False, -1)])
def test_controller_moves_p_by_ada_step_every_interval(overfit, direction):
    aug = ada.DAugment(_config(d_augment="ada", d_augment_heuristic="rt", d_augment_p=0.5,
                               d_augment_interval=4, d_augment_speed_kimg=2.0))
    ps = []
    for step in range(8):
        r = ada.overfit_statistic(*_stub_scores(overfit, 50.0, step))
        aug.update({ada.STAT_RT: r}, tf.constant(True), tf.constant(B))
        ps.append(float(aug.p.numpy()))
    move = B * 4 / 2000.0  # images per interval / (speed_kimg * 1000)
    assert ps[:3] == [0.5] * 3 and ps[4:7] == [ps[3]] * 3  # only every 4th step
    np.testing.assert_allclose([ps[3], ps[7]], [0.5 + direction * move, 0.5 + 2 * direction * move],
                               rtol=1e-6)
    assert (float(aug.last_rt.numpy()) > 0.6) == overfit


def test_controller_clips_p_and_ignores_skipped_steps():
    aug = ada.DAugment(_config(d_augment="ada", d_augment_heuristic="rt", d_augment_p=0.0,
                               d_augment_interval=1,
                               d_augment_speed_kimg=0.001, d_augment_p_max=1.0))
    aug.update({ada.STAT_RT: tf.constant(-1.0)}, tf.constant(True), tf.constant(B))
    assert float(aug.p.numpy()) == 0.0
    aug.update({ada.STAT_RT: tf.constant(1.0)}, tf.constant(True), tf.constant(B))
    assert float(aug.p.numpy()) == ada.P_BELOW_ONE < 1.0  # p < 1 even without a cap
    # A skipped NaN step:
    aug.update({ada.STAT_RT: tf.constant(np.nan)}, tf.constant(False), tf.constant(B))
    assert float(aug.p.numpy()) == ada.P_BELOW_ONE and float(aug.sign_steps.numpy()) == 0.0


def test_controller_never_exceeds_p_max_on_an_always_overfitting_d():
    assert TrainConfig().d_augment_p_max == 0.8  # ADA §2.2's safe bound by default
    aug = ada.DAugment(_config(d_augment="ada", d_augment_heuristic="rt", d_augment_p=0.5,
                               d_augment_interval=2, d_augment_speed_kimg=0.1))
    ps = []
    for step in range(12):  # +0.16 per interval: would pass 1 without the cap
        aug.update({ada.STAT_RT: ada.overfit_statistic(*_stub_scores(True, 50.0, step))},
                   tf.constant(True), tf.constant(B))
        ps.append(float(aug.p.numpy()))
    assert ps[1] == pytest.approx(0.66) and max(ps) == ps[-1] == np.float32(0.8)


def test_a_resumed_fixed_run_uses_its_own_p_not_the_restored_one():
    aug = ada.DAugment(_config(d_augment="fixed", d_augment_p=0.2))
    aug.p.assign(0.5)  # as restored from a run made with --d_augment_p=0.5
    assert aug.tick_values()["aug_p"] == np.float32(0.2)
    images = tf.constant(np.random.RandomState(0).uniform(-1, 1, (64, 8, 8, 3)), tf.float32)
    seed = tf.constant([3, 4], tf.int64)
    np.testing.assert_array_equal(aug(images, seed).numpy(),
                                  d_augment.augment(images, 0.2, seed, aug.groups).numpy())


def test_a_lowered_p_max_caps_a_restored_p_at_once():
    aug = ada.DAugment(_config(d_augment="ada", d_augment_p=0.3, d_augment_p_max=0.5))
    aug.p.assign(0.9)  # as restored from a run with --d_augment_p_max=1
    assert aug.tick_values()["aug_p"] == 0.5
    images = tf.constant(np.random.RandomState(0).uniform(-1, 1, (64, 8, 8, 3)), tf.float32)
    seed = tf.constant([3, 4], tf.int64)
    np.testing.assert_array_equal(aug(images, seed).numpy(),
                                  d_augment.augment(images, 0.5, seed, aug.groups).numpy())


@pytest.mark.parametrize("mode", ["fixed", "ada"])
def test_p_above_p_max_is_refused_in_one_line(mode):
    with pytest.raises(UserError) as err:
        _config(d_augment=mode, d_augment_p=0.9)
    assert str(err.value) == ("--d_augment_p=0.9 is above --d_augment_p_max=0.8 (ADA's safe bound "
                              "against leaks); lower --d_augment_p, or raise --d_augment_p_max "
                              "(at most 1) to allow it")
    assert _config(d_augment=mode, d_augment_p=0.9, d_augment_p_max=1.0).d_augment_p == 0.9
    assert _config(d_augment="none", d_augment_p=0.9).d_augment_p == 0.9  # unused: no check
    fixed = ada.DAugment(_config(d_augment="fixed", d_augment_p=0.3))
    fixed.update({ada.STAT_RT: tf.constant(1.0)}, tf.constant(True), tf.constant(B))
    assert float(fixed.p.numpy()) == pytest.approx(0.3)


@pytest.mark.parametrize("ops, message", [
    ("blit,colour", "--d_augment_ops=blit,colour: unknown group 'colour'; valid groups: blit, geom, "
                    "color, cutout"),
    ("", "--d_augment_ops is empty but --d_augment=ada"),
])
def test_bad_ops_are_refused(ops, message):
    with pytest.raises(UserError, match=message):
        _config(d_augment="ada", d_augment_ops=ops)


# ---- inside the training step ---------------------------------------------------------------------

def _trainer(**overrides):
    common = dict(resolution=RES, num_classes=K, fmap_base=32, fmap_max=8)
    tf.keras.utils.set_random_seed(0)
    return Trainer(_config(**overrides), functools.partial(Generator, latent_size=LATENT, **common),
                   functools.partial(Discriminator, **common), np.eye(K, dtype=np.float32))


def _batch(res=RES):
    rng = np.random.RandomState(0)
    return (tf.constant(rng.uniform(-1, 1, (B, res, res, 3)).astype(np.float32)),
            tf.constant(np.eye(K, dtype=np.float32)[rng.randint(0, K, B)]))


def test_fixed_p_zero_step_equals_no_augmentation():
    plain, zero = _trainer(), _trainer(d_augment="fixed", d_augment_p=0.0,
                                       d_augment_ops="blit,geom,color,cutout")
    reals, labels = _batch()
    a = plain.step(reals, labels, RES, 0.5, True, 0)  # a fade-in step
    b = zero.step(reals, labels, RES, 0.5, True, 0)
    for key in a:
        np.testing.assert_array_equal(a[key].numpy(), b[key].numpy())
    for u, v in zip(plain.G.weights + plain.D.weights, zero.G.weights + zero.D.weights):
        np.testing.assert_array_equal(u.numpy(), v.numpy())




def test_d_sees_augmented_reals_fakes_and_their_interpolate():
    trainer = _trainer(d_augment="fixed", d_augment_p=0.9, d_augment_p_max=1.0)
    trainer.D = Recorder(trainer.D)
    reals, labels = _batch()
    seeds = tf.random.experimental.stateless_split(tf.constant([1, 2], tf.int64), num=4)
    _, metrics = trainer._d_replica(reals, labels, None, RES, seeds, 0)
    seen_reals, seen_fakes, mixed = trainer.D.inputs
    assert not np.array_equal(seen_reals.numpy(), reals.numpy())  # reals were augmented
    u = gp_mix_factors(B, _replica_seed(seeds[_STREAM_GP_MIX], 0))
    np.testing.assert_allclose(mixed.numpy(), (seen_reals + (seen_fakes - seen_reals) * u).numpy(),
                               atol=1e-6)
    assert -1.0 <= float(metrics[ada.STAT_RT]) <= 1.0


def test_g_is_trained_through_the_augmentation():
    trainer = _trainer(d_augment="fixed", d_augment_p=0.999, d_augment_p_max=1.0,
                       d_augment_ops="blit,geom,color,cutout")
    trainer.D = Recorder(trainer.D)
    reals, labels = _batch()
    seeds = tf.random.experimental.stateless_split(tf.constant([1, 2], tf.int64), num=4)
    grads, _ = trainer._g_replica(reals, labels, None, RES, seeds, 0)
    assert all(np.all(np.isfinite(g.numpy())) for g in grads)
    assert sum(float(tf.reduce_sum(tf.abs(g))) for g in grads) > 0
    fakes = trainer.D.inputs[0]
    assert fakes.shape == (B, RES, RES, 3)


@pytest.mark.slow  # XLA compiles two whole training steps: minutes on these CPUs
def test_ada_trains_under_jit_compile():
    """--d_augment=ada with --jit_compile: every group, a fade-in and a stable step inside one
    XLA-compiled step each; the controller (interval 1) moves p by ADA's step after every D step,
    in the direction of that step's statistic."""
    trainer = _trainer(d_augment="ada", d_augment_heuristic="rt", d_augment_p=0.5,
                       d_augment_p_max=1.0, d_augment_interval=1,
                       d_augment_target=0.0, d_augment_speed_kimg=1.0, jit_compile=True,
                       d_augment_ops="blit,geom,color,cutout")
    reals, labels = _batch()
    p = 0.5
    for i, fading in enumerate((True, False, False)):
        out = trainer.step(reals, labels, RES, 0.5, fading, i * B)
        assert bool(out["finite"]) and all(np.isfinite(float(v)) for v in out.values())
        p += np.sign(float(out[ada.STAT_RT])) * B / 1000.0  # sign(r_t - target) * B / (speed * 1000)
        assert float(trainer.augment.p.numpy()) == pytest.approx(p, abs=1e-6)
    # Really XLA-compiled: the step's compute, inside the NaN guard (see Trainer._core).
    assert trainer._compiled and all(c._jit_compile for c in trainer._compiled.values())


# ---- through the loop: tick line and exact resume --------------------------------------------------

# One 8x8 stage (fade-ins are covered above), minibatch 8: a tick and a checkpoint every 2 steps,
# p adjusted every 2 steps by 0.032 (target 1: down unless every real sits above the real/fake
# midpoint; a target of 0 may leave p still at initialisation, where r_t is often exactly 0).
TINY = dict(resolution=8, lod_initial_resolution=8, num_classes=3, latent_size=8, fmap_base=32,
            fmap_max=8, minibatch_dict={8: 8}, tick_kimg=0.016, snapshot_ticks=1, d_lr=0.004,
            seed=7, d_augment="ada", d_augment_heuristic="rt", d_augment_p=0.2,
            d_augment_interval=2, d_augment_target=1.0, d_augment_speed_kimg=0.5,
            d_augment_min_res=8)


@pytest.mark.slow  # end to end, minutes on 2 cores: `make test-slow`
def test_p_survives_resume_exactly(tmp_path):
    data = make_tiny_dataset(str(tmp_path / "data"), resolution=8)

    def run(name, kimg):
        return loop.run(TrainConfig(data_dir=data, run_dir=str(tmp_path / name), total_kimg=kimg,
                                    **TINY))

    full = run("full", 0.048)
    run("part", 0.024)  # 3 steps: stops with one step of the next interval accumulated
    resumed = run("part", 0.048)
    p_full, p_resumed = (float(s.trainer.augment.p.numpy()) for s in (full, resumed))
    assert p_full == p_resumed
    for a, b in zip(full.trainer.G.weights + full.trainer.D.weights,
                    resumed.trainer.G.weights + resumed.trainer.D.weights):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-4, atol=1e-5)
    with open(tmp_path / "full" / "log.txt") as f:
        ticks = [parse_log_line(l) for l in f if l.startswith("tick ")]
    assert all("aug_p" in t and "aug_rt" in t and "aug_stat_last" in t for t in ticks)
    assert ticks[-1]["aug_p"] == pytest.approx(p_full, abs=1e-4)
    assert len({t["aug_p"] for t in ticks} | {0.2}) > 1  # p moved


# ---- gating by resolution, held-out reals in every arm ------------------------------------------

def _d_inputs(trainer, heldout=None, res=RES):
    """D's inputs and the metrics of one D replica step (recorded, eager)."""
    trainer.D = Recorder(trainer.D)
    reals, labels = _batch(res)
    seeds = tf.random.experimental.stateless_split(tf.constant([1, 2], tf.int64), num=4)
    _, metrics = trainer._d_replica(reals, labels, None, res, seeds, 0, heldout=heldout)
    return reals, trainer.D.inputs, metrics


def test_below_min_res_images_pass_unchanged_p_is_not_adjusted_no_statistic():
    trainer = _trainer(d_augment="ada", d_augment_heuristic="rt", d_augment_p=0.5,
                       d_augment_min_res=16, d_augment_interval=1, d_augment_speed_kimg=0.001)
    reals, seen, metrics = _d_inputs(trainer)
    np.testing.assert_array_equal(seen[0].numpy(), reals.numpy())  # 8x8 < 16: unaugmented
    assert float(metrics[ada.STAT_WEIGHT]) == 0.0 and float(metrics[ada.STAT_RT]) == 0.0
    trainer.D = trainer.D.model
    _eager_step(trainer)
    assert float(trainer.augment.p.numpy()) == 0.5  # interval 1, huge step: it would have moved
    assert float(trainer.augment.sign_steps.numpy()) == 0.0
    at_8 = _trainer(d_augment="ada", d_augment_heuristic="rt", d_augment_p=0.5,
                    d_augment_min_res=8, d_augment_interval=1, d_augment_speed_kimg=0.001)
    _eager_step(at_8)  # at min_res itself: augmented and adjusted
    assert float(at_8.augment.p.numpy()) != 0.5


def _eager_step(trainer, heldout=None):
    """One training iteration without tf.function (tracing costs minutes on a loaded machine)."""
    reals, labels = _batch()
    return trainer._train_step(reals, labels, tf.constant(1.0), tf.constant(0, tf.int64), RES,
                               False, True, heldout=heldout)  # gp=True: the per-step penalty


def test_none_without_held_out_set_adds_no_work_and_no_metric():
    trainer = _trainer()
    assert trainer.config.heldout_per_class == 0 and trainer.augment is None
    reals, seen, metrics = _d_inputs(trainer)
    assert len(seen) == 3  # reals, fakes, interpolate: no held-out pass
    np.testing.assert_array_equal(seen[0].numpy(), reals.numpy())
    assert not any(k.startswith("ovf_") for k in metrics)


def test_held_out_statistic_in_the_none_arm_leaves_training_bit_identical():
    """The held-out pass is off the tape: the same step with and without it trains the same
    weights, and the statistic's metrics come out (every arm logs r_v when a set exists)."""
    plain, measured = _trainer(), _trainer(heldout_per_class=2)
    held = tf.constant(np.random.RandomState(9).uniform(-1, 1, (6, RES, RES, 3)), tf.float32)
    a, b = _eager_step(plain), _eager_step(measured, held)
    for key in a:
        np.testing.assert_array_equal(a[key].numpy(), b[key].numpy())
    for u, v in zip(plain.G.weights + plain.D.weights, measured.G.weights + measured.D.weights):
        np.testing.assert_array_equal(u.numpy(), v.numpy())
    assert float(b[ada.STAT_WEIGHT]) == 1.0
    assert float(b[ada.STAT_REAL]) == pytest.approx(float(b["d_real"]))
    assert float(b[ada.STAT_FAKE]) == pytest.approx(float(b["d_fake"]))
    assert np.isfinite(float(b[ada.STAT_HELDOUT])) and float(b[ada.STAT_HELDOUT]) != float(b["d_real"])
