"""Augmentor pre-augmentation: determinism, RNG hygiene, exact probabilities, the operations."""
import random

import numpy as np
import pytest

from pgan_tf.data import augment, crop_rotate
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
    # Pipeline.sample fires with round(u, 1) <= p: 0.55 for p = 0.5
    # (docs/design.md#augmentor-quirks). Our rule is u < p: over 2000 copies the flip rate must be
    # 0.5 ± 0.03 (std 0.011), excluding 0.55.
    img = np.zeros((4, 4, 3), np.uint8)
    img[:, 0] = 255  # left column white: flipped ⇔ right column white
    spec = augment.AugmentationSpec(rotation_probability=OFF, flip_top_bottom_probability=OFF,
                                    zoom_probability=OFF, skew_probability=OFF)
    t = _transform(spec)
    flipped = [augment.augment_image(img, t, 0, i, 1)[0, -1, 0] == 255 for i in range(2000)]
    assert abs(np.mean(flipped) - 0.5) < 0.03


def test_rotation_stays_within_90_degrees():
    # A bright pixel right of the centre, rotated by θ ∈ [-90°, 90°] (expand=False), must stay in
    # the half-plane x ≥ centre; a rotation beyond 90° would move it to the left half. (8 px out:
    # the crop's zoom, up to √2, keeps it in the frame.)
    img = np.zeros((33, 33, 3), np.uint8)
    img[16, 24] = 255
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
    assert ops["rotate"]["angle_degrees"] == [-90, 90]
    assert ops["rotate"]["rule"] == info["rotation_rule"] == crop_rotate.ROTATION_RULE
    assert ops["zoom"]["probability"] == spec.zoom_probability
    assert all(op["fill"].startswith("none") for op in ops.values())
    assert "source image" in info["fill_rule"]
    assert info["per_image"] == 3 and "0.2.12" in info["library"] and "scikit-image" in info["library"]
    assert augment.describe(spec, 0)["operations"] == []
    assert augment.rotation_rule(augment.describe(spec, 0)) == augment.NO_ROTATION


def test_a_dataset_prepared_with_the_old_rule_is_named_as_such():
    # dataset.json of a dataset prepared before the rule was recorded: a reflect-mode rotation.
    old = {"augmentation": {"per_image": 3, "operations": [
        {"op": "rotate", "mode": "reflect", "fill": "none (reflection)"}, {"op": "zoom"}]}}
    assert augment.rotation_rule(old) == augment.LEGACY_ROTATION_RULE
    assert augment.rotation_rule({"augmentation": augment.describe(augment.DEFAULT_SPEC, 3)}) \
        == crop_rotate.ROTATION_RULE
    assert augment.rotation_rule({}) == augment.NO_ROTATION


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


@pytest.mark.parametrize("angle", [90, -90, 45, -45, 30])
def test_rotation_turns_quarters_exactly_and_never_fills(bright, angle):
    out = crop_rotate.rotate_crop(bright, angle)
    if abs(angle) == 90:  # exact quarter turns: lossless (counter-clockwise, as before)
        np.testing.assert_array_equal(out, np.rot90(bright, angle // 90))
    # Every value stays inside the source's range (clipped cubic interpolation of source pixels).
    assert bright.min() <= out.min() and out.max() <= bright.max()


def _coordinate_image(side=64):
    """R = 4x, G = 4y, B = 128: each pixel names its own position (quarter-pixel steps)."""
    y, x = np.mgrid[0:side, 0:side]
    return np.stack([4 * x, 4 * y, np.full_like(x, 128)], axis=-1).astype(np.uint8)


def _projective_residuals(out):
    """Decoded source (x, y) of every output pixel, and its distance (px) from the one projective
    transform fitted to all of them (linear least squares, output pixel -> source position)."""
    side = out.shape[0]
    y, x = np.mgrid[0:side, 0:side]
    x, y = x.ravel().astype(float), y.ravel().astype(float)
    src = out[..., :2].reshape(-1, 2).astype(float) / 4.0
    # u = (h0 x + h1 y + h2) / (h6 x + h7 y + 1), v = (h3 x + h4 y + h5) / (same): linear in h.
    one, zero = np.ones_like(x), np.zeros_like(x)
    rows = np.concatenate([
        np.stack([x, y, one, zero, zero, zero, -x * src[:, 0], -y * src[:, 0]], axis=1),
        np.stack([zero, zero, zero, x, y, one, -x * src[:, 1], -y * src[:, 1]], axis=1)])
    h = np.linalg.lstsq(rows, np.concatenate([src[:, 0], src[:, 1]]), rcond=None)[0]
    w = h[6] * x + h[7] * y + 1
    fitted = np.stack([(h[0] * x + h[1] * y + h[2]) / w, (h[3] * x + h[4] * y + h[5]) / w], 1)
    return src, np.linalg.norm(fitted - src, axis=1)


def _fits_one_projective_transform(out):
    src, residual = _projective_residuals(out)
    side = out.shape[0]
    inside = (src >= -0.5).all() and (src <= side - 0.5).all()
    # Interpolation rounding stays under a pixel; a mirrored region is many pixels off the fit.
    return inside and np.percentile(residual, 99) < 0.75 and residual.max() < 1.5


@pytest.mark.parametrize("spec, copies", [
    (_only(rotation_probability=1.0), 30),                            # angles over [-90°, 90°]
    (_only(flip_left_right_probability=1.0, flip_top_bottom_probability=1.0), 1),
    (_only(zoom_probability=1.0, zoom_min_factor=1.2, zoom_max_factor=1.2), 1),  # the spec's max
    (_only(skew_probability=1.0), 12),                                 # every skew type, max 0.2
    (augment.AugmentationSpec(rotation_probability=1.0, flip_left_right_probability=1.0,
                              flip_top_bottom_probability=1.0, zoom_probability=1.0,
                              zoom_min_factor=1.2, zoom_max_factor=1.2, skew_probability=1.0), 16),
], ids=["rotate", "flips", "zoom", "skew", "all"])
def test_every_pixel_comes_from_the_source_at_the_transformed_place(spec, copies):
    source = _coordinate_image()
    t = _transform(spec)
    for i in range(copies):
        out = augment.augment_image(source, t, 0, i, 1)
        assert _fits_one_projective_transform(out), f"copy {i}"


@pytest.mark.parametrize("angle", [45, -45, 90, 17.5, -72])
def test_rotation_at_its_extremes_is_one_transform_inside_the_source(angle):
    assert _fits_one_projective_transform(crop_rotate.rotate_crop(_coordinate_image(), angle))


def test_a_mirrored_corner_fails_the_coordinate_check():
    # What the old rule did at 45°: reflect the image at its borders into the corners.
    from skimage.transform import rotate

    mirrored = np.rint(rotate(_coordinate_image(), 45, mode="reflect", order=3, clip=True,
                              preserve_range=True)).astype(np.uint8)
    assert not _fits_one_projective_transform(mirrored)


@pytest.mark.parametrize("changes, message", [
    (dict(zoom_min_factor=0.8), "zoom"), (dict(skew_magnitude=1.5), "skew_magnitude"),
    (dict(flip_left_right_probability=0.0), "flip_left_right_probability"),
])
def test_spec_refuses_settings_that_would_fill(changes, message):
    with pytest.raises(UserError, match=message):
        augment.AugmentationSpec(**changes)
