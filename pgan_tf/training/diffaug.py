"""DiffAugment (Zhao et al. 2020, "Differentiable Augmentation for Data-Efficient GAN Training").

`--d_augment=diffaug`: every image D sees — reals and fakes of the D step, the gradient penalty's
interpolate (built between the augmented pair, as `ada`), and G's fakes of the G step — goes
through the same policy, always on (no probability, no controller), each call with its own random
draws. Written from the paper's description (§3 and appendix: the "Color + Translation + Cutout"
policy), on NHWC images in [-1, 1]:

- translation: shift each image by a whole number of pixels, drawn uniformly in [-S/8, S/8] in
  each direction; pixels shifted in are zero (mid-grey).
- cutout: zero one square of half the image size, its centre uniform over the image (the square
  may stick out of it).
- color: brightness (add U[-0.5, 0.5)), saturation (scale each pixel's distance to its channel
  mean by U[0, 2)), contrast (scale the distance to the image mean by U[0.5, 1.5)).

The ops are gathers, masks and element-wise arithmetic, so G is trained through them. Colour is
opt-in (`--diffaug_policy`): hue and saturation carry diagnostic meaning in dermoscopy. Every draw
is a stateless function of the caller's seed, so a resumed run draws what an uninterrupted one
would. Computes in float32 (result cast back), as d_augment.py.
"""
import tensorflow as tf

from pgan_tf.config import DIFFAUG_OPS

TRANSLATION_RATIO = 0.125
CUTOUT_RATIO = 0.5


def policy_ops(policy):
    """'translation,cutout' -> ops in the paper's order (color, translation, cutout)."""
    named = {o.strip() for o in policy.split(",") if o.strip()}
    return tuple(op for op in ("color", "translation", "cutout") if op in named)


def augment(images, seed, ops):
    """Apply `ops` (from `policy_ops`) to `images` [N, S, S, C]; `seed`: int64 [2]."""
    dtype = images.dtype
    x = tf.cast(images, tf.float32)
    keys = tf.unstack(tf.random.experimental.stateless_split(seed, num=len(DIFFAUG_OPS)))
    if "color" in ops:
        x = color(x, keys[0])
    if "translation" in ops:
        x = translation(x, keys[1])
    if "cutout" in ops:
        x = cutout(x, keys[2])
    return tf.cast(x, dtype)


def color(x, key):
    """Brightness, saturation and contrast, one draw each per image."""
    k1, k2, k3 = tf.unstack(tf.random.experimental.stateless_split(key, num=3))
    batch = tf.shape(x)[0]
    draw = lambda k: tf.random.stateless_uniform([batch, 1, 1, 1], k)  # noqa: E731
    x = x + (draw(k1) - 0.5)
    mean = tf.reduce_mean(x, axis=3, keepdims=True)
    x = (x - mean) * (draw(k2) * 2.0) + mean
    mean = tf.reduce_mean(x, axis=[1, 2, 3], keepdims=True)
    return (x - mean) * (draw(k3) + 0.5) + mean


def translation(x, key):
    """Shift each image by whole pixels in [-S/8, S/8] (y and x), zeros shifted in."""
    batch, size = tf.shape(x)[0], x.shape[1]
    limit = int(size * TRANSLATION_RATIO + 0.5)
    shift = tf.random.stateless_uniform([batch, 2], key, -limit, limit + 1, dtype=tf.int32)
    grid = tf.range(size)[None, :]                       # [1, S]
    rows = grid - shift[:, :1]                           # [N, S] source row of each output row
    cols = grid - shift[:, 1:]
    inside_r = tf.logical_and(rows >= 0, rows < size)
    inside_c = tf.logical_and(cols >= 0, cols < size)
    rows, cols = tf.clip_by_value(rows, 0, size - 1), tf.clip_by_value(cols, 0, size - 1)
    moved = tf.gather(tf.gather(x, rows, axis=1, batch_dims=1), cols, axis=2, batch_dims=1)
    inside = tf.logical_and(inside_r[:, :, None], inside_c[:, None, :])   # [N, S, S]
    return moved * tf.cast(inside, x.dtype)[..., None]


def cutout(x, key):
    """Zero a square of half the image size at a uniform centre (clipped at the border)."""
    batch, size = tf.shape(x)[0], x.shape[1]
    half = int(size * CUTOUT_RATIO + 0.5) / 2.0
    centre = tf.random.stateless_uniform([batch, 2], key) * size      # [N, 2] pixel units
    coords = tf.range(size, dtype=tf.float32) + 0.5                   # pixel centres
    outside_y = tf.abs(coords[None, :] - centre[:, :1]) >= half       # [N, S]
    outside_x = tf.abs(coords[None, :] - centre[:, 1:]) >= half
    keep = tf.logical_or(outside_y[:, :, None], outside_x[:, None, :])
    return x * tf.cast(keep, x.dtype)[..., None]


class DiffAugment(tf.Module):
    """The `--d_augment=diffaug` augmenter: the interface of ada.DAugment without p or state."""

    adaptive = False

    def __init__(self, config):
        super().__init__(name="diffaug")
        self.ops = policy_ops(config.diffaug_policy)

    def __call__(self, images, seed):
        """Augment one replica's images (draws from `seed`, int64 [2])."""
        return augment(images, seed, self.ops)

    @staticmethod
    def seed(step_seed, stream):
        return tf.random.experimental.stateless_fold_in(step_seed, stream)

    def update(self, stats, finite, images):
        """No controller: always on."""

    def tick_values(self):
        return {}
