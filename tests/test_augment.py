"""Augmentor pre-augmentation: determinism, RNG hygiene, exact probabilities, the operations."""
import random

import numpy as np
import pytest

from pgan_tf.data import augment, reflect_rotate
from pgan_tf.errors import UserError

# Augmentor refuses probability 0, so "off" is a probability no uniform draw goes below.
OFF = 1e-12


@pytest.fixture(scope="module")
def image():
    return np.random.default_rng(0).integers(0, 256, (16, 16, 3), dtype=np.uint8)


def _transform(spec):
    return augment.build_pipeline(spec).torch_transform()


def test_same_seed_index_and_copy_give_the_same_image(image):
    t = _transform(augment.DEFAULT_SPEC)
    a = augment.augment_image(image, t, 7, 3, 1)
    assert np.array_equal(a, augment.augment_image(image, t, 7, 3, 1))
    others = [augment.augment_image(image, t, *args) for args in ((7, 3, 2), (7, 4, 1), (8, 3, 1))]
    assert all(not np.array_equal(a, o) for o in others)
    assert a.shape == image.shape and a.dtype == np.uint8


def test_global_random_states_are_restored(image):
    random.seed(11)
    np.random.seed(11)
    expected = (random.random(), np.random.random())
    random.seed(11)
    np.random.seed(11)
    augment.augment_image(image, _transform(augment.DEFAULT_SPEC), 1, 2, 3)
    assert (random.random(), np.random.random()) == expected


def test_both_flips_turn_the_image_by_180_degrees(image):
    spec = augment.AugmentationSpec(rotation_probability=OFF, flip_left_right_probability=1.0,
                                    flip_top_bottom_probability=1.0, zoom_probability=OFF,
                                    skew_probability=OFF)
    out = augment.augment_image(image, _transform(spec), 0, 0, 1)
    assert np.array_equal(out, image[::-1, ::-1])


def test_flip_probability_is_the_stated_one_not_augmentor_sample_s_plus_005():
    # Pipeline.sample fires with round(u, 1) <= p: 0.55 for p = 0.5 (REFERENCE §12.3). Our rule is
    # u < p: over 2000 copies the flip rate must be 0.5 ± 0.03 (std 0.011), excluding 0.55.
    img = np.zeros((4, 4, 3), np.uint8)
    img[:, 0] = 255  # left column white: flipped ⇔ right column white
    spec = augment.AugmentationSpec(rotation_probability=OFF, flip_top_bottom_probability=OFF,
                                    zoom_probability=OFF, skew_probability=OFF)
    t = _transform(spec)
    flipped = [augment.augment_image(img, t, 0, i, 1)[0, -1, 0] == 255 for i in range(2000)]
    assert abs(np.mean(flipped) - 0.5) < 0.03


def test_rotation_stays_within_90_degrees():
    # A bright pixel right of the centre, rotated by θ ∈ [-90°, 90°] (expand=False), must stay in
    # the half-plane x ≥ centre; a rotation beyond 90° would move it to the left half.
    img = np.zeros((33, 33, 3), np.uint8)
    img[16, 28] = 255
    spec = augment.AugmentationSpec(flip_left_right_probability=OFF,
                                    flip_top_bottom_probability=OFF, zoom_probability=OFF,
                                    skew_probability=OFF)
    t = _transform(spec)
    angles = []
    for i in range(200):
        out = augment.augment_image(img, t, 0, i, 1)[..., 0].astype(float)
        ys, xs = np.nonzero(out > 40)
        assert len(xs) and xs.min() >= 16 - 1
        w = out[ys, xs]
        angles.append(np.degrees(np.arctan2(16 - np.average(ys, weights=w),
                                            np.average(xs, weights=w) - 16)))
    assert min(angles) < -60 and max(angles) > 60  # the whole range is used


def test_describe_records_every_operation_and_the_fill_rule(image):
    spec = augment.DEFAULT_SPEC
    info = augment.describe(spec, 3)
    ops = {op["op"]: op for op in info["operations"]}
    assert list(ops) == ["rotate", "flip_left_right", "flip_top_bottom", "zoom", "skew"]
    assert ops["rotate"]["angle_degrees"] == [-90, 90] and ops["rotate"]["mode"] == "reflect"
    assert ops["zoom"]["probability"] == spec.zoom_probability
    assert all(op["fill"].startswith("none") for op in ops.values())
    assert "source image" in info["fill_rule"]
    assert info["per_image"] == 3 and "0.2.12" in info["library"] and "scikit-image" in info["library"]
    assert augment.describe(spec, 0)["operations"] == []


def _only(**changes):
    """A spec with every operation off except those in `changes`."""
    off = dict(rotation_probability=OFF, flip_left_right_probability=OFF,
               flip_top_bottom_probability=OFF, zoom_probability=OFF, skew_probability=OFF)
    return augment.AugmentationSpec(**{**off, **changes})


@pytest.fixture(scope="module")
def bright():
    """A 'skin' image without dark pixels: noise in [128, 255] (noise is the worst case for
    interpolation ringing; a black fill would put 0s in the output)."""
    return np.random.default_rng(3).integers(128, 256, (32, 32, 3), dtype=np.uint8)


@pytest.mark.parametrize("spec", [
    _only(rotation_probability=1.0),                                  # angles over [-90°, 90°]
    _only(skew_probability=1.0, skew_magnitude=augment.MAX_SKEW_MAGNITUDE),  # every skew type
    _only(zoom_probability=1.0, zoom_min_factor=2.0, zoom_max_factor=2.0),   # strong zoom
    _only(zoom_probability=1.0, zoom_min_factor=1.2, zoom_max_factor=1.2),   # the spec's max
    _only(flip_left_right_probability=1.0, flip_top_bottom_probability=1.0),
    augment.AugmentationSpec(skew_magnitude=augment.MAX_SKEW_MAGNITUDE),    # all together
], ids=["rotate", "skew", "zoom2", "zoom1.2", "flips", "all"])
def test_no_fill_colour_at_extreme_magnitudes(bright, spec):
    t = _transform(spec)
    outs = np.stack([augment.augment_image(bright, t, 0, i, 1) for i in range(60)])
    assert outs.min() >= 64, outs.min()  # no black (or dark) wedge, frame or corner anywhere
    assert not all(np.array_equal(o, bright) for o in outs)  # the operation did run


@pytest.mark.parametrize("angle", [90, -90, 45, -45])
def test_rotation_reflects_instead_of_filling(bright, angle):
    out = reflect_rotate.rotate_reflect(bright, angle)
    if abs(angle) == 90:  # a square maps onto the pixel grid: exactly np.rot90 (counter-clockwise)
        np.testing.assert_array_equal(out, np.rot90(bright, angle // 90))
    # Every value stays inside the source's range (clipped cubic interpolation of source pixels).
    assert bright.min() <= out.min() and out.max() <= bright.max()
    # 45°: the uncovered corner holds the image mirrored at its border, not a constant.
    assert out[:3, :3].std() > 10


@pytest.mark.parametrize("changes, message", [
    (dict(zoom_min_factor=0.8), "zoom"), (dict(skew_magnitude=1.5), "skew_magnitude"),
    (dict(flip_left_right_probability=0.0), "flip_left_right_probability"),
])
def test_spec_refuses_settings_that_would_fill(changes, message):
    with pytest.raises(UserError, match=message):
        augment.AugmentationSpec(**changes)
