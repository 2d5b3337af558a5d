"""WGAN-GP + AC-GAN losses of official PGAN (docs/design.md#losses: `G_wgan_acgan`,
`D_wgangp_acgan`).

Pure functions of network outputs: the training step runs G and D, draws the per-sample mix factor
u ~ U[0, 1] ([N, 1, 1, 1]), takes the gradient of the summed scores of the interpolate, and passes the
norms here. All arithmetic is float32 (mixed-precision outputs are cast first) and every loss is the
mean over the (per-replica) batch of a per-sample loss, as official.

Because our networks run at the native resolution r of the current stage while the official ones see
full-resolution R x R tensors, the GP norm must be divided by R / r (`native_gradient_norm`;
docs/design.md#losses, "Gradient penalty at native resolution").
"""
import numpy as np
import tensorflow as tf

# docs/design.md#losses (official D_wgangp_acgan / G_wgan_acgan defaults).
WGAN_LAMBDA = 10.0     # gradient-penalty weight
WGAN_TARGET = 1.0      # target gradient norm gamma
WGAN_EPSILON = 0.001   # weight of the D(real)^2 drift term
COND_WEIGHT = 1.0      # weight of the AC-GAN cross-entropy terms


def interpolate(reals, fakes, u):
    """x_hat = reals + (fakes - reals) * u with one mix factor per sample (u: [N, 1, 1, 1] in [0, 1])."""
    reals = tf.convert_to_tensor(reals)
    fakes = tf.cast(fakes, reals.dtype)
    u = tf.cast(u, reals.dtype)
    return reals + (fakes - reals) * u


def native_gradient_norm(grads, resolution, full_resolution):
    """Per-sample L2 norm over H, W, C of `grads` [N, r, r, C], as the official full-resolution norm.

    Official D average-pools its nearest-upsampled R x R input down to r x r; the chain rule spreads each
    native pixel's gradient over k^2 = (R/r)^2 full-resolution pixels at 1/k^2 each, so the
    full-resolution norm is the native norm divided by k (docs/design.md#losses).
    Returns [N] float32.
    """
    if resolution <= 0 or full_resolution % resolution:
        raise ValueError(f"full_resolution {full_resolution} is not a multiple of resolution {resolution}")
    scale = full_resolution // resolution
    grads = tf.cast(grads, tf.float32)
    norms = tf.sqrt(tf.reduce_sum(tf.square(grads), axis=[1, 2, 3]))   # [N]
    return norms / float(scale)


def mixed_gradient_norms(critic, mixed, resolution, full_resolution):
    """Official GP norms ([N]) of `critic` (images -> scores [N, 1]) at the native interpolate `mixed`.

    The gradient is that of the *sum* of scores (docs/design.md#losses), so each sample's
    gradient is its own. Call inside the outer tape of the D step so the penalty is differentiable
    w.r.t. D's weights.
    """
    with tf.GradientTape() as tape:
        tape.watch(mixed)
        scores = tf.cast(critic(mixed), tf.float32)
        total = tf.reduce_sum(scores)
    grads = tape.gradient(total, mixed)
    return native_gradient_norm(grads, resolution, full_resolution)


def _has_classes(logits, labels):
    """Label terms exist only when D has class outputs (docs/design.md#losses: label_size > 0)."""
    return logits is not None and labels is not None and logits.shape[-1] != 0


def _cross_entropy(labels, logits):
    """Per-sample softmax cross-entropy with one-hot float labels: [N, K] -> [N]."""
    return tf.nn.softmax_cross_entropy_with_logits(labels=tf.cast(labels, tf.float32),
                                                   logits=tf.cast(logits, tf.float32))


def _per_sample(scores):
    """Scores [N, 1] (or [N]) as float32 [N]."""
    return tf.reshape(tf.cast(scores, tf.float32), [-1])   # [N, 1] -> [N]


def ac_accuracy(logits, labels):
    """Fraction of samples whose arg-max logit is the arg-max of their (one-hot) label."""
    hits = tf.equal(tf.argmax(logits, axis=-1), tf.argmax(labels, axis=-1))
    return tf.reduce_mean(tf.cast(hits, tf.float32))


def balanced_class_weights(label_rows):
    """Per-class weights N / (K n_c) of one-hot `label_rows` [N, K] -> float32 [K] (NumPy).

    K counts only the classes present (an absent class gets 0), so the weights average to 1 over the
    dataset's rows: the AC term keeps its official overall size, only its split between classes
    changes (every present class then weighs 1/K of it, as a balanced classifier loss does).
    """
    rows = np.asarray(label_rows, np.float64)
    counts = rows.sum(axis=0)
    present = counts > 0
    weights = np.zeros(rows.shape[1], np.float64)
    weights[present] = rows.shape[0] / (present.sum() * counts[present])
    return weights.astype(np.float32)


def d_loss(real_scores, fake_scores, real_logits, fake_logits, labels, mixed_norms, *,
           wgan_lambda=WGAN_LAMBDA, wgan_target=WGAN_TARGET, wgan_epsilon=WGAN_EPSILON,
           cond_weight=COND_WEIGHT, class_weights=None, gp_weight=1):
    """Official D_wgangp_acgan: mean over samples of

        D(fake) - D(real) + lambda/gamma^2 (||grad|| - gamma)^2 + eps D(real)^2
        + cond_weight [CE(labels, real_logits) + CE(labels, fake_logits)].

    Fakes are generated with the reals' labels (docs/design.md#losses). `mixed_norms` [N]
    are the official (full-resolution) norms, e.g. from `mixed_gradient_norms`. Returns (loss,
    terms): each term is the batch mean of its (weighted, for `gp` and `drift`) per-sample value;
    `ac_*` are unweighted cross-entropies (0 without classes) and `acc_*` AC-head accuracies
    (only with classes). `class_weights` [K] (`--ac_balanced`, beyond the paper) scales each
    sample's two AC terms by its class's weight; None = official (every sample alike).
    `gp_weight` multiplies the penalty (`--gp_interval` k on the D steps that carry it: lazy
    regularization, beyond the paper); `mixed_norms=None` leaves the penalty out (the lazy GP's
    other steps), and `gp`/`grad_norm` then report 0.
    """
    real = _per_sample(real_scores)
    fake = _per_sample(fake_scores)
    drift = wgan_epsilon * tf.square(real)
    if mixed_norms is None:  # a lazy-GP step without the penalty
        norms = penalty = tf.zeros_like(real)
        loss = fake - real + drift
    else:
        norms = tf.reshape(tf.cast(mixed_norms, tf.float32), [-1])
        penalty = (wgan_lambda / wgan_target ** 2 * gp_weight) * tf.square(norms - wgan_target)
        loss = fake - real + penalty + drift
    terms = {"d_real": tf.reduce_mean(real), "d_fake": tf.reduce_mean(fake),
             "gp": tf.reduce_mean(penalty), "grad_norm": tf.reduce_mean(norms),
             "drift": tf.reduce_mean(drift)}
    if _has_classes(real_logits, labels):
        ce_real = _cross_entropy(labels, real_logits)
        ce_fake = _cross_entropy(labels, fake_logits)
        ac = ce_real + ce_fake
        if class_weights is not None:  # [N, K] @ [K] -> [N]: each sample's class weight
            ac *= tf.linalg.matvec(tf.cast(labels, tf.float32), class_weights)
        loss += cond_weight * ac
        terms.update(ac_real=tf.reduce_mean(ce_real), ac_fake=tf.reduce_mean(ce_fake),
                     acc_real=ac_accuracy(real_logits, labels), acc_fake=ac_accuracy(fake_logits, labels))
    else:
        terms.update(ac_real=tf.zeros([]), ac_fake=tf.zeros([]))
    return tf.reduce_mean(loss), terms


def g_loss(fake_scores, fake_logits, labels, *, cond_weight=COND_WEIGHT):
    """Official G_wgan_acgan: mean over samples of -D(fake) + cond_weight CE(labels, fake_logits).

    Returns (loss, terms) with `g_adv` (mean -D(fake)), `ac_fake` (unweighted CE, 0 without classes)
    and, with classes, `acc_fake`.
    """
    adversarial = -_per_sample(fake_scores)
    loss = adversarial
    terms = {"g_adv": tf.reduce_mean(adversarial)}
    if _has_classes(fake_logits, labels):
        ce_fake = _cross_entropy(labels, fake_logits)
        loss += cond_weight * ce_fake
        terms.update(ac_fake=tf.reduce_mean(ce_fake), acc_fake=ac_accuracy(fake_logits, labels))
    else:
        terms["ac_fake"] = tf.zeros([])
    return tf.reduce_mean(loss), terms
