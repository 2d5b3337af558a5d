"""KID (pgan_tf/metrics/kid.py) against explicit double loops, and the Fréchet distance of
pgan_tf/metrics/fid.py against the eigenvalues of Σ1Σ2 (an independent route to Tr sqrtm)."""
import numpy as np
import pytest

from pgan_tf.metrics import fid, kid


def _loop_kernel(a, b):
    """(aᵀb / d + 1)³ written out with a Python sum."""
    return (sum(x * y for x, y in zip(a, b)) / len(a) + 1.0) ** 3


def _loop_mmd2(x, y):
    """Unbiased MMD² by explicit double loops over every pair (Bińkowski et al. 2018, eq. 3)."""
    m, n = len(x), len(y)
    xx = sum(_loop_kernel(x[i], x[j]) for i in range(m) for j in range(m) if i != j)
    yy = sum(_loop_kernel(y[i], y[j]) for i in range(n) for j in range(n) if i != j)
    xy = sum(_loop_kernel(x[i], y[j]) for i in range(m) for j in range(n))
    return xx / (m * (m - 1)) + yy / (n * (n - 1)) - 2.0 * xy / (m * n)


@pytest.mark.parametrize("seed, m, n", [(0, 5, 5), (1, 4, 7), (2, 6, 3)])
def test_mmd2_matches_explicit_double_loops(seed, m, n):
    rng = np.random.RandomState(seed)
    x, y = rng.randn(m, 4), rng.randn(n, 4) + 0.5
    expected = _loop_mmd2(x.tolist(), y.tolist())
    assert kid.mmd2_unbiased(x, y) == pytest.approx(expected, rel=1e-10)
    assert kid.mmd2_unbiased(y, x) == pytest.approx(expected, rel=1e-10)   # symmetric


def test_the_kernel_is_the_cubic_polynomial_of_the_paper():
    x = np.array([[1.0, 2.0]])
    y = np.array([[3.0, -1.0], [0.0, 0.0]])
    # (1*3 + 2*(-1)) / 2 + 1 = 1.5 -> 3.375; with zeros: (0 + 1)^3 = 1
    np.testing.assert_allclose(kid.polynomial_kernel(x, y), [[3.375, 1.0]])


def test_kid_over_subsets_is_the_mean_of_loop_estimates_on_the_same_draws():
    rng = np.random.RandomState(3)
    reals, fakes = rng.randn(9, 3), rng.randn(7, 3) * 1.5
    got = kid.kid(reals, fakes, num_subsets=4, subset_size=5, seed=11)
    draw = np.random.RandomState(11)
    values = []
    for _ in range(4):   # the documented draw order: reals' subset, then fakes'
        r = reals[draw.choice(9, 5, replace=False)]
        f = fakes[draw.choice(7, 5, replace=False)]
        values.append(_loop_mmd2(r.tolist(), f.tolist()))
    assert got["value"] == pytest.approx(np.mean(values), rel=1e-10)
    assert got["std"] == pytest.approx(np.std(values), rel=1e-8) and got["std"] > 0
    assert (got["num_subsets"], got["subset_size"], got["num_reals"], got["num_fakes"]) == \
        (4, 5, 9, 7)


def test_kid_uses_whole_sets_smaller_than_the_subset_size_and_is_about_zero_for_one_law():
    rng = np.random.RandomState(4)
    reals, fakes = rng.randn(6, 3), rng.randn(5, 3)
    got = kid.kid(reals, fakes, num_subsets=3, subset_size=1000, seed=0)
    assert got["subset_size"] == 5
    same = kid.kid(reals, reals, num_subsets=2, subset_size=6)
    assert same["value"] == pytest.approx(_loop_mmd2(reals.tolist(), reals.tolist()), rel=1e-10)
    big = np.random.RandomState(5)
    near = kid.kid(big.randn(400, 8), big.randn(400, 8), num_subsets=3, subset_size=200)
    far = kid.kid(big.randn(400, 8), big.randn(400, 8) + 1.0, num_subsets=3, subset_size=200)
    assert abs(near["value"]) < 0.05 < far["value"]   # unbiased: ~0 for one distribution


def test_kid_refuses_too_few_features():
    with pytest.raises(ValueError, match="at least 2"):
        kid.mmd2_unbiased(np.zeros((1, 3)), np.zeros((4, 3)))
    with pytest.raises(ValueError, match="shapes differ"):
        kid.kid(np.zeros((4, 3)), np.zeros((4, 2)))


def _frechet_by_eigenvalues(mu1, s1, mu2, s2):
    """Tr sqrtm(Σ1Σ2) = Σ sqrt(λ_i) over the eigenvalues of Σ1Σ2 (real, >= 0 for SPD Σ1, Σ2:
    Σ1Σ2 is similar to Σ1^½ Σ2 Σ1^½); no matrix square root is taken."""
    eigenvalues = np.linalg.eigvals(s1 @ s2)
    trace_sqrt = np.sum(np.sqrt(np.clip(eigenvalues.real, 0, None)))
    return float(np.sum((mu1 - mu2) ** 2) + np.trace(s1) + np.trace(s2) - 2 * trace_sqrt)


@pytest.mark.parametrize("seed, dim", [(0, 3), (1, 7), (2, 12)])
def test_frechet_distance_matches_the_eigenvalues_of_the_covariance_product(seed, dim):
    rng = np.random.RandomState(seed)
    a, b = rng.randn(dim, dim), rng.randn(dim, dim)
    s1, s2 = a @ a.T + 0.1 * np.eye(dim), b @ b.T + 0.1 * np.eye(dim)
    mu1, mu2 = rng.randn(dim), rng.randn(dim)
    expected = _frechet_by_eigenvalues(mu1, s1, mu2, s2)
    assert fid.frechet_distance(mu1, s1, mu2, s2) == pytest.approx(expected, rel=1e-8)
