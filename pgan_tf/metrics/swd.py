"""Sliced Wasserstein Distance between two image sets, as official PGAN
(docs/design.md#sliced-wasserstein-distance).

Official code: `metrics/sliced_wasserstein.py` of tkarras/progressive_growing_of_gans (NCHW, SciPy).
This port is NHWC (NumPy, with SciPy's `ndimage.correlate1d` for the separable filter), with the
same algorithm:

1. Laplacian pyramid of every image from full resolution down to `min_resolution` (16): 5x5 binomial
   filter with mirror (reflect-101) borders; pyrDown = filter then keep even pixels, pyrUp = zero
   insertion then filter x4 (the official SciPy versions of cv2.pyrDown/pyrUp); level k =
   G_k - pyrUp(G_{k+1}), the coarsest level keeps its low-pass image.
2. Per level, 128 descriptors per image: the 7x7xC neighbourhood of a random centre fully inside the
   image, flattened channel-major (C, 7, 7) like the official NCHW layout.
3. Per level and per set (reals and fakes separately): per-channel normalisation, subtracting the mean
   and dividing by the std over all descriptors and all 49 positions of that set.
4. 4 repeats x 128 random unit directions (Gaussian, normalised): project both sets, sort each
   direction's projections, mean |difference|; mean over repeats.
5. Report each level x 1e3 and the average of the levels.

Random draws come from one `np.random.RandomState(seed)` in a fixed order (reals' centres per level,
fakes' centres per level, then the directions per level), drawn for the whole set so that results do
not depend on the processing batch size. Centres and directions can be injected for tests.
Precision: the pyramid and the normalisation statistics are computed in float64 (official: float32),
descriptors and projections are float32 as official.
"""
import numpy as np
from scipy import ndimage

from pgan_tf.errors import UserError

# docs/design.md#sliced-wasserstein-distance: 5x5 binomial filter (1,4,6,4,1)^T (1,4,6,4,1) / 256,
# applied separably.
BINOMIAL_TAPS = np.array([1.0, 4.0, 6.0, 4.0, 1.0]) / 16.0
# pyrUp multiplies the filter by 4 (official `gaussian_filter * 4.0`): 2 per separable axis.
PYR_UP_GAIN_PER_AXIS = 2.0
NHOOD_SIZE = 7                 # docs/design.md#sliced-wasserstein-distance: 7x7 neighbourhoods
DESCRIPTORS_PER_IMAGE = 128    # docs/design.md#sliced-wasserstein-distance: 128 per image per level
DIR_REPEATS = 4                # docs/design.md#sliced-wasserstein-distance: 4 repeats ...
DIRS_PER_REPEAT = 128          # ... x 128 random directions
MIN_RESOLUTION = 16            # docs/design.md#sliced-wasserstein-distance: pyramid down to 16x16
SWD_SCALE = 1e3                # docs/design.md#sliced-wasserstein-distance: reported as SWDx1e3
DEFAULT_BATCH_SIZE = 64        # images per pyramid batch (memory only; results do not depend on it)


def _filter_axis(x, axis, gain=1.0):
    """1-D binomial filter of [N, H, W, C] along `axis` (1 or 2) with reflect-101 borders.

    SciPy 'mirror' (d c b | a b c d | c b a) = cv2 BORDER_REFLECT_101, the official mode.
    """
    return ndimage.correlate1d(x, BINOMIAL_TAPS * gain, axis=axis, mode="mirror")


def pyr_down(x):
    """Official `pyr_down` (= cv2.pyrDown): 5x5 filter, keep even rows/columns.

    [N, H, W, C] -> [N, H/2, W/2, C] float64; the filter is separable, so each axis is filtered
    and subsampled in turn (same values, half the work).
    """
    x = _filter_axis(np.asarray(x, np.float64), 1)[:, ::2]
    return _filter_axis(x, 2)[:, :, ::2]


def pyr_up(x):
    """Official `pyr_up` (= cv2.pyrUp): zero insertion, 5x5 filter x4. [N,H,W,C] -> [N,2H,2W,C].

    Separable: zeros inserted and filtered (gain 2) along H, then along W.
    """
    x = np.asarray(x, np.float64)
    n, h, w, c = x.shape
    rows = np.zeros((n, 2 * h, w, c))
    rows[:, ::2] = x
    rows = _filter_axis(rows, 1, PYR_UP_GAIN_PER_AXIS)
    full = np.zeros((n, 2 * h, 2 * w, c))
    full[:, :, ::2] = rows
    return _filter_axis(full, 2, PYR_UP_GAIN_PER_AXIS)


def num_levels_for(resolution, min_resolution=MIN_RESOLUTION):
    """Pyramid levels as official: resolution, resolution/2, ... while >= min_resolution."""
    levels = 0
    while resolution >= min_resolution:
        levels += 1
        resolution //= 2
    return levels


def laplacian_pyramid(images, num_levels):
    """Laplacian pyramid, full resolution first: `num_levels` float32 arrays [N, H/2^k, W/2^k, C].

    Same as official `generate_laplacian_pyramid`: level k = G_k - pyrUp(G_{k+1}); the last level is
    the low-pass image G_{num_levels-1}.
    """
    gaussians = [np.asarray(images, np.float64)]
    for _ in range(1, num_levels):
        gaussians.append(pyr_down(gaussians[-1]))
    levels = [g - pyr_up(g_next) for g, g_next in zip(gaussians[:-1], gaussians[1:])]
    levels.append(gaussians[-1])
    return [level.astype(np.float32) for level in levels]


def draw_centres(rng, num_images, num_per_image, height, width, nhood_size=NHOOD_SIZE):
    """Random descriptor centres [num_images * num_per_image, 2] as (y, x), fully inside the image.

    Official: x = randint(H, W - H), then y = randint(H, H_img - H) with H = nhood_size // 2.
    """
    half = nhood_size // 2
    count = num_images * num_per_image
    x = rng.randint(half, width - half, size=count)
    y = rng.randint(half, height - half, size=count)
    return np.stack([y, x], axis=1)


def sample_descriptors(level, num_per_image, rng=None, centres=None, nhood_size=NHOOD_SIZE):
    """Neighbourhood descriptors of one pyramid level: [N * num_per_image, C * nhood^2] float32.

    level: [N, H, W, C]. Descriptor i belongs to image i // num_per_image (official order) and is
    flattened channel-major (C, dy, dx) as the official NCHW code. `centres` ([N*num_per_image, 2],
    (y, x)) overrides drawing from `rng`.
    """
    level = np.asarray(level, np.float32)
    n, h, w, c = level.shape
    half = nhood_size // 2
    if centres is None:
        centres = draw_centres(rng if rng is not None else np.random, n, num_per_image, h, w, nhood_size)
    centres = np.asarray(centres)
    if centres.shape != (n * num_per_image, 2):
        raise ValueError(f"centres must have shape {(n * num_per_image, 2)}, got {centres.shape}")
    ys, xs = centres[:, 0], centres[:, 1]
    if ys.min() < half or xs.min() < half or ys.max() >= h - half or xs.max() >= w - half:
        raise ValueError("descriptor centres must keep the neighbourhood inside the image")
    image = np.arange(n * num_per_image) // num_per_image
    offsets = np.arange(-half, half + 1)
    # Index arrays broadcast to [M, nhood, nhood]; the gather gives [M, nhood, nhood, C].
    patches = level[image[:, None, None],
                    ys[:, None, None] + offsets[None, :, None],
                    xs[:, None, None] + offsets[None, None, :]]
    # [M, nhood, nhood, C] -> [M, C, nhood, nhood] -> [M, C * nhood^2] (official channel-major layout).
    return patches.transpose(0, 3, 1, 2).reshape(len(image), -1)


def normalize_descriptors(desc, num_channels):
    """Official `finalize_descriptors`: per channel, subtract mean and divide by std over the set.

    desc: [M, C * P] float32, channel-major; normalised in place (and returned) to keep the memory
    at one copy of the set. Statistics are accumulated in float64. A zero std (a constant channel,
    e.g. a flat Laplacian level) is left undivided; the official code would return NaN there.
    """
    per_channel = desc.reshape(desc.shape[0], num_channels, -1)  # view [M, C, P]
    for c in range(num_channels):
        block = per_channel[:, c]
        mean = block.mean(dtype=np.float64)
        std = block.std(dtype=np.float64)
        block -= np.float32(mean)
        block /= np.float32(std if std > 0 else 1.0)
    return desc


def draw_directions(rng, dim, dir_repeats=DIR_REPEATS, dirs_per_repeat=DIRS_PER_REPEAT):
    """Random unit directions [dir_repeats, dim, dirs_per_repeat] float32 (official: randn,
    normalised per direction)."""
    dirs = []
    for _ in range(dir_repeats):
        d = rng.randn(dim, dirs_per_repeat)
        d /= np.sqrt(np.sum(np.square(d), axis=0, keepdims=True))
        dirs.append(d.astype(np.float32))
    return np.stack(dirs)


def sliced_wasserstein(a, b, dir_repeats=DIR_REPEATS, dirs_per_repeat=DIRS_PER_REPEAT, rng=None,
                       directions=None):
    """Official `sliced_wasserstein`: mean |sorted projections of a - of b|, averaged over repeats.

    a, b: [M, D] normalised descriptors (same shape). `directions` ([repeats, D, dirs]) is used as
    given instead of drawing from `rng`. Returns a Python float (not yet x 1e3).
    """
    if a.ndim != 2 or a.shape != b.shape:
        raise ValueError(f"descriptor sets must be 2-D with equal shapes, got {a.shape} and {b.shape}")
    if directions is None:
        directions = draw_directions(rng if rng is not None else np.random, a.shape[1], dir_repeats,
                                     dirs_per_repeat)
    results = []
    for dirs in directions:
        proj_a = np.sort(a @ dirs, axis=0)  # [M, dirs]: each direction's projections, sorted
        proj_b = np.sort(b @ dirs, axis=0)
        results.append(np.mean(np.abs(proj_a - proj_b), dtype=np.float64))
    return float(np.mean(results))


def level_resolutions(resolution, min_resolution=MIN_RESOLUTION):
    """The pyramid's resolutions, full first: e.g. 256 -> [256, 128, 64, 32, 16]."""
    return [resolution >> k for k in range(num_levels_for(resolution, min_resolution))]


def image_descriptors(images, num_levels, *, descriptors_per_image=DESCRIPTORS_PER_IMAGE, rng=None,
                      centres=None, batch_size=DEFAULT_BATCH_SIZE):
    """Normalised descriptors of an image set, one [N * per_image, C * 49] array per pyramid level.

    images: [N, H, W, C] uint8. `centres`: optional list (one per level) of [N * per_image, 2]
    arrays; otherwise drawn from `rng` for the whole set, level by level, before any batching.
    """
    n, h, w, c = images.shape
    if centres is None:
        centres = [draw_centres(rng, n, descriptors_per_image, h >> k, w >> k)
                   for k in range(num_levels)]
    dim = c * NHOOD_SIZE * NHOOD_SIZE
    # Memory: N * per_image * C * 49 float32 per level (7000 images x 128 x 147 x 4 B = 0.5 GB).
    per_level = [np.empty((n * descriptors_per_image, dim), np.float32) for _ in range(num_levels)]
    for start in range(0, n, batch_size):
        stop = min(start + batch_size, n)
        rows = slice(start * descriptors_per_image, stop * descriptors_per_image)
        for k, level in enumerate(laplacian_pyramid(images[start:stop], num_levels)):
            per_level[k][rows] = sample_descriptors(level, descriptors_per_image,
                                                    centres=centres[k][rows])
    return [normalize_descriptors(d, c) for d in per_level]


def _check_sets(reals, fakes, min_resolution):
    """Both sets: uint8 [N, R, R, C], same shape, R >= min_resolution and halvable down to it."""
    for name, x in (("reals", reals), ("fakes", fakes)):
        if x.ndim != 4 or x.dtype != np.uint8:
            raise UserError(f"SWD: {name} must be uint8 images [N, H, W, C], got {x.dtype} {x.shape}")
    if reals.shape != fakes.shape:
        raise UserError(f"SWD: reals {reals.shape} and fakes {fakes.shape} must have the same count "
                        "and image size (use min(#reals, #fakes) images at one resolution)")
    h, w = reals.shape[1:3]
    levels = num_levels_for(h, min_resolution)
    if h != w or levels == 0 or h % (1 << (levels - 1)):
        raise UserError(f"SWD: images must be square, at least {min_resolution}x{min_resolution} and "
                        f"halvable down to it, got {h}x{w}")
    return levels


def swd(reals, fakes, *, seed=0, min_resolution=MIN_RESOLUTION,
        descriptors_per_image=DESCRIPTORS_PER_IMAGE, dir_repeats=DIR_REPEATS,
        dirs_per_repeat=DIRS_PER_REPEAT, batch_size=DEFAULT_BATCH_SIZE):
    """SWD x 1e3 per pyramid level and averaged, as official PGAN
    (docs/design.md#sliced-wasserstein-distance).

    reals, fakes: uint8 [N, R, R, C] with the same N (official: 16384 images). Returns
    {"levels": {"256": ..., ..., "16": ...}, "avg": ...}, keys = level resolutions, full first.
    Memory, as official: every level's descriptors of both sets at once, 2 x N x 128 x 147 x 4
    bytes per level (7000 images at 256x256, 5 levels: about 5 GB).
    """
    reals, fakes = np.asarray(reals), np.asarray(fakes)
    num_levels = _check_sets(reals, fakes, min_resolution)
    rng = np.random.RandomState(seed)
    desc_reals = image_descriptors(reals, num_levels, descriptors_per_image=descriptors_per_image,
                                   rng=rng, batch_size=batch_size)
    desc_fakes = image_descriptors(fakes, num_levels, descriptors_per_image=descriptors_per_image,
                                   rng=rng, batch_size=batch_size)
    dists = [SWD_SCALE * sliced_wasserstein(a, b, dir_repeats, dirs_per_repeat, rng=rng)
             for a, b in zip(desc_reals, desc_fakes)]
    resolutions = level_resolutions(reals.shape[1], min_resolution)
    return {"levels": {str(r): d for r, d in zip(resolutions, dists)}, "avg": float(np.mean(dists))}
