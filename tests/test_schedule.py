"""Tests for pgan_tf.training.schedule: image counts -> stage (docs/design.md#schedule-defaults,
docs/design.md#minibatch-per-resolution, docs/design.md#level-of-detail)."""
import math
import subprocess
import sys

import pytest

from pgan_tf.config import PAPER_MINIBATCH
from pgan_tf.training.schedule import (OFFICIAL_TICK_KIMG, ScheduleParams, full_resolution_images,
                                       next_phase_start, stage_at)

PAPER = ScheduleParams(resolution=256, g_lr=0.001, d_lr=0.004, d_lr_dict={256: 0.003})

# images -> (lod, resolution, alpha, fading, minibatch, g_lr, d_lr, tick, phase_key, phase_start,
# stream_start), worked out by hand from docs/design.md#level-of-detail (600 + 600 kimg per
# resolution, R = 256).
PAPER_TABLE = [
    (0, (6.0, 4, 1.0, False, 256, 0.001, 0.004, 160.0, (6, 6), 0, 0)),
    (599_999, (6.0, 4, 1.0, False, 256, 0.001, 0.004, 160.0, (6, 6), 0, 0)),
    # lod is exactly 6 at 600 kimg: still the stable 4x4 phase.
    (600_000, (6.0, 4, 1.0, False, 256, 0.001, 0.004, 160.0, (6, 6), 0, 0)),
    (600_001, (6 - 1 / 600_000, 8, 1 / 600_000, True, 256, 0.001, 0.004, 140.0, (5, 6), 600_001, 600_001)),
    (900_000, (5.5, 8, 0.5, True, 256, 0.001, 0.004, 140.0, (5, 6), 600_001, 600_001)),
    (1_200_000, (5.0, 8, 1.0, False, 256, 0.001, 0.004, 140.0, (5, 5), 1_200_000, 600_001)),
    (1_500_000, (5.0, 8, 1.0, False, 256, 0.001, 0.004, 140.0, (5, 5), 1_200_000, 600_001)),
    (2_100_000, (4.5, 16, 0.5, True, 128, 0.001, 0.004, 120.0, (4, 5), 1_800_001, 1_800_001)),
    (3_000_000, (4.0, 16, 1.0, False, 128, 0.001, 0.004, 120.0, (4, 4), 2_400_000, 1_800_001)),
    (4_500_000, (2.5, 64, 0.5, True, 32, 0.001, 0.004, 80.0, (2, 3), 4_200_001, 4_200_001)),
    (6_000_000, (1.0, 128, 1.0, False, 16, 0.001, 0.004, 60.0, (1, 1), 6_000_000, 5_400_001)),
    (7_199_999, (1 / 600_000, 256, 599_999 / 600_000, True, 8, 0.001, 0.003, 40.0, (0, 1),
                 6_600_001, 6_600_001)),
    # docs/design.md#level-of-detail: full 256x256 reached at 7200 kimg and kept from then on.
    (7_200_000, (0.0, 256, 1.0, False, 8, 0.001, 0.003, 40.0, (0, 0), 7_200_000, 6_600_001)),
    (8_000_000, (0.0, 256, 1.0, False, 8, 0.001, 0.003, 40.0, (0, 0), 7_200_000, 6_600_001)),
]


def _summary(stage):
    return (stage.lod, stage.resolution, stage.alpha, stage.fading, stage.minibatch, stage.g_lr,
            stage.d_lr, stage.tick_kimg, stage.phase_key, stage.phase_start_images,
            stage.stream_start_images)


def _assert_summary(stage, expected):
    got = _summary(stage)
    assert got[0] == pytest.approx(expected[0], abs=1e-12)
    assert got[2] == pytest.approx(expected[2], abs=1e-12)
    assert got[1] == expected[1] and got[3:] == expected[3:]


@pytest.mark.parametrize("images,expected", PAPER_TABLE)
def test_paper_schedule_table(images, expected):
    stage = stage_at(images, PAPER)
    _assert_summary(stage, expected)
    assert stage.images_seen == images and stage.kimg == images / 1000


def test_paper_defaults_and_full_resolution():
    assert dict(ScheduleParams(resolution=256).minibatch_dict) == dict(PAPER_MINIBATCH)
    assert dict(ScheduleParams(resolution=256).tick_kimg_dict) == dict(OFFICIAL_TICK_KIMG)
    assert full_resolution_images(PAPER) == 7_200_000
    assert next_phase_start(7_199_999, PAPER) == 7_200_000
    assert next_phase_start(7_200_000, PAPER) is None
    assert next_phase_start(0, PAPER) == 600_001
    assert next_phase_start(600_001, PAPER) == 1_200_000


def test_lod_matches_official_float_formula_away_from_boundaries():
    """Independent float port of the official rule (docs/design.md#level-of-detail) at mid-phase
    image counts."""
    def official_lod(kimg, r_log2=8, train=600.0, trans=600.0):
        phase = math.floor(kimg / (train + trans))
        phase_kimg = kimg - phase * (train + trans)
        return max(r_log2 - 2 - phase - max(phase_kimg - train, 0.0) / trans, 0.0)

    for images in range(137, 9_000_000, 123_457):
        stage = stage_at(images, PAPER)
        lod = official_lod(images / 1000)
        assert stage.lod == pytest.approx(lod, abs=1e-9)
        assert stage.resolution == 256 // 2 ** math.floor(lod)


SMALL = ScheduleParams(resolution=16, lod_training_kimg=0.3, lod_transition_kimg=0.2, tick_kimg=0.5)
SMALL_TABLE = [
    (0, (2.0, 4, 1.0, False, 256, 0.001, 0.001, 0.5, (2, 2), 0, 0)),
    (300, (2.0, 4, 1.0, False, 256, 0.001, 0.001, 0.5, (2, 2), 0, 0)),
    (301, (2 - 1 / 200, 8, 1 / 200, True, 256, 0.001, 0.001, 0.5, (1, 2), 301, 301)),
    (400, (1.5, 8, 0.5, True, 256, 0.001, 0.001, 0.5, (1, 2), 301, 301)),
    (500, (1.0, 8, 1.0, False, 256, 0.001, 0.001, 0.5, (1, 1), 500, 301)),
    (850, (0.75, 16, 0.25, True, 128, 0.001, 0.001, 0.5, (0, 1), 801, 801)),
    (1000, (0.0, 16, 1.0, False, 128, 0.001, 0.001, 0.5, (0, 0), 1000, 801)),
    (5000, (0.0, 16, 1.0, False, 128, 0.001, 0.001, 0.5, (0, 0), 1000, 801)),
]


@pytest.mark.parametrize("images,expected", SMALL_TABLE)
def test_small_fractional_schedule(images, expected):
    _assert_summary(stage_at(images, SMALL), expected)


def test_fractional_kimg_boundaries_are_exact():
    # 0.1 + 0.2 kimg are not binary fractions (their float sum is 0.30000000000000004); in integer
    # images the boundaries fall exactly on 100, 300, ... images.
    params = ScheduleParams(resolution=32, lod_training_kimg=0.1, lod_transition_kimg=0.2)
    assert _summary(stage_at(300, params))[:4] == (2.0, 8, 1.0, False)
    assert stage_at(299, params).phase_key == (2, 3)
    assert stage_at(100, params).phase_key == (3, 3)
    assert stage_at(101, params).phase_key == (2, 3)
    assert full_resolution_images(params) == 900


def _brute_force_phase_facts(params, limit):
    """phase start, stream start and next phase start of each image count by scanning stage_at."""
    keys = [stage_at(n, params).phase_key for n in range(limit)]
    resolutions = [stage_at(n, params).resolution for n in range(limit)]
    starts, streams = [0] * limit, [0] * limit
    for n in range(1, limit):
        starts[n] = starts[n - 1] if keys[n] == keys[n - 1] else n
        streams[n] = streams[n - 1] if resolutions[n] == resolutions[n - 1] else n
    nexts = [None] * limit
    for n in range(limit - 2, -1, -1):
        nexts[n] = n + 1 if keys[n + 1] != keys[n] else nexts[n + 1]
    return starts, streams, nexts


@pytest.mark.parametrize("params", [
    SMALL,
    ScheduleParams(resolution=16, lod_training_kimg=0.05, lod_transition_kimg=0.0),
    ScheduleParams(resolution=16, lod_training_kimg=0.0, lod_transition_kimg=0.07),
    ScheduleParams(resolution=32, lod_initial_resolution=8, lod_training_kimg=0.011, lod_transition_kimg=0.013),
])
def test_phase_bookkeeping_matches_scan(params):
    limit = full_resolution_images(params) + 50
    starts, streams, nexts = _brute_force_phase_facts(params, limit)
    for n in range(limit - 1):
        stage = stage_at(n, params)
        assert stage.phase_start_images == starts[n], n
        assert stage.stream_start_images == streams[n], n
        assert next_phase_start(n, params) == nexts[n], n
    # lod is monotone non-increasing and alpha in (0, 1] throughout.
    lods = [stage_at(n, params).lod for n in range(limit)]
    assert all(a >= b for a, b in zip(lods, lods[1:]))
    assert all(0 < stage_at(n, params).alpha <= 1 for n in range(limit))


def test_zero_transition_has_no_fade_phases():
    params = ScheduleParams(resolution=16, lod_training_kimg=0.5, lod_transition_kimg=0)
    assert _summary(stage_at(499, params))[:4] == (2.0, 4, 1.0, False)
    assert _summary(stage_at(500, params)) == (1.0, 8, 1.0, False, 256, 0.001, 0.001, 140.0, (1, 1), 500, 500)
    assert _summary(stage_at(1000, params))[:4] == (0.0, 16, 1.0, False)
    assert [next_phase_start(n, params) for n in (0, 499, 500, 1000)] == [500, 500, 1000, None]
    assert not any(stage_at(n, params).fading for n in range(0, 1200, 7))


def test_zero_training_fades_at_once():
    params = ScheduleParams(resolution=8, lod_training_kimg=0, lod_transition_kimg=0.4)
    assert stage_at(0, params).phase_key == (1, 1)
    first = stage_at(1, params)
    assert (first.resolution, first.fading, first.phase_key, first.stream_start_images) == (8, True, (0, 1), 1)
    assert first.alpha == pytest.approx(1 / 400)
    assert full_resolution_images(params) == 400 and stage_at(400, params).lod == 0.0


def test_no_growing_when_initial_is_final():
    params = ScheduleParams(resolution=64, lod_initial_resolution=64, lod_training_kimg=0,
                            lod_transition_kimg=0)
    stage = stage_at(123_456, params)
    assert (stage.lod, stage.resolution, stage.phase_key, stage.minibatch) == (0.0, 64, (0, 0), 32)
    assert next_phase_start(0, params) is None and full_resolution_images(params) == 0


def test_minibatch_replica_rounding_and_cap():
    params = ScheduleParams(resolution=16, num_replicas=3, minibatch_dict={4: 256, 16: 100},
                            minibatch_base=40, max_minibatch_per_replica={4: 50})
    # 4x4: 256 -> 255 (multiple of 3) -> capped at 50 * 3 = 150.
    assert stage_at(0, params).minibatch == 150
    # 8x8: base 40 -> 39.   16x16: 100 -> 99.
    assert stage_at(900_000, params).minibatch == 39
    assert stage_at(3_000_000, params).minibatch == 99
    eight = ScheduleParams(resolution=8, num_replicas=8, max_minibatch_per_replica={8: 16})
    assert stage_at(0, eight).minibatch == 256 and stage_at(1_200_000, eight).minibatch == 128


def test_learning_rate_and_tick_tables():
    params = ScheduleParams(resolution=16, g_lr=0.001, d_lr=0.004, g_lr_dict={8: 0.002},
                            d_lr_dict={16: 0.005}, tick_kimg_dict={8: 7}, tick_kimg_base=11)
    assert (stage_at(0, params).g_lr, stage_at(0, params).d_lr) == (0.001, 0.004)
    assert (stage_at(900_000, params).g_lr, stage_at(900_000, params).d_lr) == (0.002, 0.004)
    assert (stage_at(3_000_000, params).g_lr, stage_at(3_000_000, params).d_lr) == (0.001, 0.005)
    assert [stage_at(n, params).tick_kimg for n in (0, 900_000, 3_000_000)] == [11.0, 7.0, 11.0]


def test_mappings_are_normalised_and_read_only():
    params = ScheduleParams(resolution=8, minibatch_dict={"4": 32, "8": 16})
    assert stage_at(0, params).minibatch == 32 and stage_at(1_200_000, params).minibatch == 16
    with pytest.raises(TypeError):
        params.minibatch_dict[4] = 1
    source = {4: 32}
    copy = ScheduleParams(resolution=8, minibatch_dict=source)
    source[4] = 1
    assert copy.minibatch_dict[4] == 32
    assert copy == ScheduleParams(resolution=8, minibatch_dict={4: 32})
    assert hash(copy) == hash(ScheduleParams(resolution=8, minibatch_dict={4: 32}))


@pytest.mark.parametrize("kwargs,message", [
    (dict(resolution=100), "resolution"),
    (dict(resolution=2), "resolution"),
    (dict(resolution=64, lod_initial_resolution=2), "lod_initial_resolution"),
    (dict(resolution=64, lod_initial_resolution=128), "lod_initial_resolution"),
    (dict(resolution=64, lod_initial_resolution=12), "lod_initial_resolution"),
    (dict(resolution=64, lod_training_kimg=-1), "lod_training_kimg"),
    (dict(resolution=64, lod_transition_kimg=float("nan")), "lod_transition_kimg"),
    (dict(resolution=64, lod_training_kimg=0, lod_transition_kimg=0), "never grow"),
    (dict(resolution=64, num_replicas=0), "num_replicas"),
    (dict(resolution=64, minibatch_base=2, minibatch_dict={}, num_replicas=4), "rounds down to 0"),
    (dict(resolution=64, g_lr=0), "g_lr"),
    (dict(resolution=64, tick_kimg=0), "tick_kimg"),
    (dict(resolution=64, minibatch_dict={"abc": 3}), "minibatch_dict"),
    (dict(resolution=64, d_lr_dict={12: 0.1}), "d_lr_dict"),
    (dict(resolution=64, minibatch_dict={8: 0}), "minibatch_dict"),
])
def test_validation_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ScheduleParams(**kwargs)


@pytest.mark.parametrize("images", [-1, 1.5, True, "7"])
def test_bad_image_counts(images):
    with pytest.raises(ValueError, match="images_seen"):
        stage_at(images, PAPER)


def test_numpy_integer_image_counts():
    import numpy as np
    stage = stage_at(np.int64(900_000), PAPER)
    assert type(stage.images_seen) is int and stage.lod == 5.5
    assert next_phase_start(np.int64(900_000), PAPER) == 1_200_000


def test_module_does_not_import_tensorflow():
    # In a fresh interpreter: other tests in this process may have imported TensorFlow already.
    code = ("import sys, pgan_tf.training.schedule; "
            "sys.exit(1 if 'tensorflow' in sys.modules else 0)")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
