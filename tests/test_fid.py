"""FID (pgan_tf/metrics/fid.py): the Fréchet distance against an independent eigendecomposition
reference, the activation statistics, the Keras Inception weights loader (`fid_keras`) and its
errors, the tool flag."""
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest
import scipy.linalg

from pgan_tf.errors import UserError
from pgan_tf.metrics import fid
from tests.eval_fixtures import tool


def _random_spd(rng, dim):
    a = rng.randn(dim, dim)
    return a @ a.T + 0.1 * np.eye(dim)


def _sqrt_psd(matrix):
    """Symmetric PSD square root by eigendecomposition (independent of scipy's Schur sqrtm)."""
    w, v = np.linalg.eigh(matrix)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def _reference_distance(mu1, s1, mu2, s2):
    # Tr sqrtm(S1 S2) = Tr sqrt(A S2 A) with A = S1^(1/2): S1 S2 = A (A S2 A) A^-1 is similar to the
    # symmetric PSD A S2 A, so both have the same (non-negative) eigenvalues.
    a = _sqrt_psd(s1)
    return (np.sum((mu1 - mu2) ** 2) + np.trace(s1) + np.trace(s2)
            - 2 * np.trace(_sqrt_psd(a @ s2 @ a)))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_frechet_distance_matches_an_eigendecomposition_reference(seed):
    rng = np.random.RandomState(seed)
    mu1, mu2 = rng.randn(6), rng.randn(6)
    s1, s2 = _random_spd(rng, 6), _random_spd(rng, 6)
    expected = _reference_distance(mu1, s1, mu2, s2)
    assert expected > 0
    assert fid.frechet_distance(mu1, s1, mu2, s2) == pytest.approx(expected, rel=1e-8)
    assert fid.frechet_distance(mu2, s2, mu1, s1) == pytest.approx(expected, rel=1e-8)


def test_frechet_distance_is_zero_for_identical_statistics():
    rng = np.random.RandomState(3)
    mu, sigma = rng.randn(8), _random_spd(rng, 8)
    assert fid.frechet_distance(mu, sigma, mu, sigma) == pytest.approx(0.0, abs=1e-8)


def test_frechet_distance_of_diagonal_covariances_has_the_closed_form():
    # Diagonal: sum (mu1 - mu2)^2 + sum (sqrt(s1) - sqrt(s2))^2 = (1 + 0 + 4 + 0)
    # + ((1 - 2)^2 + (2 - 2)^2 + (3 - 1)^2 + (0.5 - 1)^2) = 5 + 5.25, by hand.
    mu1, mu2 = np.array([0.0, 1, 2, 3]), np.array([1.0, 1, 0, 3])
    s1, s2 = np.diag([1.0, 4, 9, 0.25]), np.diag([4.0, 4, 1, 1])
    assert fid.frechet_distance(mu1, s1, mu2, s2) == pytest.approx(10.25, rel=1e-10)


def test_a_singular_product_is_retried_with_eps_on_the_diagonals(monkeypatch):
    rng = np.random.RandomState(4)
    mu1, mu2 = rng.randn(5), rng.randn(5)
    x = rng.randn(3, 5)
    s1, s2 = x.T @ x, _random_spd(rng, 5)          # s1 has rank 3: S1 S2 is singular
    seen, real_sqrtm = [], scipy.linalg.sqrtm

    def sqrtm_failing_once(matrix):
        seen.append(matrix)
        return np.full_like(matrix, np.nan) if len(seen) == 1 else real_sqrtm(matrix)

    monkeypatch.setattr(scipy.linalg, "sqrtm", sqrtm_failing_once)
    with pytest.warns(UserWarning, match="adding 1e-06"):
        value = fid.frechet_distance(mu1, s1, mu2, s2)
    offset = fid.SQRTM_EPS * np.eye(5)
    np.testing.assert_allclose(seen[1], (s1 + offset) @ (s2 + offset), rtol=1e-12)
    # Only the square root uses the offset; the traces are those of the plain covariances.
    expected = (_reference_distance(mu1, s1 + offset, mu2, s2 + offset)
                - 2 * 5 * fid.SQRTM_EPS)
    assert value == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("imaginary, raises", [(1e-6, False), (1e-1, True)])
def test_the_real_part_is_kept_unless_the_imaginary_part_is_large(monkeypatch, imaginary, raises):
    mu, s = np.zeros(3), np.diag([1.0, 4, 9])
    monkeypatch.setattr(scipy.linalg, "sqrtm",
                        lambda m: _sqrt_psd(m) + 1j * imaginary * np.eye(3))
    if raises:
        with pytest.raises(ValueError, match="imaginary"):
            fid.frechet_distance(mu, s, mu, 4 * s)
    else:   # Tr(S + 4S - 2 * 2S) = Tr S = 14
        assert fid.frechet_distance(mu, s, mu, 4 * s) == pytest.approx(14.0, rel=1e-12)


def test_activation_statistics_are_the_mean_and_the_unbiased_covariance():
    features = np.array([[0.0, 0.0], [2.0, 2.0], [4.0, 8.0]])
    mu, sigma = fid.activation_statistics(features)
    # By hand: mean (2, 10/3); deviations x (-2, 0, 2), y (-10/3, -4/3, 14/3); divided by n - 1 = 2.
    np.testing.assert_allclose(mu, [2.0, 10.0 / 3.0])
    np.testing.assert_allclose(sigma, [[4.0, 8.0], [8.0, (100 + 16 + 196) / 9 / 2]])
    with pytest.raises(UserError, match="at least 2 images"):
        fid.activation_statistics(features[:1])


def _numpy_bilinear(images, size):
    """Half-pixel-centre bilinear resize of [N, H, W, C] to size x size, borders clamped."""
    def axis_weights(n_in):
        src = np.clip((np.arange(size) + 0.5) * n_in / size - 0.5, 0, n_in - 1)
        lo = np.floor(src).astype(int)
        return lo, np.minimum(lo + 1, n_in - 1), src - lo

    x = images.astype(np.float64)
    lo, hi, w = axis_weights(x.shape[1])
    x = x[:, lo] * (1 - w)[None, :, None, None] + x[:, hi] * w[None, :, None, None]
    lo, hi, w = axis_weights(x.shape[2])
    return x[:, :, lo] * (1 - w)[None, None, :, None] + x[:, :, hi] * w[None, None, :, None]


def test_inception_inputs_are_bilinear_299_scaled_to_minus_one_one():
    rng = np.random.RandomState(5)
    images = rng.randint(0, 256, (2, 6, 9, 3)).astype(np.uint8)
    expected = _numpy_bilinear(images, 299) / 127.5 - 1.0
    got = np.asarray(fid.inception_inputs(images))
    assert got.shape == (2, 299, 299, 3)
    np.testing.assert_allclose(got, expected, atol=1e-5)
    grey = np.asarray(fid.inception_inputs(images[..., :1]))     # grey is tiled to RGB
    np.testing.assert_allclose(grey, np.repeat(expected[..., :1], 3, axis=-1), atol=1e-5)


@pytest.fixture(scope="module")
def inception(tmp_path_factory):
    """A Keras InceptionV3 (random init, weights=None: nothing downloaded) and its weights file."""
    import keras

    keras.utils.set_random_seed(0)
    model = keras.applications.InceptionV3(include_top=False, weights=None, pooling="avg",
                                           input_shape=(299, 299, 3))
    path = str(tmp_path_factory.mktemp("fid") / "inception_v3.weights.h5")
    model.save_weights(path)
    return model, path


def _images(n, seed):
    return np.random.RandomState(seed).randint(0, 256, (n, 16, 16, 3)).astype(np.uint8)


def test_features_are_those_of_the_saved_network_in_batches(inception):
    model, path = inception
    images = _images(2, 6)
    features = fid.InceptionFeatures(path, batch_size=1)(images)     # two batches of one
    inputs = (_numpy_bilinear(images, 299) / 127.5 - 1).astype(np.float32)
    expected = np.asarray(model(inputs, training=False), np.float64)
    assert features.shape == (2, fid.FEATURE_DIM) and features.dtype == np.float64
    scale = np.abs(expected).max()
    assert scale > 0
    # The loader builds its own randomly initialised network: equal features mean the file's
    # weights were loaded (and the images preprocessed as the NumPy reference does).
    np.testing.assert_allclose(features, expected, atol=1e-4 * scale)


class StubFeatures:
    """Stands in for InceptionFeatures: 3-d features (means and the mean square), calls counted."""

    calls = []

    def __init__(self, weights_path, batch_size=fid.DEFAULT_BATCH_SIZE):
        self.weights_path = weights_path

    def __call__(self, images, progress=False):
        StubFeatures.calls.append(len(images))
        x = images.astype(np.float64) / 255.0
        return np.stack([x.mean(axis=(1, 2, 3)), x[..., 0].mean(axis=(1, 2)),
                         (x ** 2).mean(axis=(1, 2, 3))], axis=1)


def test_scorer_entry_value_and_reals_cache(monkeypatch):
    monkeypatch.setattr(fid, "InceptionFeatures", StubFeatures)
    StubFeatures.calls = []
    reals, fakes = _images(5, 7), _images(4, 8)
    scorer = fid.FidScorer("inception.weights.h5")
    entry = scorer(reals, fakes)
    f_r, f_f = StubFeatures(None)(reals), StubFeatures(None)(fakes)
    expected = _reference_distance(f_r.mean(0), np.cov(f_r, rowvar=False),
                                   f_f.mean(0), np.cov(f_f, rowvar=False))
    assert entry == {"value": pytest.approx(expected, rel=1e-6), "num_reals": 5, "num_fakes": 4,
                     "weights": os.path.abspath("inception.weights.h5")}
    assert scorer(reals.copy(), fakes[::-1])["value"] == pytest.approx(expected, rel=1e-6)
    assert StubFeatures.calls == [5, 4, 5, 4, 4]       # the same reals again: cached statistics
    assert fid.fid(reals, fakes, "inception.weights.h5") == pytest.approx(expected, rel=1e-6)
    assert fid.fid(reals, reals, "inception.weights.h5") == pytest.approx(0.0, abs=1e-9)


def test_missing_weights_file_names_it_and_says_how_to_make_it(tmp_path):
    path = str(tmp_path / "nothing.weights.h5")
    with pytest.raises(UserError, match="nothing.weights.h5: no such file") as err:
        fid.InceptionFeatures(path)
    assert "save_weights" in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize("kind", ["other_model", "not_hdf5"])
def test_a_file_that_does_not_fit_inception_is_a_user_error(tmp_path, kind):
    import keras

    path = str(tmp_path / f"{kind}.weights.h5")
    if kind == "other_model":
        tiny = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(4, 3),
                                 keras.layers.GlobalAveragePooling2D()])
        tiny.save_weights(path)
    else:
        with open(path, "wb") as f:
            f.write(b"not an HDF5 file")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(UserError, match=f"{kind}.weights.h5: not the weights of Keras' "
                                            "InceptionV3") as err:
            fid.InceptionFeatures(path)
    assert "save_weights" in str(err.value) and "\n" not in str(err.value)


def test_a_file_that_leaves_kernels_at_their_random_init_is_refused(inception, monkeypatch):
    import keras

    monkeypatch.setattr(keras.Model, "load_weights", lambda self, path, **kw: None)  # loads nothing
    with pytest.raises(UserError, match="94 of 94 convolution kernels .* are not in the file"):
        fid.InceptionFeatures(inception[1])


@pytest.mark.parametrize("extra, message", [
    ([], "--metrics fid_keras needs --inception_weights PATH"),
    (["--inception_weights=missing.weights.h5"],
     "--inception_weights=missing.weights.h5: no such file"),
])
def test_tool_refuses_fid_keras_without_a_weights_file(tmp_path, extra, message):
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    result = subprocess.run(
        [sys.executable, tool("evaluate"), "--fakes=.", "--reals=.", "--metrics=swd,fid_keras",
         f"--output={out_dir / 'r.json'}", *extra],
        capture_output=True, text=True, timeout=60, cwd=str(tmp_path))
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1 and message in lines[0], result.stderr
    assert not os.listdir(out_dir) and sorted(os.listdir(tmp_path)) == ["out"]
