"""Run in its own process (logical devices must be set before TensorFlow starts): two logical CPU
devices under MirroredStrategy vs one device computing the same two half-batches
(`virtual_replicas=2`), fed the same inputs and draws, and one device on the whole batch (which
must differ: minibatch stddev and draws are per replica). Prints JSON of the losses and the largest
weight difference between the first two.

With the argument `mixed_float16`: the same mirrored-vs-split comparison under fp16 loss scaling
(official init log2 = 64 overflows, so the first step is skipped on every replica alike; then a
scale that fits), printing the losses, `finite` flags and each replica's copy of the scale.
With `ada`: --d_augment=ada under both, printing each replica's copy of p per step."""
import functools
import json
import sys

import numpy as np

from pgan_tf import cli

tf = cli.import_tensorflow()
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(
    cpu, [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()])

from pgan_tf.config import TrainConfig  # noqa: E402
from pgan_tf.model.networks import Discriminator, Generator  # noqa: E402
from pgan_tf.training.step import Trainer  # noqa: E402

K, B = 3, 8
CFG = TrainConfig(resolution=8, num_classes=K, latent_size=8, fmap_base=32, fmap_max=8, seed=3,
                  attention_stages=(8,), d_lr=0.004)
COMMON = dict(resolution=8, num_classes=K, fmap_base=32, fmap_max=8, attention_stages=(8,))
# (res, alpha, fading) per step: two stable 4x4 steps, then two fade-in steps into 8x8.
STEPS = [(4, 1.0, False), (4, 1.0, False), (8, 0.25, True), (8, 0.5, True)]


def trainer(strategy=None, virtual_replicas=1, cfg=CFG):
    tf.keras.utils.set_random_seed(0)
    return Trainer(cfg, functools.partial(Generator, latent_size=8, **COMMON),
                   functools.partial(Discriminator, **COMMON),
                   np.eye(K, dtype=np.float32)[[0, 1, 1, 2]], strategy, virtual_replicas)


def batch(res, i):
    rng = np.random.RandomState(i)
    reals = rng.uniform(-1, 1, (B, res, res, 3)).astype(np.float32)
    return reals, np.eye(K, dtype=np.float32)[rng.randint(0, K, B)]


def copy_weights(source, others):
    """Identical start whatever the initialisers did."""
    for other in others:
        for a, b in zip(source.G.weights + source.D.weights + source.G_ema.weights,
                        other.G.weights + other.D.weights + other.G_ema.weights):
            b.assign(a.numpy())


def distributed(strategy, reals, labels):
    dist = strategy.experimental_distribute_dataset(tf.data.Dataset.from_tensors((reals, labels)))
    return next(iter(dist))


def main_float16(strategy):
    """Loss scaling under MirroredStrategy vs the same two half-batches on one device."""
    tf.keras.mixed_precision.set_global_policy("mixed_float16")
    out = {}
    for init in (64.0, 8.0):  # official init (overflows fp16), then one that fits
        cfg = CFG.replace(precision="mixed_float16", loss_scaling_init=init)
        mirrored, single = trainer(strategy, cfg=cfg), trainer(virtual_replicas=2, cfg=cfg)
        copy_weights(mirrored, [single])
        before = [v.numpy().copy() for v in mirrored.D.trainable_variables]
        reals, labels = batch(4, 0)
        r, l = distributed(strategy, reals, labels)
        results = [tr.step(x, y, 4, 1.0, False, 0)
                   for tr, x, y in ((mirrored, r, l), (single, reals, labels))]
        out[str(init)] = {
            "loss_d": [float(o["loss_d"]) for o in results],
            "finite": [bool(o["finite"]) for o in results],
            "scale_copies": [float(v.numpy()) for v in strategy.experimental_local_results(
                mirrored.log2_loss_scale["d"])],
            "single_scale": float(single.log2_loss_scale["d"].numpy()),
            "d_changed": max(float(np.max(np.abs(b - v.numpy()))) for b, v in zip(
                before, mirrored.D.trainable_variables))}
    json.dump(out, sys.stdout)


def main_ada(strategy):
    """--d_augment=ada: one p for both replicas, equal to the split single-device run."""
    # Target 1: p falls after every step unless every real sits above the real/fake midpoint (with
    # 4 reals a replica, r_t is often exactly 0 at initialisation, so a target of 0 may not move p).
    cfg = CFG.replace(d_augment="ada", d_augment_p=0.3, d_augment_interval=1, d_augment_target=1.0,
                      d_augment_speed_kimg=0.1, d_augment_heuristic="rt", heldout_per_class=0,
                      d_augment_min_res=4)  # these steps are at 4x4
    mirrored, single = trainer(strategy, cfg=cfg), trainer(virtual_replicas=2, cfg=cfg)
    copy_weights(mirrored, [single])
    ps = {"mirrored": [], "single": []}
    for i, (res, alpha, fading) in enumerate(STEPS[:2]):  # one trace per trainer: keep it cheap
        reals, labels = batch(res, i)
        r, l = distributed(strategy, reals, labels)
        mirrored.step(r, l, res, alpha, fading, i * B)
        single.step(reals, labels, res, alpha, fading, i * B)
        ps["mirrored"].append([float(v.numpy()) for v in
                               strategy.experimental_local_results(mirrored.augment.p)])
        ps["single"].append(float(single.augment.p.numpy()))
    diff = max(float(np.max(np.abs(a.numpy() - b.numpy()))) for a, b in zip(
        mirrored.G.weights + mirrored.D.weights, single.G.weights + single.D.weights))
    json.dump({"p": ps, "max_weight_diff": diff}, sys.stdout)


def main():
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    if sys.argv[1:] == ["mixed_float16"]:
        return main_float16(strategy)
    if sys.argv[1:] == ["ada"]:
        return main_ada(strategy)
    mirrored, single, whole = trainer(strategy), trainer(virtual_replicas=2), trainer()
    copy_weights(mirrored, [single, whole])
    losses = {"mirrored": [], "single": [], "whole": []}
    for i, (res, alpha, fading) in enumerate(STEPS):
        reals, labels = batch(res, i)
        r, l = distributed(strategy, reals, labels)
        for name, tr, x, y in (("mirrored", mirrored, r, l), ("single", single, reals, labels),
                               ("whole", whole, reals, labels)):
            out = tr.step(x, y, res, alpha, fading, i * B)
            losses[name].append([float(out["loss_d"]), float(out["loss_g"]),
                                 bool(out["finite"])])
    diff = max(float(np.max(np.abs(a.numpy() - b.numpy()))) for a, b in zip(
        mirrored.G.weights + mirrored.D.weights + mirrored.G_ema.weights,
        single.G.weights + single.D.weights + single.G_ema.weights))
    json.dump({"losses": losses, "max_weight_diff": diff,
               "replicas": strategy.num_replicas_in_sync}, sys.stdout)


if __name__ == "__main__":
    main()
