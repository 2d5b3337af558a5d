"""SWD against an independent loop-based NumPy reference of the official algorithm
(docs/design.md#sliced-wasserstein-distance)."""
import numpy as np
import pytest

from pgan_tf.errors import UserError
from pgan_tf.metrics import swd as swd_lib

KERNEL_5X5 = np.outer([1, 4, 6, 4, 1], [1, 4, 6, 4, 1]) / 256.0  # official `gaussian_filter`


# ----------------------------------------------------------------------------------------------
# Reference: explicit loops, written from the official description, no code shared with swd.py.
def _mirror(i, n):
    """Reflect-101 index (SciPy 'mirror', cv2 BORDER_REFLECT_101)."""
    if i < 0:
        return -i
    if i >= n:
        return 2 * n - 2 - i
    return i


def _ref_convolve(img, kernel):
    """Full-size 5x5 convolution of [N, H, W, C] with mirror borders, one output pixel at a time."""
    n, h, w, c = img.shape
    out = np.zeros_like(img)
    for y in range(h):
        for x in range(w):
            acc = np.zeros((n, c))
            for dy in range(-2, 3):
                for dx in range(-2, 3):
                    acc += kernel[dy + 2, dx + 2] * img[:, _mirror(y + dy, h), _mirror(x + dx, w), :]
            out[:, y, x, :] = acc
    return out


def _ref_pyramid(images, num_levels):
    gauss = [images.astype(np.float64)]
    for _ in range(1, num_levels):
        gauss.append(_ref_convolve(gauss[-1], KERNEL_5X5)[:, ::2, ::2, :])
    levels = []
    for g, small in zip(gauss[:-1], gauss[1:]):
        up = np.zeros_like(g)
        for y in range(small.shape[1]):
            for x in range(small.shape[2]):
                up[:, 2 * y, 2 * x, :] = small[:, y, x, :]
        levels.append(g - _ref_convolve(up, KERNEL_5X5 * 4.0))
    levels.append(gauss[-1])
    return levels


def _ref_descriptors(level, centres, per_image):
    n, h, w, c = level.shape
    desc = np.zeros((len(centres), c * 49))
    for i, (cy, cx) in enumerate(centres):
        k = 0
        for ch in range(c):
            for dy in range(-3, 4):
                for dx in range(-3, 4):
                    desc[i, k] = level[i // per_image, cy + dy, cx + dx, ch]
                    k += 1
    for ch in range(c):  # per-channel normalisation over every descriptor and position of the set
        block = desc[:, ch * 49:(ch + 1) * 49]
        desc[:, ch * 49:(ch + 1) * 49] = (block - block.mean()) / block.std()
    return desc


def _ref_sliced(a, b, directions):
    per_repeat = []
    for dirs in directions:
        total = 0.0
        for j in range(dirs.shape[1]):
            pa, pb = np.sort(a @ dirs[:, j]), np.sort(b @ dirs[:, j])
            total += np.abs(pa - pb).sum()
        per_repeat.append(total / (a.shape[0] * dirs.shape[1]))
    return sum(per_repeat) / len(per_repeat)


def _ref_swd(reals, fakes, seed, min_res, per_image, repeats, dirs_per):
    """Whole metric with the draw order documented in swd.py, re-drawn here independently."""
    rng = np.random.RandomState(seed)
    res = reals.shape[1]
    resolutions = []
    while res >= min_res:
        resolutions.append(res)
        res //= 2
    descs = []
    for images in (reals, fakes):
        centres = []
        for r in resolutions:
            x = rng.randint(3, r - 3, size=len(images) * per_image)
            y = rng.randint(3, r - 3, size=len(images) * per_image)
            centres.append(np.stack([y, x], 1))
        pyramid = _ref_pyramid(images, len(resolutions))
        descs.append([_ref_descriptors(lv, c, per_image) for lv, c in zip(pyramid, centres)])
    dists = []
    for a, b in zip(*descs):
        dirs = []
        for _ in range(repeats):
            d = rng.randn(a.shape[1], dirs_per)
            dirs.append(d / np.linalg.norm(d, axis=0, keepdims=True))
        dists.append(1e3 * _ref_sliced(a, b, dirs))
    return dict(zip([str(r) for r in resolutions], dists)), float(np.mean(dists))


# ----------------------------------------------------------------------------------------------
def _smooth_images(seed, n, size):
    """Structured uint8 images: low-frequency colour fields plus a little texture."""
    rng = np.random.RandomState(seed)
    yy, xx = np.mgrid[0:size, 0:size] / size
    imgs = []
    for _ in range(n):
        f = rng.uniform(0.5, 3.0, size=(3, 2))
        phase = rng.uniform(0, 6.28, size=3)
        chans = [np.sin(2 * np.pi * (f[c, 0] * yy + f[c, 1] * xx) + phase[c]) for c in range(3)]
        img = 127.5 + 90 * np.stack(chans, -1) + rng.normal(0, 10, size=(size, size, 3))
        imgs.append(img)
    return np.clip(np.round(imgs), 0, 255).astype(np.uint8)


def test_pyramid_matches_loop_reference():
    images = _smooth_images(1, 2, 32)
    ours = swd_lib.laplacian_pyramid(images, 3)
    ref = _ref_pyramid(images, 3)
    assert [lv.shape for lv in ours] == [(2, 32, 32, 3), (2, 16, 16, 3), (2, 8, 8, 3)]
    for a, b in zip(ours, ref):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-4 * np.abs(b).max())


def test_pyramid_matches_official_scipy_code():
    """The official pyr_down/pyr_up are SciPy convolutions with mode='mirror' (NCHW)."""
    from scipy import ndimage
    images = _smooth_images(2, 2, 16).astype(np.float32)
    nchw = images.transpose(0, 3, 1, 2)
    kernel = np.float32(KERNEL_5X5)[None, None]
    down = ndimage.convolve(nchw, kernel, mode="mirror")[:, :, ::2, ::2]
    up = np.zeros_like(nchw)
    up[:, :, ::2, ::2] = down
    up = ndimage.convolve(up, kernel * 4.0, mode="mirror")
    np.testing.assert_allclose(swd_lib.pyr_down(images), down.transpose(0, 2, 3, 1), atol=1e-3)
    np.testing.assert_allclose(swd_lib.pyr_up(swd_lib.pyr_down(images)), up.transpose(0, 2, 3, 1),
                               atol=1e-3)


def test_pyr_down_and_up_keep_a_constant_image_constant():
    const = np.full((1, 16, 16, 3), 77.0)
    np.testing.assert_allclose(swd_lib.pyr_down(const), 77.0, atol=1e-9)
    np.testing.assert_allclose(swd_lib.pyr_up(np.full((1, 8, 8, 3), 77.0)), 77.0, atol=1e-9)
    levels = swd_lib.laplacian_pyramid(const.astype(np.uint8), 2)
    np.testing.assert_allclose(levels[0], 0.0, atol=1e-4)
    np.testing.assert_allclose(levels[1], 77.0, atol=1e-4)


def test_descriptors_match_loop_reference_with_injected_centres():
    level = swd_lib.laplacian_pyramid(_smooth_images(3, 3, 16), 1)[0]
    rng = np.random.RandomState(5)
    centres = np.stack([rng.randint(3, 13, 3 * 4), rng.randint(3, 13, 3 * 4)], 1)
    raw = swd_lib.sample_descriptors(level, 4, centres=centres)
    ours = swd_lib.normalize_descriptors(raw, 3)
    np.testing.assert_allclose(ours, _ref_descriptors(level.astype(np.float64), centres, 4),
                               rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError):
        swd_lib.sample_descriptors(level, 4, centres=np.full((12, 2), 13))  # patch leaves the image


def test_swd_matches_reference_end_to_end():
    reals = _smooth_images(10, 4, 32)
    fakes = np.clip(_smooth_images(11, 4, 32).astype(int) + 20, 0, 255).astype(np.uint8)
    kwargs = dict(seed=3, min_resolution=8, descriptors_per_image=24, dir_repeats=2, dirs_per_repeat=16)
    ours = swd_lib.swd(reals, fakes, batch_size=3, **kwargs)
    ref_levels, ref_avg = _ref_swd(reals, fakes, 3, 8, 24, 2, 16)
    assert list(ours["levels"]) == ["32", "16", "8"]
    for key, value in ref_levels.items():
        assert ours["levels"][key] == pytest.approx(value, rel=1e-4)
    assert ours["avg"] == pytest.approx(ref_avg, rel=1e-4)
    assert ours["avg"] > 1.0  # the reference values are far from the noise of float32


def test_batch_size_does_not_change_the_result():
    reals, fakes = _smooth_images(4, 5, 16), _smooth_images(5, 5, 16)
    a = swd_lib.swd(reals, fakes, seed=1, batch_size=2)
    b = swd_lib.swd(reals, fakes, seed=1, batch_size=64)
    assert a == b


def test_swd_of_a_set_with_itself_and_shared_draws_is_zero():
    images = _smooth_images(6, 4, 32)
    rng = np.random.RandomState(0)
    centres = [swd_lib.draw_centres(rng, 4, 32, 32 >> k, 32 >> k) for k in range(2)]
    da = swd_lib.image_descriptors(images, 2, descriptors_per_image=32, centres=centres)
    db = swd_lib.image_descriptors(images.copy(), 2, descriptors_per_image=32, centres=centres)
    for a, b in zip(da, db):
        assert swd_lib.sliced_wasserstein(a, b, rng=rng) == 0.0


def test_swd_grows_with_noise():
    reals = _smooth_images(7, 12, 32)
    noise = np.random.RandomState(8).normal(size=reals.shape)
    values, finest = [], []
    for sigma in (0, 10, 25, 50):
        fakes = np.clip(np.round(reals + sigma * noise), 0, 255).astype(np.uint8)
        out = swd_lib.swd(reals, fakes, seed=0)
        values.append(out["avg"])
        finest.append(out["levels"]["32"])
    assert all(lo < hi for lo, hi in zip(values, values[1:])), values
    assert all(lo < hi for lo, hi in zip(finest, finest[1:])), finest
    # White noise lives in the finest Laplacian level; the sampling floor (sigma 0) is far below it.
    assert finest[-1] > 2 * finest[0]


def test_output_keys_and_levels():
    images = _smooth_images(9, 2, 64)
    out = swd_lib.swd(images, images, seed=0, descriptors_per_image=8, dirs_per_repeat=8)
    assert set(out) == {"levels", "avg"}
    assert list(out["levels"]) == ["64", "32", "16"]
    assert out["avg"] == pytest.approx(np.mean(list(out["levels"].values())))
    assert swd_lib.level_resolutions(256) == [256, 128, 64, 32, 16]


def test_bad_inputs_raise_user_error():
    images = _smooth_images(9, 2, 32)
    with pytest.raises(UserError, match="same count"):
        swd_lib.swd(images, images[:1])
    with pytest.raises(UserError, match="uint8"):
        swd_lib.swd(images.astype(np.float32), images.astype(np.float32))
    with pytest.raises(UserError, match="at least"):
        swd_lib.swd(images[:, :8, :8], images[:, :8, :8])
