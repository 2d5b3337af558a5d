"""XLA CPU: a train step with its optimizer's tf.cond nested in another tf.cond runs ~40x slower.
Usage: python experiments/xla_amd/repro.py [--flat]  (--flat: no outer cond, same work: ratio ~1)

4 convs 3x3, 32 maps, 8x8, batch 32; one SGD step guarded like a NaN check. Prints jit/no-jit time,
alternating, best of 10 calls, 3 rounds. In the nested case the gradient convolutions stay in a
non-canonical dim order and are compiled as loop kernels (XLA_FLAGS=--xla_dump_to=DIR shows
*Conv2DBackprop*_elemental_kernel_module files).
"""
import sys
import time

import tensorflow as tf

FLAT = "--flat" in sys.argv
ws = [tf.Variable(tf.random.stateless_normal([3, 3, 32, 32], [0, i]) * 0.05) for i in range(4)]
x = tf.random.stateless_normal([32, 8, 8, 32], [1, 0])


def step(x):
    with tf.GradientTape() as tape:
        for w in ws:
            x = tf.nn.leaky_relu(tf.nn.conv2d(x, w, 1, "SAME"), 0.2)
        loss = tf.reduce_mean(tf.square(x))
    grads = tape.gradient(loss, ws)
    finite = tf.reduce_all([tf.reduce_all(tf.math.is_finite(g)) for g in grads])
    def apply():  # noqa: E306  (the optimizer step, skipped when a gradient is not finite)
        updates = [w.assign_sub(1e-3 * g) for w, g in zip(ws, grads)]
        return loss + 0.0 * tf.add_n([tf.reduce_sum(u) for u in updates])
    return tf.cond(finite, apply, lambda: loss)


def guarded(x):  # the outer cond's predicate is data-dependent, as a NaN guard's is
    return step(x) if FLAT else tf.cond(x[0, 0, 0, 0] < 1e9, lambda: step(x), lambda: 0.0)


def best(fn, n=10):
    fn(x).numpy()  # trace and compile
    return min(timed(fn) for _ in range(n))


def timed(fn):
    start = time.perf_counter(), fn(x).numpy()
    return time.perf_counter() - start[0]


plain, jit = tf.function(guarded), tf.function(guarded, jit_compile=True)
for r in range(3):
    t_plain, t_jit = best(plain), best(jit)
    print(f"round {r + 1}: no-jit {t_plain * 1e3:.2f} ms, jit {t_jit * 1e3:.2f} ms, ratio "
          f"{t_jit / t_plain:.1f}", flush=True)
