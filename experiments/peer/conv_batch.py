"""Per-image time of a 3x3 conv 512->512 at 32x32 (a full-width D/G layer), forward
+ input gradient + filter gradient, at batch 4, 8 and 12 (2 rounds; best of 5 each, 2 threads).

Flat per-image times mean a small batch costs nothing per step on this CPU, so merging D's passes
into one larger batch cannot make the step faster. Prints one JSON line (ms per image, per round):

    python experiments/peer/conv_batch.py
"""
import json
import time

import tensorflow as tf

BATCHES = (4, 8, 12)
ROUNDS = 2
REPEATS = 5


def main():
    tf.config.threading.set_intra_op_parallelism_threads(2)
    kernel = tf.Variable(tf.random.normal([3, 3, 512, 512]) * 0.01)

    @tf.function
    def step(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = tf.nn.conv2d(x, kernel, 1, "SAME")  # [B, 32, 32, 512]
            loss = tf.reduce_sum(y * y)
        return tape.gradient(loss, [x, kernel])

    out = {}
    for _ in range(ROUNDS):  # rounds alternate the batch sizes, so drift hits all alike
        for batch in BATCHES:
            x = tf.random.normal([batch, 32, 32, 512])
            step(x)  # trace and warm up
            times = []
            for _ in range(REPEATS):
                start = time.perf_counter()
                step(x)[0].numpy()
                times.append(time.perf_counter() - start)
            out.setdefault(str(batch), []).append(round(min(times) / batch * 1000, 2))
    print(json.dumps({"ms_per_image": out}))


if __name__ == "__main__":
    main()
