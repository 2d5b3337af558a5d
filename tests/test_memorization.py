"""Memorization audit: exact nearest neighbours, copies found at distance 0, report and PNG."""
import numpy as np
import pytest
from PIL import Image

from pgan_tf.eval import memorization as mem


def _brute_force(queries, refs):
    """Independent reference: every pairwise distance, arg-min per query."""
    d = np.sqrt(((queries[:, None, :] - refs[None, :, :]) ** 2).sum(-1))
    return d.argmin(1), d.min(1)


def test_nearest_neighbours_match_brute_force():
    rng = np.random.RandomState(0)
    refs = rng.randint(0, 256, (37, 48)).astype(np.float64)
    queries = np.concatenate([rng.randint(0, 256, (20, 48)), refs[[3, 30]]]).astype(np.float64)
    idx, dist = mem.nearest_neighbours(queries, refs, chunk=7, centre=mem.PIXEL_CENTRE)
    want_idx, want_dist = _brute_force(queries, refs)
    np.testing.assert_array_equal(idx, want_idx)
    np.testing.assert_allclose(dist, want_dist, rtol=1e-12)
    assert dist[-2] == 0.0 and dist[-1] == 0.0 and list(idx[-2:]) == [3, 30]


def test_pixel_distance_is_rms_in_grey_levels_at_64():
    rng = np.random.RandomState(1)
    reals = rng.randint(20, 200, (3, 16, 16, 3)).astype(np.uint8)
    fakes = reals[[2]] + np.uint8(10)             # every value 10 grey levels off real 2
    idx, dist = mem.pixel_distances(fakes, reals)
    assert idx[0] == 2 and dist[0] == pytest.approx(10.0, rel=1e-12)
    big = np.full((1, 128, 128, 3), 77, np.uint8)
    assert mem.pixel_vectors(big).shape == (1, 64 * 64 * 3) and np.all(mem.pixel_vectors(big) == 77)


def _mean_colour_features(images):
    """A stand-in feature extractor: L2-normalised mean colour (1 + mean so it is never 0)."""
    f = 1.0 + images.reshape(len(images), -1, images.shape[-1]).mean(1)
    return f / np.linalg.norm(f, axis=1, keepdims=True)


def test_report_finds_an_exact_copy_and_draws_the_closest_pairs(tmp_path):
    rng = np.random.RandomState(2)
    reals = rng.randint(0, 256, (10, 16, 16, 3)).astype(np.uint8)
    fakes = rng.randint(0, 256, (5, 16, 16, 3)).astype(np.uint8)
    fakes[3] = reals[7]                            # sample 3 copies training image 7
    held_out = rng.randint(0, 256, (4, 16, 16, 3)).astype(np.uint8)
    png = str(tmp_path / "memorization.png")
    r = mem.memorization_report(fakes, reals, threshold=8.0, feature_fn=_mean_colour_features,
                                held_out=held_out, png_path=png)
    first = r["closest_pairs"][0]
    assert (first["sample_index"], first["training_index"], first["pixel_rms"]) == (3, 7, 0.0)
    assert first["feature_distance"] == pytest.approx(0.0, abs=1e-12)
    assert r["pixel"]["p0"] == 0.0 and r["pixel"]["num_below_threshold"] == 1
    assert r["pixel"]["fraction_below_threshold"] == pytest.approx(1 / 5)
    # Uniform noise images differ by ~104 grey levels RMS (sqrt(2) x 255 / sqrt(12)).
    assert 90 < r["held_out_reference"]["p50"] < 120
    assert [p["pixel_rms"] for p in r["closest_pairs"]] == sorted(
        p["pixel_rms"] for p in r["closest_pairs"])
    grid = np.asarray(Image.open(png))
    assert grid.shape == (2 * 64, 5 * 64, 3)       # samples over their nearest reals, 5 columns
    np.testing.assert_array_equal(grid[:64:4, :64:4], grid[64::4, :64:4])  # the copy pair


def test_penultimate_features_of_identical_images_coincide():
    from pgan_tf.eval.classifier import build_resnet18

    model = build_resnet18(3, 16, width=4)
    rng = np.random.RandomState(3)
    images = rng.randint(0, 256, (3, 16, 16, 3)).astype(np.uint8)
    feats = mem.penultimate_features(model, np.concatenate([images, images[:1]]))
    assert feats.shape == (4, 32)                  # 8 x width channels after global pooling
    np.testing.assert_allclose(np.linalg.norm(feats, axis=1), 1.0, rtol=1e-12)
    idx, dist = mem.feature_distances(feats[3:], feats[:3])
    assert idx[0] == 0 and dist[0] == pytest.approx(0.0, abs=1e-12)
