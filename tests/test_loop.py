"""End-to-end training through three resolutions, and exact resume."""
import json
import os

import numpy as np
import pytest

from pgan_tf import cli

tf = cli.import_tensorflow()

from pgan_tf.config import TrainConfig  # noqa: E402
from pgan_tf.errors import UserError  # noqa: E402
from pgan_tf.training import loop  # noqa: E402
from pgan_tf.training.summaries import parse_log_line  # noqa: E402
from tests.tiny_dataset import make_tiny_dataset  # noqa: E402

# 4 stable, fade 8, 8 stable, fade 16, 16 stable: 32 images per phase, minibatch 8.
TINY = dict(resolution=16, num_classes=3, latent_size=8, fmap_base=32, fmap_max=8,
            lod_training_kimg=0.032, lod_transition_kimg=0.032, tick_kimg=0.032,
            minibatch_dict={4: 8, 8: 8, 16: 8}, snapshot_ticks=2, attention_stages=(8,),
            d_lr=0.004, seed=7)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return make_tiny_dataset(str(tmp_path_factory.mktemp("tiny")), resolution=16)


def _config(data_dir, run_dir, **overrides):
    return TrainConfig(data_dir=data_dir, run_dir=str(run_dir), **{**TINY, **overrides})


def _log(run_dir):
    with open(os.path.join(run_dir, "log.txt")) as f:
        return [line.strip() for line in f]


def test_trains_through_three_resolutions(data_dir, tmp_path):
    run_dir = tmp_path / "run"
    state = loop.run(_config(data_dir, run_dir, total_kimg=0.168))
    ticks = [parse_log_line(l) for l in _log(run_dir) if l.startswith("tick ")]
    assert [t["res"] for t in ticks] == [4, 8, 8, 16, 16, 16]
    # alpha of each tick's last step: fades run 1 → 0.25 → 0.5 → 0.75 with 32-image phases.
    assert [t["alpha"] for t in ticks] == [1.0, 0.75, 1.0, 0.75, 1.0, 1.0]
    assert all(np.isfinite(t["loss_d"]) and np.isfinite(t["loss_g"]) for t in ticks)
    assert ticks[-1]["kimg"] == pytest.approx(0.168)
    assert state.images_seen == 168
    saved = json.load(open(run_dir / "config.json"))
    assert saved["config"]["attention_stages"] == [8] and saved["classes"] == ["MEL", "NV", "DF"]
    assert saved["provenance"]["packages"]
    grids = sorted(os.listdir(run_dir / "grids"))
    assert "reals.png" in grids and "fakes000000.png" in grids
    assert os.listdir(run_dir / "tensorboard")
    assert state.ckpt.manager.latest_checkpoint.endswith("ckpt-168")


def _weights(state):
    t = state.trainer
    return [v.numpy() for m in (t.G, t.D, t.G_ema) for v in m.weights] + \
        [v.numpy() for v in t.d_opt.variables + t.g_opt.variables]


# k = 4 traces two step variants per stage (~1.7x the time): in the slow suite.
@pytest.mark.parametrize("gp_interval", [1, pytest.param(4, marks=pytest.mark.slow)])
def test_resume_continues_exactly_like_an_uninterrupted_run(data_dir, tmp_path, gp_interval):
    # With mirror augment on: the flips, too, must continue where they stopped. With a lazy GP
    # (--gp_interval=4, every 4th D step): the run stops after step 6 of 0..14 and resumes
    # mid-cycle, so the penalty must land on steps 8 and 12 as in the uninterrupted run.
    lazy = dict(mirror_augment=True, gp_interval=gp_interval)
    full = loop.run(_config(data_dir, tmp_path / "full", total_kimg=0.12, **lazy))
    part = tmp_path / "part"
    loop.run(_config(data_dir, part, total_kimg=0.056, **lazy))  # mid fade-in of 8x8
    resumed = loop.run(_config(data_dir, part, total_kimg=0.12, **lazy))
    resumes = [l for l in _log(part) if l.startswith("Resuming from")]
    assert len(resumes) == 1 and resumes[0].endswith("ckpt-56 at kimg 0.056")
    assert resumed.images_seen == full.images_seen == 120
    for a, b in zip(_weights(full), _weights(resumed)):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_finished_run_says_so(data_dir, tmp_path, capsys):
    loop.run(_config(data_dir, tmp_path / "r", total_kimg=0.016))
    loop.run(_config(data_dir, tmp_path / "r", total_kimg=0.016))
    assert "already reached total_kimg" in capsys.readouterr().out


def test_changed_architecture_is_refused_on_resume(data_dir, tmp_path):
    loop.run(_config(data_dir, tmp_path / "r", total_kimg=0.008))
    with pytest.raises(UserError, match="fmap_max: 8 -> 16"):
        loop.run(_config(data_dir, tmp_path / "r", total_kimg=0.016, fmap_max=16))


def test_run_exports_a_generator_loadable_without_training_code(data_dir, tmp_path, monkeypatch):
    import pgan_tf

    monkeypatch.chdir(tmp_path)  # a relative --run_dir, as `make demo` uses
    loop.run(_config(data_dir, "r", total_kimg=0.048))  # ends mid fade-in of 8x8
    generate = pgan_tf.load_generator("r")
    latents = np.random.RandomState(0).standard_normal((5, 8)).astype(np.float32)
    labels = np.eye(3, dtype=np.float32)[[0, 1, 2, 0, 1]]
    images = generate(latents, labels)
    assert images.shape == (5, 16, 16, 3)  # nearest-upsampled to the run's resolution
    np.testing.assert_array_equal(images[:, ::2, ::2], images[:, 1::2, 1::2])
    assert not np.array_equal(images[0], images[3])


def test_changed_dataset_is_refused_unless_allowed(tmp_path, capsys):
    data = make_tiny_dataset(str(tmp_path / "data"), resolution=16, seed=1)
    loop.run(_config(data, tmp_path / "r", total_kimg=0.008))
    make_tiny_dataset(str(tmp_path / "data"), resolution=16, num_images=28, seed=1)  # rewritten
    before = open(tmp_path / "r" / "config.json").read()
    with pytest.raises(UserError, match=r"^--data_dir=.* is not the dataset --run_dir=.* was "
                       r"trained on \(sha256 \S+ -> \S+\); .*--allow_dataset_change"):
        loop.run(_config(data, tmp_path / "r", total_kimg=0.016))
    assert open(tmp_path / "r" / "config.json").read() == before  # refused before writing
    capsys.readouterr()
    state = loop.run(_config(data, tmp_path / "r", total_kimg=0.016, allow_dataset_change=True))
    assert "warning: the dataset changed since this run started" in capsys.readouterr().err
    assert state.images_seen == 16
