"""Differentiable discriminator augmentation (the ops of StyleGAN2-ADA, Karras et al. 2020, §2.3).

`augment(images, p, seed, groups)` transforms a batch of NHWC float images in [-1, 1] at the
current (native) resolution. Every op has its own Bernoulli(p) gate per sample, as ADA; a sample
whose gates are all closed is returned bit-exactly (each group ends in `tf.where` on the gate, no
near-identity arithmetic), so p = 0 is the identity. Every draw is a stateless function of `seed`
(the caller folds it from (seed, images_seen, stream)), so a resumed run draws what an
uninterrupted one would. Gradients reach the input images through every op (gathers and
element-wise arithmetic only), so G is trained through the augmentation.

Precision: it computes in float32 whatever the policy (input cast to float32, result cast back to
the input dtype). D's inputs are float32 under every policy (G's output and the reals; D's layers
cast them to their compute dtype, Keras autocasting), so under mixed_float16/bfloat16 the
augmentation runs in float32 like the losses, and no resampling weight or colour matrix is rounded
to half precision. It runs under `--jit_compile` (XLA) too (`tests/test_ada.py`).

Groups (ADA's names and strengths, its 'bgc' pipeline plus cutout):
- blit: x-flip, rotation by a multiple of 90°, integer translation up to 1/8 of the size; exact
  index ops, reflect padding.
- geom: isotropic scaling (log2 std 0.2), arbitrary rotation (twice, each with 1 - sqrt(1 - p) so
  that "rotated at all" has probability p), anisotropic scaling (log2 std 0.2), fractional
  translation (std 1/8 of the size); one composed affine matrix per sample and one resampling
  with reflect padding, on a 2x grid between two sym6 wavelet low-pass filters as ADA does
  (`resample.py`), so the resampled image keeps its fine detail.
- color: brightness (+N(0, 0.2)), contrast (x 2^N(0, 0.5)), luma flip, hue rotation (uniform
  angle around the luma axis), saturation (x 2^N(0, 1)); one 4x4 colour matrix per sample. As in
  ADA, colour results are not clipped to [-1, 1] (clipping would cut gradients).
- cutout: a zeroed square of half the image size at a uniform centre.
"""
import math

import tensorflow as tf

from pgan_tf.training.resample import resample

GROUPS = ("blit", "geom", "color", "cutout")
# ADA's strengths (augment.py defaults of StyleGAN2-ADA), in units of the image size where spatial.
XINT_MAX = 0.125
SCALE_STD = 0.2
ROTATE_MAX = 1.0        # x pi
ANISO_STD = 0.2
XFRAC_STD = 0.125
BRIGHTNESS_STD = 0.2
CONTRAST_STD = 0.5
HUE_MAX = 1.0           # x pi
SATURATION_STD = 1.0
CUTOUT_SIZE = 0.5
_NUM_DRAWS = 16         # fixed number of independent sub-streams (keeps draws stable per op)


def augment(images, p, seed, groups):
    """Augment `images` [N, H, W, C] (H = W) with probability `p` per op and sample.

    `seed`: int64 [2] stateless seed; `groups`: iterable of names from GROUPS (applied in GROUPS
    order, as ADA's pipeline). Returns images of the same shape and dtype.
    """
    dtype = images.dtype
    x = tf.cast(images, tf.float32)
    p = tf.cast(p, tf.float32)
    keys = tf.unstack(tf.random.experimental.stateless_split(seed, num=_NUM_DRAWS))
    groups = set(groups)
    if "blit" in groups:
        x = blit(x, p, keys[0:3])
    if "geom" in groups:
        x = geom(x, p, keys[3:8])
    if "color" in groups:
        x = color(x, p, keys[8:13])
    if "cutout" in groups:
        x = cutout(x, p, keys[13])
    return tf.cast(x, dtype)


def _gate(batch, p, key):
    """One Bernoulli(p) per sample, [N] bool (U < p: never true at p = 0)."""
    return tf.random.stateless_uniform([batch], key) < p


def _per_sample(gate, changed, images):
    """`changed` where the sample's gate is open, else `images` unchanged (bit-exact)."""
    return tf.where(tf.reshape(gate, [-1, 1, 1, 1]), changed, images)


# --- blit: exact index ops ------------------------------------------------------------------------

def _reflect(index, size):
    """Mirror indices into [0, size - 1] without repeating the edge (numpy/torch 'reflect')."""
    period = 2 * size - 2
    index = tf.math.floormod(index, period)
    return tf.where(index >= size, period - index, index)


def blit(images, p, keys):
    """x-flip, 90° rotations and integer translation, each with its own gate."""
    batch, size = tf.shape(images)[0], images.shape[1]
    key_gate, key_flip = tf.unstack(tf.random.experimental.stateless_split(keys[0], num=2))
    # ADA: under the gate, flip or not with probability 1/2 each (so flipped with p / 2).
    flip = tf.logical_and(_gate(batch, p, key_gate),
                          tf.random.stateless_uniform([batch], key_flip) < 0.5)
    x = _per_sample(flip, tf.reverse(images, axis=[2]), images)
    key_gate, key_k = tf.unstack(tf.random.experimental.stateless_split(keys[1], num=2))
    quarter_turns = tf.where(_gate(batch, p, key_gate),
                             tf.random.stateless_uniform([batch], key_k, 0, 4, dtype=tf.int32), 0)
    rotated = x
    for k in (1, 2, 3):
        rotated = _per_sample(tf.equal(quarter_turns, k), tf.image.rot90(x, k), rotated)
    key_gate, key_t = tf.unstack(tf.random.experimental.stateless_split(keys[2], num=2))
    shift = tf.random.stateless_uniform([batch, 2], key_t, -XINT_MAX, XINT_MAX)
    shift = tf.cast(tf.round(shift * size), tf.int32)  # [N, 2] pixels (dy, dx)
    translate = _gate(batch, p, key_gate)
    shift = tf.where(translate[:, None], shift, 0)
    grid = tf.range(size)[None, :]                      # [1, S]
    rows = _reflect(grid - shift[:, :1], size)          # [N, S] source row of each output row
    cols = _reflect(grid - shift[:, 1:], size)          # [N, S] source column
    shifted = tf.gather(tf.gather(rotated, rows, axis=1, batch_dims=1), cols, axis=2, batch_dims=1)
    return _per_sample(translate, shifted, rotated)


# --- geom: one affine matrix per sample, one resampling (resample.py) --------------------------------------

def _affine(a, b, c, d, tx, ty):
    """[N, 3, 3] matrices [[a, b, tx], [c, d, ty], [0, 0, 1]] from [N] entries."""
    zero, one = tf.zeros_like(a), tf.ones_like(a)
    return tf.reshape(tf.stack([a, b, tx, c, d, ty, zero, zero, one], axis=1), [-1, 3, 3])


def _rotation(theta):
    """[N, 3, 3] rotations by `theta` [N] (radians) about the image centre."""
    cos, sin = tf.cos(theta), tf.sin(theta)
    zero = tf.zeros_like(theta)
    return _affine(cos, -sin, sin, cos, zero, zero)


def geom_matrices(batch, p, keys):
    """Per-sample output→input matrices in normalized coordinates ([-1, 1] across the image),
    composed as ADA (scale, rotate, aniso, rotate, translate), and the "any op fired" gate [N]."""
    identity = tf.eye(3, batch_shape=[batch])
    p_rot = 1.0 - tf.sqrt(1.0 - tf.minimum(p, 1.0))  # ADA: P(rotated at least once) = p
    matrix, fired = identity, tf.zeros([batch], tf.bool)
    ops = (("scale", p), ("rotate", p_rot), ("aniso", p), ("rotate", p_rot), ("xfrac", p))
    for (name, prob), key in zip(ops, keys):
        key_gate, key_value = tf.unstack(tf.random.experimental.stateless_split(key, num=2))
        gate = _gate(batch, prob, key_gate)
        # Each step is built as its inverse (output → input, as ADA's G_inv): no matrix inverse.
        if name == "rotate":
            theta = tf.random.stateless_uniform([batch], key_value, -1.0, 1.0) * math.pi * ROTATE_MAX
            step = _rotation(-theta)
        elif name == "xfrac":
            # Size units → normalized units (the image spans 2).
            shift = tf.random.stateless_normal([batch, 2], key_value) * XFRAC_STD * 2.0
            zero, one = tf.zeros([batch]), tf.ones([batch])
            step = _affine(one, zero, zero, one, -shift[:, 0], -shift[:, 1])
        else:
            std = SCALE_STD if name == "scale" else ANISO_STD
            s = tf.pow(2.0, tf.random.stateless_normal([batch], key_value) * std)
            sy = s if name == "scale" else 1.0 / s
            zero = tf.zeros([batch])
            step = _affine(1.0 / s, zero, zero, 1.0 / sy, zero, zero)
        step = tf.where(tf.reshape(gate, [-1, 1, 1]), step, identity)
        matrix = tf.matmul(matrix, step)
        fired = tf.logical_or(fired, gate)
    return matrix, fired


def geom(images, p, keys):
    """Scaling, rotations, anisotropic scaling and fractional translation in one resampling."""
    matrix, fired = geom_matrices(tf.shape(images)[0], p, keys)
    return _per_sample(fired, resample(images, matrix), images)


# --- color: one 4x4 matrix per sample -------------------------------------------------------------

def color_matrices(batch, p, keys):
    """Per-sample 4x4 colour matrices acting on (r, g, b, 1), composed as ADA, and the gate [N]."""
    luma = tf.constant([1.0, 1.0, 1.0, 0.0]) / math.sqrt(3.0)     # ADA's luma axis
    outer = luma[:, None] * luma[None, :]                           # [4, 4] projection on luma
    eye = tf.eye(4)
    identity = tf.eye(4, batch_shape=[batch])
    matrix, fired = identity, tf.zeros([batch], tf.bool)
    for name, key in zip(("brightness", "contrast", "lumaflip", "hue", "saturation"), keys):
        key_gate, key_value = tf.unstack(tf.random.experimental.stateless_split(key, num=2))
        gate = _gate(batch, p, key_gate)
        if name == "brightness":
            b = tf.random.stateless_normal([batch], key_value) * BRIGHTNESS_STD
            step = identity + tf.pad(b[:, None, None] * tf.ones([1, 3, 1]),
                                     [[0, 0], [0, 1], [3, 0]])     # add b to r, g, b
        elif name == "contrast":
            c = tf.pow(2.0, tf.random.stateless_normal([batch], key_value) * CONTRAST_STD)
            step = tf.linalg.diag(tf.stack([c, c, c, tf.ones([batch])], axis=1))
        elif name == "lumaflip":
            # ADA: under the gate, flip or not with probability 1/2 each.
            flip = tf.random.stateless_uniform([batch], key_value) < 0.5
            gate = tf.logical_and(gate, flip)
            step = tf.broadcast_to(eye - 2.0 * outer, [batch, 4, 4])  # reflect through luma plane
        elif name == "hue":
            theta = tf.random.stateless_uniform([batch], key_value, -1.0, 1.0) * math.pi * HUE_MAX
            step = _luma_rotation(theta)
        else:
            s = tf.pow(2.0, tf.random.stateless_normal([batch], key_value) * SATURATION_STD)
            step = saturation_matrix(s)
        matrix = tf.matmul(tf.where(tf.reshape(gate, [-1, 1, 1]), step, identity), matrix)
        fired = tf.logical_or(fired, gate)
    return matrix, fired


def saturation_matrix(s):
    """[N, 4, 4]: scale each pixel's chroma (its part off the luma axis) by `s` [N]; grey stays."""
    luma = tf.constant([1.0, 1.0, 1.0, 0.0]) / math.sqrt(3.0)
    chroma = tf.linalg.diag([1.0, 1.0, 1.0, 0.0]) - luma[:, None] * luma[None, :]
    return tf.eye(4) - chroma + chroma * s[:, None, None]


def _luma_rotation(theta):
    """[N, 4, 4] rotations by `theta` around the luma axis a = (1, 1, 1)/sqrt(3) (Rodrigues:
    cos I + sin [a]_x + (1 - cos) a a^T), homogeneous."""
    cross = tf.constant([[0.0, -1.0, 1.0], [1.0, 0.0, -1.0], [-1.0, 1.0, 0.0]]) / math.sqrt(3.0)
    outer = tf.fill([3, 3], 1.0 / 3.0)
    cos, sin = tf.cos(theta)[:, None, None], tf.sin(theta)[:, None, None]
    rot = cos * tf.eye(3) + sin * cross + (1.0 - cos) * outer                # [N, 3, 3]
    return tf.pad(rot, [[0, 0], [0, 1], [0, 1]]) + tf.pad(tf.ones([1, 1, 1]), [[0, 0], [3, 0], [3, 0]])


def color(images, p, keys):
    """Brightness, contrast, luma flip, hue and saturation as one colour matrix per sample (RGB)."""
    matrix, fired = color_matrices(tf.shape(images)[0], p, keys)
    # (r, g, b) -> M[:3, :3] (r, g, b) + M[:3, 3] per sample.
    changed = tf.einsum("nij,nhwj->nhwi", matrix[:, :3, :3], images) + matrix[:, None, None, :3, 3]
    return _per_sample(fired, changed, images)


# --- cutout ----------------------------------------------------------------------------------------

def cutout(images, p, key):
    """Zero a square of CUTOUT_SIZE x the image size at a uniform centre (ADA's cutout)."""
    batch, size = tf.shape(images)[0], images.shape[1]
    key_gate, key_centre = tf.unstack(tf.random.experimental.stateless_split(key, num=2))
    gate = _gate(batch, p, key_gate)
    centre = tf.random.stateless_uniform([batch, 2], key_centre)            # [N, 2] (y, x) in [0,1)
    coords = (tf.range(size, dtype=tf.float32) + 0.5) / size                 # [S] pixel centres
    outside_y = tf.abs(coords[None, :] - centre[:, :1]) >= CUTOUT_SIZE / 2   # [N, S]
    outside_x = tf.abs(coords[None, :] - centre[:, 1:]) >= CUTOUT_SIZE / 2
    keep = tf.logical_or(outside_y[:, :, None], outside_x[:, None, :])       # [N, S, S]
    return _per_sample(gate, images * tf.cast(keep, images.dtype)[..., None], images)
