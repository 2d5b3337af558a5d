"""Tests for pgan_tf.training.losses against hand / NumPy values (docs/design.md#losses)."""
import numpy as np
import pytest
import tensorflow as tf

from pgan_tf.training import losses


def _np_cross_entropy(labels, logits):
    """Independent softmax cross-entropy: logsumexp(logits) - logit of the labelled class."""
    logits = np.asarray(logits, np.float64)
    top = logits.max(axis=-1, keepdims=True)
    lse = np.log(np.exp(logits - top).sum(axis=-1)) + top[:, 0]
    return lse - (np.asarray(labels, np.float64) * logits).sum(axis=-1)


REAL = np.array([[1.0], [-2.0]], np.float32)
FAKE = np.array([[0.5], [3.0]], np.float32)
NORMS = np.array([1.5, 0.0], np.float32)
LABELS = np.array([[1, 0, 0], [0, 0, 1]], np.float32)
REAL_LOGITS = np.array([[2.0, 0.0, 0.0], [0.0, 0.0, 0.0]], np.float32)
FAKE_LOGITS = np.array([[0.0, 1.0, -1.0], [0.5, 0.5, 3.0]], np.float32)


def test_d_loss_terms_by_hand():
    loss, terms = losses.d_loss(REAL, FAKE, REAL_LOGITS, FAKE_LOGITS, LABELS, NORMS)
    # gp: 10 * (1.5 - 1)^2 = 2.5 and 10 * (0 - 1)^2 = 10; drift: 0.001 * (1, 4).
    assert float(terms["d_real"]) == pytest.approx(-0.5)
    assert float(terms["d_fake"]) == pytest.approx(1.75)
    assert float(terms["gp"]) == pytest.approx(6.25)
    assert float(terms["grad_norm"]) == pytest.approx(0.75)
    assert float(terms["drift"]) == pytest.approx(0.0025)
    ce_real = [np.log(1 + 2 * np.exp(-2.0)), np.log(3.0)]
    ce_fake = _np_cross_entropy(LABELS, FAKE_LOGITS)
    assert float(terms["ac_real"]) == pytest.approx(np.mean(ce_real), rel=1e-6)
    assert float(terms["ac_fake"]) == pytest.approx(np.mean(ce_fake), rel=1e-6)
    per_sample = (FAKE[:, 0] - REAL[:, 0] + np.array([2.5, 10.0]) + 0.001 * REAL[:, 0] ** 2
                  + np.array(ce_real) + ce_fake)
    assert float(loss) == pytest.approx(per_sample.mean(), rel=1e-6)
    # Arg-max hits: real (0 vs 0 yes; row of zeros -> 0 vs 2 no), fake (1 vs 0 no, 2 vs 2 yes).
    assert float(terms["acc_real"]) == 0.5 and float(terms["acc_fake"]) == 0.5
    assert loss.dtype == tf.float32


def test_d_loss_weights_and_target():
    # CIFAR-10 setting gamma = 750 (docs/design.md#losses): penalty lambda / gamma^2 *
    # (norm - gamma)^2.
    norms = np.array([749.0, 752.0], np.float32)
    loss, terms = losses.d_loss(REAL, FAKE, REAL_LOGITS, FAKE_LOGITS, LABELS, norms, wgan_lambda=3.0,
                                wgan_target=750.0, wgan_epsilon=0.5, cond_weight=0.25)
    gp = 3.0 / 750.0 ** 2 * np.array([1.0, 4.0])
    drift = 0.5 * REAL[:, 0] ** 2
    ce = _np_cross_entropy(LABELS, REAL_LOGITS) + _np_cross_entropy(LABELS, FAKE_LOGITS)
    expected = (FAKE[:, 0] - REAL[:, 0] + gp + drift + 0.25 * ce).mean()
    assert float(loss) == pytest.approx(expected, rel=1e-6)
    assert float(terms["gp"]) == pytest.approx(gp.mean(), rel=1e-5)
    assert float(terms["drift"]) == pytest.approx(drift.mean())


def test_balanced_class_weights_average_to_one_over_the_rows():
    # Class 0: 3 rows, class 1: 1 row, class 2: absent -> N / (K_present n_c) = 4/6, 4/2, 0.
    rows = np.eye(3, dtype=np.float32)[[0, 0, 1, 0]]
    weights = losses.balanced_class_weights(rows)
    np.testing.assert_allclose(weights, [4 / 6, 2.0, 0.0], rtol=1e-6)
    assert (rows @ weights).mean() == pytest.approx(1.0)   # the AC term keeps its overall size


def test_d_loss_class_weights_scale_each_samples_ac_terms():
    weights = np.array([0.5, 7.0, 3.0], np.float32)   # sample 0 is class 0, sample 1 class 2
    loss, terms = losses.d_loss(REAL, FAKE, REAL_LOGITS, FAKE_LOGITS, LABELS, NORMS,
                                class_weights=tf.constant(weights))
    ce = _np_cross_entropy(LABELS, REAL_LOGITS) + _np_cross_entropy(LABELS, FAKE_LOGITS)
    rest = FAKE[:, 0] - REAL[:, 0] + np.array([2.5, 10.0]) + 0.001 * REAL[:, 0] ** 2
    assert float(loss) == pytest.approx((rest + np.array([0.5, 3.0]) * ce).mean(), rel=1e-6)
    # The logged cross-entropies stay unweighted (comparable with official runs' logs).
    assert float(terms["ac_real"]) == pytest.approx(_np_cross_entropy(LABELS, REAL_LOGITS).mean(),
                                                    rel=1e-6)


@pytest.mark.parametrize("logits", [None, np.zeros([2, 0], np.float32)])
def test_unconditional_losses_have_no_label_terms(logits):
    labels = None if logits is None else np.zeros([2, 0], np.float32)
    loss, terms = losses.d_loss(REAL, FAKE, logits, logits, labels, NORMS)
    assert float(loss) == pytest.approx(np.mean([-0.5 + 2.5 + 0.001, 5.0 + 10.0 + 0.004]))
    assert float(terms["ac_real"]) == 0.0 and "acc_real" not in terms
    g, g_terms = losses.g_loss(FAKE, logits, labels)
    assert float(g) == pytest.approx(-1.75) and float(g_terms["ac_fake"]) == 0.0


def test_g_loss_by_hand():
    loss, terms = losses.g_loss(FAKE, FAKE_LOGITS, LABELS, cond_weight=2.0)
    ce = _np_cross_entropy(LABELS, FAKE_LOGITS)
    assert float(terms["g_adv"]) == pytest.approx(-1.75)
    assert float(terms["ac_fake"]) == pytest.approx(ce.mean(), rel=1e-6)
    assert float(loss) == pytest.approx((-FAKE[:, 0] + 2.0 * ce).mean(), rel=1e-6)
    assert float(terms["acc_fake"]) == 0.5


def test_losses_cast_half_precision_outputs_to_float32():
    loss, terms = losses.g_loss(tf.constant(FAKE, tf.float16), tf.constant(FAKE_LOGITS, tf.float16), LABELS)
    assert loss.dtype == tf.float32 and terms["ac_fake"].dtype == tf.float32


def test_losses_trace_in_tf_function_with_unknown_batch():
    spec = tf.TensorSpec([None, 1], tf.float32)
    logit_spec = tf.TensorSpec([None, 3], tf.float32)

    @tf.function(input_signature=[spec, spec, logit_spec, logit_spec, logit_spec, tf.TensorSpec([None])])
    def step(real, fake, real_logits, fake_logits, labels, norms):
        return losses.d_loss(real, fake, real_logits, fake_logits, labels, norms)[0]

    eager, _ = losses.d_loss(REAL, FAKE, REAL_LOGITS, FAKE_LOGITS, LABELS, NORMS)
    assert float(step(REAL, FAKE, REAL_LOGITS, FAKE_LOGITS, LABELS, NORMS)) == pytest.approx(float(eager))


def test_ac_accuracy():
    logits = np.array([[2, 0, 0], [0, 1, 0], [0, 0, 5], [1, 0, 0]], np.float32)
    labels = np.eye(3, dtype=np.float32)[[0, 2, 2, 1]]
    assert float(losses.ac_accuracy(logits, labels)) == 0.5


def test_interpolate_endpoints_and_per_sample_mix():
    rng = np.random.RandomState(0)
    reals = rng.standard_normal([3, 2, 2, 3]).astype(np.float32)
    fakes = rng.standard_normal([3, 2, 2, 3]).astype(np.float32)
    zeros, ones = np.zeros([3, 1, 1, 1], np.float32), np.ones([3, 1, 1, 1], np.float32)
    np.testing.assert_array_equal(losses.interpolate(reals, fakes, zeros).numpy(), reals)
    np.testing.assert_allclose(losses.interpolate(reals, fakes, ones).numpy(), fakes, atol=1e-6)
    u = np.array([0.0, 0.25, 1.0], np.float32).reshape([3, 1, 1, 1])
    mixed = losses.interpolate(reals, fakes, u).numpy()
    for i, weight in enumerate([0.0, 0.25, 1.0]):
        np.testing.assert_allclose(mixed[i], (1 - weight) * reals[i] + weight * fakes[i], atol=1e-6)


def test_native_gradient_norm_by_hand():
    grads = np.ones([2, 2, 2, 3], np.float32)
    grads[1] *= 2.0
    np.testing.assert_allclose(losses.native_gradient_norm(grads, 2, 2).numpy(),
                               [np.sqrt(12), 2 * np.sqrt(12)], rtol=1e-6)
    np.testing.assert_allclose(losses.native_gradient_norm(grads, 2, 8).numpy(),
                               [np.sqrt(12) / 4, np.sqrt(12) / 2], rtol=1e-6)
    with pytest.raises(ValueError, match="multiple"):
        losses.native_gradient_norm(grads, 3, 8)


class _ToyCritic:
    """Fixed random nonlinear critic of an r x r image; `full` sees R x R and average-pools, as official D."""

    def __init__(self, resolution, channels=3, hidden=5, seed=1):
        rng = np.random.RandomState(seed)
        fan_in = resolution * resolution * channels
        self.w1 = tf.constant(rng.standard_normal([fan_in, hidden]) / np.sqrt(fan_in), tf.float32)
        self.w2 = tf.constant(rng.standard_normal([hidden, 1]), tf.float32)

    def native(self, images):                              # [N, r, r, C] -> [N, 1]
        flat = tf.reshape(images, [tf.shape(images)[0], -1])  # [N, r*r*C]
        return tf.tanh(flat @ self.w1) @ self.w2

    def full(self, images, factor):                        # [N, R, R, C] -> [N, 1]
        return self.native(tf.nn.avg_pool2d(images, factor, factor, "VALID"))


def _nearest_upsample(images, factor):
    return tf.repeat(tf.repeat(images, factor, axis=1), factor, axis=2)  # [N, r, r, C] -> [N, rk, rk, C]


@pytest.mark.parametrize("factor", [2, 4])
def test_native_gradient_norm_equals_official_full_resolution_norm(factor):
    native_res, channels = 4, 3
    full_res = native_res * factor
    rng = np.random.RandomState(factor)
    reals = tf.constant(rng.uniform(-1, 1, [4, native_res, native_res, channels]), tf.float32)
    fakes = tf.constant(rng.uniform(-1, 1, [4, native_res, native_res, channels]), tf.float32)
    u = tf.constant(rng.uniform(size=[4, 1, 1, 1]), tf.float32)
    critic = _ToyCritic(native_res, channels)

    # Official: D sees the nearest-upsampled R x R interpolate and pools it down itself.
    mixed_full = losses.interpolate(_nearest_upsample(reals, factor), _nearest_upsample(fakes, factor), u)
    with tf.GradientTape() as tape:
        tape.watch(mixed_full)
        total = tf.reduce_sum(critic.full(mixed_full, factor))
    official = tf.sqrt(tf.reduce_sum(tf.square(tape.gradient(total, mixed_full)), axis=[1, 2, 3])).numpy()

    # Port: the critic runs at the native resolution on the native interpolate.
    mixed = losses.interpolate(reals, fakes, u)
    with tf.GradientTape() as tape:
        tape.watch(mixed)
        total = tf.reduce_sum(critic.native(mixed))
    native_grads = tape.gradient(total, mixed)
    ported = losses.native_gradient_norm(native_grads, native_res, full_res).numpy()
    np.testing.assert_allclose(ported, official, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(losses.mixed_gradient_norms(critic.native, mixed, native_res, full_res).numpy(),
                               official, rtol=1e-5, atol=1e-5)
    # Without the division the norm is `factor` times too large: the check above can fail.
    unscaled = losses.native_gradient_norm(native_grads, native_res, native_res).numpy()
    np.testing.assert_allclose(unscaled, factor * official, rtol=1e-5)
    assert np.all(official > 1e-3)


def test_mixed_gradient_norms_is_differentiable_wrt_critic_weights():
    critic = _ToyCritic(2, channels=1)
    critic.w2 = tf.Variable(critic.w2)
    mixed = tf.constant(np.random.RandomState(3).standard_normal([2, 2, 2, 1]), tf.float32)
    with tf.GradientTape() as tape:
        norms = losses.mixed_gradient_norms(critic.native, mixed, 2, 8)
        _, terms = losses.d_loss(tf.zeros([2, 1]), tf.zeros([2, 1]), None, None, None, norms)
    grad = tape.gradient(terms["gp"], critic.w2)
    assert grad is not None and float(tf.reduce_sum(tf.abs(grad))) > 0
