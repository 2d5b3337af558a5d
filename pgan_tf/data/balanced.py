"""Class-balanced record indices for D's reals (`--real_sampling=balanced`, beyond the paper).

Official PGAN shows D every record once per epoch, so D sees each class as often as the dataset
holds it (ISIC 2018: DF 1.1 %, NV 67 %). With `--label_sampling=uniform` G draws every class 1/K
of the time, and an unconditional real/fake score can then learn "rare-class look ⇒ fake" — it is
right 1/K ÷ 1.1 % of the time — which pushes G away from exactly the classes the user wants. The
balanced stream removes that mismatch: position i draws a class uniformly over the classes present,
then one of that class's records uniformly (with replacement).

Like the rest of the pipeline, position i is a pure function of (seed, i): positions come in chunks
of `CHUNK`, each chunk one stateless draw from (seed, chunk), so a resumed stream (`start_index`)
yields exactly the records the uninterrupted one would.
"""
import numpy as np
import tensorflow as tf

from pgan_tf.data.draws import RNG_ALG, stateless_key
from pgan_tf.errors import UserError

_BALANCE_SALT = 0x4241  # "BA": keeps these draws apart from the shuffle and mirror streams
CHUNK = 1024            # positions per stateless draw
_NEVER = np.iinfo(np.int64).max


def class_members(labels):
    """label rows float [N, K] → (members int64 [N], starts int64 [C], counts int64 [C]):
    the record numbers grouped by class (argmax of the row), for the C classes that have records."""
    labels = np.asarray(labels)
    if labels.ndim != 2 or labels.shape[1] == 0:
        raise UserError("--real_sampling=balanced needs a labelled dataset (a .labels file); "
                        "use --real_sampling=dataset for unlabelled data")
    classes = np.argmax(labels, axis=1)
    members = np.argsort(classes, kind="stable").astype(np.int64)
    _, counts = np.unique(classes, return_counts=True)  # classes without records are never drawn
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    return members, starts, counts.astype(np.int64)


def record_indices(labels, seed, start_index=0):
    """Dataset of int64 record numbers, position `start_index` onwards, forever: at each position a
    uniformly drawn class (among those with records), then a uniformly drawn record of it."""
    members, starts, counts = (tf.constant(a) for a in class_members(labels))
    num_classes = tf.cast(tf.size(counts), tf.float64)

    def chunk(c):
        u = tf.random.stateless_uniform([CHUNK, 2], stateless_key(seed, _BALANCE_SALT, c),
                                        dtype=tf.float64, alg=RNG_ALG)  # [CHUNK, 2]
        cls = tf.minimum(tf.cast(u[:, 0] * num_classes, tf.int64), tf.size(counts, tf.int64) - 1)
        count = tf.gather(counts, cls)
        within = tf.minimum(tf.cast(u[:, 1] * tf.cast(count, tf.float64), tf.int64), count - 1)
        return tf.gather(members, tf.gather(starts, cls) + within)  # [CHUNK]

    first, skip = divmod(int(start_index), CHUNK)
    return tf.data.Dataset.range(first, _NEVER).map(chunk).unbatch().skip(skip)
