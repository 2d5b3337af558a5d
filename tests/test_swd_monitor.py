"""SWD during training (`--swd_every_kimg`): cadence, wiring and the tick line."""
import os
import types

import numpy as np
import pytest

from pgan_tf import cli, sampling

tf = cli.import_tensorflow()

from pgan_tf.config import TrainConfig  # noqa: E402
from pgan_tf.data import pipeline  # noqa: E402
from pgan_tf.metrics import swd as swd_lib  # noqa: E402
from pgan_tf.training import loop  # noqa: E402
from pgan_tf.training.summaries import parse_log_line  # noqa: E402
from pgan_tf.training.swd_monitor import SwdMonitor, swd_scalars  # noqa: E402
from tests.test_loop import TINY  # noqa: E402
from tests.tiny_dataset import make_tiny_dataset  # noqa: E402


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return make_tiny_dataset(str(tmp_path_factory.mktemp("tiny")), resolution=16)


def _monitor(data_dir, images_seen=0, **overrides):
    config = TrainConfig(**{**TINY, "swd_every_kimg": 0.064, "swd_images": 20, **overrides})
    return SwdMonitor(config, os.path.join(data_dir, "train"), images_seen)


def _latents(monitor, n):
    """The monitor's documented latents: RandomState([seed, "SWD"]) normals, one per real."""
    rng = np.random.RandomState([monitor.config.seed, 0x535744])
    return rng.standard_normal((n, monitor.config.latent_size)).astype(np.float32)


def test_due_at_each_multiple_once_and_after_a_resume(data_dir):
    m = _monitor(data_dir)
    assert [m.due(n) for n in (32, 63, 64, 96)] == [False, False, True, True]
    m.last = 64  # measured at 64
    assert [m.due(n) for n in (96, 127, 128)] == [False, False, True]
    resumed = _monitor(data_dir, images_seen=70)  # resumed between two multiples
    assert [resumed.due(n) for n in (96, 128)] == [False, True]
    assert not any(_monitor(data_dir, swd_every_kimg=0.0).due(n) for n in (64, 10 ** 6))


def test_measure_compares_faded_reals_with_fakes_of_the_same_labels(data_dir):
    m = _monitor(data_dir)
    seen = {}

    def generator(latents, labels, res, alpha, training):
        """Images whose colour says the class, plus a latent-dependent shade (deterministic)."""
        seen.setdefault("labels", []).append(np.asarray(labels))
        seen["alpha"] = alpha
        colour = np.asarray(labels)[:, :3] * 1.6 - 0.8 + 0.1 * np.tanh(latents[:, :1])
        return tf.constant(np.tile(colour[:, None, None, :], (1, res, res, 1)), tf.float32)

    stage = types.SimpleNamespace(resolution=16, alpha=0.25, fading=True)
    result = m.measure(generator, stage, 64)
    reals, labels = m.reals(16)
    assert reals.shape == (20, 16, 16, 3) and labels.shape == (20, 3)
    np.testing.assert_array_equal(np.concatenate(seen["labels"]), labels)  # the reals' labels
    assert seen["alpha"] == 0.25
    # The cached uint8 reals are exactly the pipeline's images.
    first = next(iter(pipeline.make_dataset(os.path.join(data_dir, "train"), 16, 20,
                                            shuffle=False, repeat=False)))[0].numpy()
    np.testing.assert_allclose(pipeline.to_unit_range(reals), first, atol=1e-6)
    faded = sampling.to_uint8(pipeline.fade_reals(first, 0.25))
    latents = _latents(m, len(labels))
    fakes = sampling.to_uint8(generator(latents, labels, res=16, alpha=0.25, training=False))
    want = swd_lib.swd(faded, fakes, seed=TINY["seed"])
    assert result == want and result["avg"] > 0
    assert swd_scalars(result) == {"swd_avg": want["avg"], "swd_16": want["levels"]["16"]}
    assert m.last == 64
    assert m.measure(generator, types.SimpleNamespace(resolution=8), 128) is None  # below 16x16


@pytest.mark.slow  # end to end, minutes on 2 cores: `make test-slow`
def test_training_writes_swd_into_the_tick_line_when_due(data_dir, tmp_path):
    run_dir = tmp_path / "run"
    loop.run(TrainConfig(data_dir=data_dir, run_dir=str(run_dir), total_kimg=0.168,
                         **{**TINY, "swd_every_kimg": 0.064, "swd_images": 16}))
    with open(run_dir / "log.txt") as f:
        ticks = [parse_log_line(l) for l in f if l.startswith("tick ")]
    # Due at 64 (8x8: skipped) and 128 (16x16, fading in); not at the final tick (168).
    with_swd = [t for t in ticks if "swd_avg" in t]
    assert [(t["kimg"], t["res"]) for t in with_swd] == [(0.128, 16)]
    assert with_swd[0]["swd_avg"] == with_swd[0]["swd_16"] > 0
