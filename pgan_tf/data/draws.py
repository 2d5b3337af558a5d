"""Stateless random draws of the input pipeline: every draw is a function of (seed, salt, data...),
so element i of a stream is the same however the stream was started (exact resume)."""
import tensorflow as tf

RNG_ALG = "philox"  # explicit, so CPU and GPU hosts draw the same numbers


def stateless_key(seed, salt, *data):
    """Stateless seed [2] derived from (seed, salt) folded with each of `data`."""
    key = tf.constant([seed, salt], tf.int64)
    for value in data:
        key = tf.random.experimental.stateless_fold_in(key, tf.cast(value, tf.int64), alg=RNG_ALG)
    return key
