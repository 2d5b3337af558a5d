"""Fréchet Inception Distance (Heusel et al. 2017, "GANs trained by a two time-scale update rule"):
the Fréchet distance of two feature sets (used by every FID of `pgan-evaluate`), and the Keras
InceptionV3 features of `--metrics fid_keras`, from a weights file the user supplies
(docs/design.md#ms-ssim-fid-and-uint8-images). The standard FID's network, the 2015-12-05
Inception graph, is `inception_graph.py`.

FID = ||mu_r - mu_f||² + Tr(S_r + S_f - 2·sqrtm(S_r·S_f)) over the 2048-d global-average-pooled
("pool_3") Inception-v3 activations of real and generated images, as the TTUR code
(bioinf-jku/TTUR) computes it: real part of scipy's `sqrtm`, retried with eps·I added to both
covariances when the product is singular (non-finite square root).

**`fid_keras` is not comparable with published FIDs.** Official PGAN and the TTUR code use the TF1
Inception graph "2015-12-05" (`classify_image_graph_def.pb`, `--metrics fid`). `fid_keras` uses
Keras' `InceptionV3` (ImageNet weights of `keras.applications`), a different network with different
weights and its own preprocessing, so its numbers are comparable between runs of this tool (same
weights file, same image counts), never with FIDs in papers.

Nothing is downloaded: the network is always built with `weights=None` and filled from a file the
user made once on a machine with internet access::

    python -c "import keras; keras.applications.InceptionV3(include_top=False, pooling='avg')\\
.save_weights('inception_v3.weights.h5')"

(the weights of the full model with its top load as well; so should Keras' own legacy
`inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5`, the file `weights="imagenet"` reads.
Whatever the file, loading checks that it replaces every convolution kernel.)
"""
import hashlib
import os
import warnings

import numpy as np

from pgan_tf.errors import UserError

INCEPTION_SIZE = 299        # InceptionV3 input size (Szegedy et al. 2016); TTUR resizes to 299 too
FEATURE_DIM = 2048          # pool_3 activations (docs/design.md#ms-ssim-fid-and-uint8-images)
DEFAULT_BATCH_SIZE = 50     # TTUR's default batch size for the activations
SQRTM_EPS = 1e-6            # TTUR: added to the covariance diagonals when sqrtm is not finite
IMAGINARY_ATOL = 1e-3       # TTUR: largest tolerated imaginary part on the diagonal of sqrtm
MAX_DETAIL = 160            # characters of Keras' own error kept in our one-line message
MAKE_WEIGHTS = ("python -c \"import keras; keras.applications.InceptionV3(include_top=False, "
                "pooling='avg').save_weights('inception_v3.weights.h5')\" on a machine with "
                "internet access (see docs/evaluation.md)")


def frechet_distance(mu1, sigma1, mu2, sigma2, eps=SQRTM_EPS):
    """Fréchet distance between the Gaussians N(mu1, sigma1) and N(mu2, sigma2) (TTUR formula).

    mu: [D] means; sigma: [D, D] covariances. Returns a float. When sqrtm(sigma1·sigma2) is not
    finite (singular product), it is recomputed with `eps`·I added to both covariances, as TTUR
    does; the real part is kept. Raises ValueError when the square root has an imaginary diagonal
    component above IMAGINARY_ATOL (TTUR raises too: the statistics are numerically unusable).
    """
    from scipy import linalg

    mu1 = np.atleast_1d(np.asarray(mu1, np.float64))
    mu2 = np.atleast_1d(np.asarray(mu2, np.float64))
    sigma1 = np.atleast_2d(np.asarray(sigma1, np.float64))
    sigma2 = np.atleast_2d(np.asarray(sigma2, np.float64))
    dim = mu1.shape[0]
    if mu1.shape != mu2.shape or sigma1.shape != (dim, dim) or sigma2.shape != (dim, dim):
        raise ValueError(f"frechet_distance: shapes differ: mu {mu1.shape} / {mu2.shape}, "
                         f"sigma {sigma1.shape} / {sigma2.shape}")
    diff = mu1 - mu2
    covmean = linalg.sqrtm(sigma1 @ sigma2)
    if not np.isfinite(covmean).all():
        warnings.warn(f"FID: sqrtm of a singular covariance product; adding {eps} to the "
                      "diagonals (TTUR)")
        offset = np.eye(dim) * eps
        covmean = linalg.sqrtm((sigma1 + offset) @ (sigma2 + offset))
    if np.iscomplexobj(covmean):
        imaginary = np.abs(np.diagonal(covmean).imag).max()
        if imaginary > IMAGINARY_ATOL:
            raise ValueError(f"frechet_distance: sqrtm has an imaginary component {imaginary:g}")
        covmean = covmean.real
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * np.trace(covmean))


def activation_statistics(features):
    """Mean [D] and covariance [D, D] (ddof=1, as np.cov(rowvar=False)) of features [N, D]."""
    features = np.asarray(features, np.float64)
    if features.ndim != 2 or features.shape[0] < 2:
        raise UserError(f"FID needs at least 2 images, got features of shape {features.shape}")
    return features.mean(axis=0), np.cov(features, rowvar=False)


def build_inception():
    """Keras InceptionV3 without its top, global average pooling (2048-d), random init.

    `weights=None` always: nothing may be downloaded at run time.
    """
    import keras

    return keras.applications.InceptionV3(include_top=False, weights=None, pooling="avg",
                                          input_shape=(INCEPTION_SIZE, INCEPTION_SIZE, 3))


def inception_inputs(images):
    """uint8 [N, H, W, 1 or 3] -> float32 [N, 299, 299, 3] in [-1, 1] (Keras' InceptionV3 input).

    Grey images are tiled to RGB (docs/design.md#ms-ssim-fid-and-uint8-images); bilinear resize
    (half-pixel centres, no antialiasing) on 0..255 values, then
    `keras.applications.inception_v3.preprocess_input` (x / 127.5 - 1).
    """
    import keras
    import tensorflow as tf

    x = tf.cast(images, tf.float32)
    if x.shape[-1] == 1:
        x = tf.tile(x, [1, 1, 1, 3])                                  # [N, H, W, 1] -> [N, H, W, 3]
    x = tf.image.resize(x, (INCEPTION_SIZE, INCEPTION_SIZE), method="bilinear")  # [N, 299, 299, 3]
    return keras.applications.inception_v3.preprocess_input(x)


def _check_images(images):
    images = np.asarray(images)
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[-1] not in (1, 3):
        raise UserError(f"FID: images must be uint8 [N, H, W, 1 or 3], got {images.dtype} "
                        f"{images.shape}")
    return images


def _load_weights(model, weights_path):
    """`model.load_weights(weights_path)`, or a `UserError` naming the file when it does not fit.

    Keras raises for most wrong files (ValueError/OSError/KeyError); a file that silently leaves
    layers at their random initialisation is caught by checking that every convolution kernel
    was replaced (random kernels never equal a loaded one).
    """
    kernels = [layer.kernel for layer in model.layers if hasattr(layer, "kernel")]
    before = [np.array(kernel.numpy()) for kernel in kernels]
    try:
        with warnings.catch_warnings():
            # Keras 3 warns about its own bookkeeping containers of functional models; the layers'
            # weights are matched layer by layer, and a real mismatch raises.
            warnings.filterwarnings("ignore", message="Skipping nested container")
            model.load_weights(weights_path)
    except Exception as err:  # Keras raises several types for wrong files; all are user errors
        detail = str(err).strip().splitlines()[0].rstrip(":") if str(err).strip() else ""
        raise UserError(f"Inception weights {weights_path}: not the weights of Keras' InceptionV3 "
                        f"({type(err).__name__}: {detail[:MAX_DETAIL]}); make them with "
                        f"{MAKE_WEIGHTS}") from err
    unchanged = sum(np.array_equal(k.numpy(), b) for k, b in zip(kernels, before))
    if unchanged:
        raise UserError(f"Inception weights {weights_path}: {unchanged} of {len(kernels)} "
                        "convolution kernels of Keras' InceptionV3 are not in the file; make it "
                        f"with {MAKE_WEIGHTS}")


class InceptionFeatures:
    """2048-d Inception-v3 pool features of uint8 images, from a user-supplied weights file."""

    def __init__(self, weights_path, batch_size=DEFAULT_BATCH_SIZE):
        if batch_size < 1:
            raise UserError(f"FID batch size must be >= 1, got {batch_size}")
        if not weights_path or not os.path.isfile(weights_path):
            raise UserError(f"Inception weights {weights_path}: no such file; make it with "
                            f"{MAKE_WEIGHTS}")
        self.weights_path, self.batch_size = weights_path, batch_size
        self.model = build_inception()
        _load_weights(self.model, weights_path)
        import tensorflow as tf

        self._batch = tf.function(lambda x: self.model(inception_inputs(x), training=False),
                                  reduce_retracing=True)

    def __call__(self, images, progress=False):
        """uint8 [N, H, W, 1 or 3] -> float64 features [N, 2048], in batches of `batch_size`."""
        from tqdm import tqdm

        images = _check_images(images)
        starts = range(0, len(images), self.batch_size)
        out = [np.asarray(self._batch(images[i:i + self.batch_size]), np.float64)
               for i in tqdm(starts, desc="inception", unit="batch", disable=not progress,
                             mininterval=0.5)]
        return np.concatenate(out) if out else np.zeros((0, FEATURE_DIM))


class FidScorer:
    """FID of (reals, fakes) pairs with one loaded network, as the entry `pgan-evaluate` writes.

    The reals' statistics are cached by content: every checkpoint of a run is compared with the
    same seeded draw of real images, so their activations are computed once.
    """

    def __init__(self, weights_path, batch_size=DEFAULT_BATCH_SIZE, progress=False):
        self.features = InceptionFeatures(weights_path, batch_size)
        self.weights_path, self.progress = weights_path, progress
        self._reals = (None, None)   # (content key, (mu, sigma))

    def __call__(self, reals_u8, fakes_u8):
        """{"value": FID, "num_reals", "num_fakes", "weights": the weights file}."""
        reals_u8, fakes_u8 = _check_images(reals_u8), _check_images(fakes_u8)
        key = (reals_u8.shape, hashlib.sha1(np.ascontiguousarray(reals_u8).data).hexdigest())
        if self._reals[0] != key:
            self._reals = (key, activation_statistics(self.features(reals_u8, self.progress)))
        mu_r, sigma_r = self._reals[1]
        mu_f, sigma_f = activation_statistics(self.features(fakes_u8, self.progress))
        try:
            value = frechet_distance(mu_r, sigma_r, mu_f, sigma_f)
        except ValueError as err:
            raise UserError(f"FID failed numerically ({err}); use more images (TTUR recommends "
                            f"at least {FEATURE_DIM}, ideally 10000)") from err
        return {"value": value, "num_reals": len(reals_u8), "num_fakes": len(fakes_u8),
                "weights": os.path.abspath(self.weights_path)}


def fid(reals_u8, fakes_u8, weights_path, batch_size=DEFAULT_BATCH_SIZE):
    """FID of uint8 images fakes vs reals ([N, H, W, 1 or 3]; sizes may differ) -> float."""
    return FidScorer(weights_path, batch_size)(reals_u8, fakes_u8)["value"]
