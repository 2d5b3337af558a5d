"""Memorization audit (beyond the paper): is any synthetic image a copy of a training image?

Synthetic medical images must not reproduce patients' images. For every sample we find its nearest
real training image in two spaces:

* pixels: images at 64x64 (box-filtered down with PIL LANCZOS when larger, native when smaller),
  distance = RMS difference per pixel value in grey levels (0..255), i.e. the Euclidean distance
  divided by sqrt(H * W * C). An exact copy has distance 0.
* features: penultimate-layer (global-average-pooled) features of a ResNet-18 trained on the real
  images, L2-normalised; distance = cosine distance 1 - cos in [0, 2]. Catches copies that were
  shifted, flipped or recoloured slightly, which pixel distance misses.

The report gives the distribution of both distances (percentiles), the fraction of samples whose
pixel distance is below `threshold` (DEFAULT_THRESHOLD), the same distribution for held-out real
images against the training set when given (the distance between *different* real lesions, the
scale to compare with), and the closest pairs, drawn as `memorization.png` (top row samples,
bottom row their nearest training images, closest first).
"""
import numpy as np

from pgan_tf import sampling
from pgan_tf.eval import image_sets

PIXEL_RESOLUTION = 64        # pixel L2 at 64x64 (or native if smaller)
# Flag default of --memorization_threshold: RMS difference below 8 grey levels (about 3 % of the
# 0..255 range) at 64x64 means the sample matches a training image up to mild noise/compression:
# treat it as a likely copy and look at it.
DEFAULT_THRESHOLD = 8.0
PERCENTILES = (0, 1, 5, 25, 50, 75, 95, 100)
NUM_PAIRS_SHOWN = 8          # columns of memorization.png
CANDIDATES = 4               # float32 nearest candidates re-ranked with exact float64 distances
CHUNK = 256                  # queries per distance block (memory: CHUNK x CANDIDATES x D float64)
# Centre pixel values before the float32 search so squared norms stay small (less rounding).
PIXEL_CENTRE = 127.5


def pixel_vectors(images, size=PIXEL_RESOLUTION):
    """uint8 [N, R, R, C] -> float64 [N, D] pixel vectors at min(R, size) (D = r * r * C)."""
    images = np.asarray(images)
    if images.shape[1] > size:
        images = image_sets.resize_images(images, size)
    return images.reshape(len(images), -1).astype(np.float64)  # [N, r, r, C] -> [N, r*r*C]


def nearest_neighbours(queries, references, candidates=CANDIDATES, chunk=CHUNK, centre=0.0):
    """Nearest row of `references` [M, D] for each row of `queries` [N, D].

    Returns (indices int64 [N], Euclidean distances float64 [N]). Candidates come from a float32
    search with |a - b|^2 = |a|^2 + |b|^2 - 2 a.b; the `candidates` best are re-scored exactly in
    float64 from the differences, so an exact copy gets distance 0.
    """
    queries, references = np.asarray(queries, np.float64), np.asarray(references, np.float64)
    ref32 = (references - centre).astype(np.float32)
    ref_sq = np.einsum("md,md->m", ref32, ref32)
    k = min(candidates, len(references))
    indices = np.empty(len(queries), np.int64)
    distances = np.empty(len(queries), np.float64)
    for start in range(0, len(queries), chunk):
        q = queries[start:start + chunk]
        q32 = (q - centre).astype(np.float32)
        approx = ref_sq[None, :] - 2.0 * (q32 @ ref32.T)  # [n, M]: |b|^2 - 2 a.b (|a|^2 constant)
        best = np.argpartition(approx, k - 1, axis=1)[:, :k]  # [n, k] candidate references
        diff = q[:, None, :] - references[best]                # [n, k, D]
        exact = np.sqrt(np.einsum("nkd,nkd->nk", diff, diff))  # [n, k]
        pick = exact.argmin(axis=1)
        rows = np.arange(len(q))
        indices[start:start + len(q)] = best[rows, pick]
        distances[start:start + len(q)] = exact[rows, pick]
    return indices, distances


def percentiles(values):
    """{"p0": ..., "p50": ..., "p100": ...} of `values` at PERCENTILES, plus the mean."""
    values = np.asarray(values, np.float64)
    out = {f"p{p}": float(np.percentile(values, p)) for p in PERCENTILES}
    out["mean"] = float(values.mean())
    return out


def pixel_distances(fakes, reals):
    """(nearest real index [N], RMS pixel distance [N] in grey levels) at PIXEL_RESOLUTION."""
    f, r = pixel_vectors(fakes), pixel_vectors(reals)
    idx, dist = nearest_neighbours(f, r, centre=PIXEL_CENTRE)
    return idx, dist / np.sqrt(f.shape[1])


def feature_distances(fake_features, real_features):
    """(nearest real index [N], cosine distance [N]) of L2-normalised feature rows."""
    idx, dist = nearest_neighbours(fake_features, real_features)
    return idx, dist ** 2 / 2.0  # unit vectors: |a - b|^2 = 2 - 2 cos = 2 (1 - cos)


def penultimate_features(model, images, batch_size=64):
    """L2-normalised global-average-pooled features [N, F] of the ResNet-18 `model`
    (`classifier.build_resnet18`, layer 'avgpool') for uint8 images [N, S, S, 3]."""
    import keras

    extractor = keras.Model(model.input, model.get_layer("avgpool").output)
    # Eager calls: predict_on_batch would retrace its tf.function for every new batch shape.
    feats = [np.asarray(extractor(images[i:i + batch_size].astype(np.float32), training=False))
             for i in range(0, len(images), batch_size)]
    feats = np.concatenate(feats).astype(np.float64)
    norms = np.linalg.norm(feats, axis=1, keepdims=True)
    return feats / np.maximum(norms, np.finfo(np.float64).tiny)


def memorization_report(fakes, reals, *, threshold=DEFAULT_THRESHOLD, feature_fn=None,
                        held_out=None, png_path=None, num_shown=NUM_PAIRS_SHOWN):
    """Nearest-training-image audit of uint8 samples `fakes` [N, R, R, C] against `reals` [M, ...].

    feature_fn: uint8 images -> L2-normalised features (e.g. `penultimate_features` of a classifier
    trained on the reals); None = pixels only. held_out: real images not in `reals` (e.g. val),
    measured the same way as a reference scale. png_path: where to draw the closest pairs.
    """
    fakes, reals = np.asarray(fakes), np.asarray(reals)
    if fakes.shape[1:] != reals.shape[1:]:
        raise ValueError(f"memorization: samples {fakes.shape[1:]} and training images "
                         f"{reals.shape[1:]} must have the same size")
    idx, dist = pixel_distances(fakes, reals)
    below = dist < threshold
    report = {
        "pixel": {"distance": "RMS difference per pixel value in grey levels (0..255) to the "
                              "nearest training image",
                  "resolution": int(min(fakes.shape[1], PIXEL_RESOLUTION)),
                  **percentiles(dist), "threshold": float(threshold),
                  "fraction_below_threshold": float(below.mean()), "num_below_threshold":
                  int(below.sum())},
        "num_samples": int(len(fakes)), "num_training_images": int(len(reals)),
    }
    feat_dist = None
    if feature_fn is not None:
        real_feats = feature_fn(reals)
        feat_idx, feat_dist = feature_distances(feature_fn(fakes), real_feats)
        report["feature"] = {"distance": "cosine distance of L2-normalised penultimate ResNet-18 "
                                         "features to the nearest training image",
                             **percentiles(feat_dist)}
    if held_out is not None and len(held_out):
        report["held_out_reference"] = {"what": "the same pixel distance for held-out real images "
                                                "(different lesions): the scale of 'not a copy'",
                                        **percentiles(pixel_distances(held_out, reals)[1])}
    order = np.argsort(dist, kind="stable")[:num_shown]
    report["closest_pairs"] = [
        {"sample_index": int(i), "training_index": int(idx[i]), "pixel_rms": float(dist[i]),
         **({"feature_distance": float(feat_dist[i]), "feature_nearest_index": int(feat_idx[i])}
            if feat_dist is not None else {})} for i in order]
    if png_path:
        save_pairs_png(fakes[order], reals[idx[order]], png_path)
        report["png"] = png_path
    return report


def save_pairs_png(samples, nearest, path):
    """Two-row PNG: samples on top, their nearest training images below (uint8 [K, R, R, C])."""
    cols = max(1, len(samples))
    tiles = np.concatenate([samples, nearest])  # row 0 = samples, row 1 = nearest reals
    sampling.save_png(path, sampling.make_grid(tiles, 2, cols))
