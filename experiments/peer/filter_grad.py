"""Is oneDNN's filter gradient the limit, or would a matmul over patches beat it?

For each full-width filter gradient of the step (batch 4, 512 maps, 32x32: D's and G's 3x3 convs,
D's fused 4x4 stride-2 down conv, G's fused 4x4 transposed up conv), times

  native  `Conv2DBackpropFilter`, the op TF's conv gradient runs;
  patches the same gradient as one GEMM: gather the k*k shifted (strided) input windows into
          [N*OH*OW, k*k*C] (pad + slices + concat, "im2col") and multiply by dY [N*OH*OW, C];
  gemm    the GEMM alone, of the same shape, on ready operands (the best the patches route can do);

and the 3x3 forward conv (the conv peak of `tools/benchmark.py`). Median of 5 after 2 warm-ups,
2 threads, rounds alternate. Prints one JSON line (ms and GFLOP/s per kernel and round):

    python experiments/peer/filter_grad.py [--batch 4] [--rounds 2]

The patches route also checks that it equals the native gradient (max relative difference).
"""
import argparse
import json
import time

import numpy as np
import tensorflow as tf

CHANNELS = 512  # official PGAN width up to 32x32 (fmap_max 512)
SIZE = 32
REPEATS = 5


def _windows(x, k, stride, out_hw):
    """[N, out_hw, out_hw, k*k*C]: the k x k windows of x at `stride`, SAME padding (1 each side
    for k=3, s=1 and for k=4, s=2 at even sizes, as TF pads them)."""
    xp = tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]])
    span = stride * (out_hw - 1) + 1
    cols = [xp[:, i:i + span:stride, j:j + span:stride, :] for i in range(k) for j in range(k)]
    return tf.concat(cols, axis=-1)


def _cases(n, c, s):
    """name -> (input, out_backprop, k, stride): the filter gradients of a full-width step."""
    rng = np.random.default_rng(0)

    def t(*shape):
        return tf.constant(rng.standard_normal(shape, np.float32))
    big, small = t(n, s, s, c), t(n, s // 2, s // 2, c)
    return {"3x3": (big, t(n, s, s, c), 3, 1),  # conv 3x3, [N,s,s,C] -> [N,s,s,C]
            "down_4x4_s2": (big, small, 4, 2),  # fused down conv [N,s,s,C] -> [N,s/2,s/2,C]
            # transposed up conv [N,s/2,s/2,C] -> [N,s,s,C]: its filter gradient is that of the
            # strided conv from the output's gradient (input) to the layer input (out_backprop)
            "up_4x4_s2": (t(n, s, s, c), small, 4, 2)}


def _functions(x, dy, k, stride):
    c = int(x.shape[-1])
    out_hw = int(dy.shape[1])

    def native():
        return tf.raw_ops.Conv2DBackpropFilter(
            input=x, filter_sizes=[k, k, c, c], out_backprop=dy,
            strides=[1, stride, stride, 1], padding="SAME")

    def patches():
        cols = tf.reshape(_windows(x, k, stride, out_hw), [-1, k * k * c])  # [N*OH*OW, k*k*C]
        grad = tf.matmul(cols, tf.reshape(dy, [-1, c]), transpose_a=True)  # [k*k*C, C]
        return tf.reshape(grad, [k, k, c, c])

    cols_ready = tf.reshape(_windows(x, k, stride, out_hw), [-1, k * k * c])
    dy_ready = tf.reshape(dy, [-1, c])

    def gemm():
        return tf.matmul(cols_ready, dy_ready, transpose_a=True)
    return {"native": tf.function(native), "patches": tf.function(patches),
            "gemm": tf.function(gemm)}


def _median_seconds(fn):
    fn(), fn()  # trace and warm up
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        fn().numpy()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def _entry(fn, flop):
    seconds = _median_seconds(fn)
    return {"ms": round(seconds * 1e3, 2), "gflops": round(flop / seconds / 1e9, 1)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    tf.config.threading.set_intra_op_parallelism_threads(2)
    n, c, s = args.batch, CHANNELS, SIZE
    cases = _cases(n, c, s)
    fns = {name: _functions(*case) for name, case in cases.items()}
    x3 = cases["3x3"][0]
    w3 = tf.constant(np.random.default_rng(1).standard_normal((3, 3, c, c), np.float32))
    forward = tf.function(lambda: tf.nn.conv2d(x3, w3, 1, "SAME"))
    out = {"batch": n, "channels": c, "size": s, "rounds": []}
    for _ in range(args.rounds):
        row = {"forward_3x3": _entry(forward, 2 * n * s * s * 9 * c * c)}
        for name, (x, dy, k, _stride) in cases.items():
            flop = 2 * int(np.prod(dy.shape[:3])) * k * k * c * c
            for route, fn in fns[name].items():
                row[f"{name}/{route}"] = _entry(fn, flop)
        out["rounds"].append(row)
    out["max_rel_diff"] = {
        name: float(tf.reduce_max(tf.abs(f["native"]() - f["patches"]()))
                    / tf.reduce_max(tf.abs(f["native"]())))
        for name, f in fns.items()}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
