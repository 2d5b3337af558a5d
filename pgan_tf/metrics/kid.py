"""Kernel Inception Distance (Bińkowski, Sutherland, Arbel and Gretton 2018, "Demystifying MMD
GANs"): the unbiased estimate of the squared maximum mean discrepancy between two feature sets
with the cubic polynomial kernel k(x, y) = (xᵀy / d + 1)³, d the feature dimension.

NumPy only. As the reference implementations (the authors' `compute_scores.py`, torch-fidelity,
clean-fid) do, it is reported over random subsets: `num_subsets` draws of `subset_size` features
of each set without replacement (smaller sets use all their features), mean and standard
deviation (ddof 0, as torch-fidelity) of the per-subset estimates. The defaults are torch-fidelity's
and clean-fid's: 100 subsets of 1000. Unlike FID, the estimate is unbiased, so small classes
(about 100 images in ISIC's DF and VASC) can be compared; it can be slightly negative.
"""
import numpy as np

DEFAULT_SUBSETS = 100        # torch-fidelity's kid_subsets, clean-fid's num_subsets
DEFAULT_SUBSET_SIZE = 1000   # torch-fidelity's kid_subset_size, clean-fid's max_subset_size
KERNEL_DEGREE = 3            # the paper's cubic polynomial kernel
KERNEL_COEF0 = 1.0


def polynomial_kernel(x, y):
    """k(x, y) = (xᵀy / d + 1)³ for all rows: x [M, D], y [N, D] -> [M, N] (float64)."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    return (x @ y.T / x.shape[1] + KERNEL_COEF0) ** KERNEL_DEGREE


def mmd2_unbiased(x, y):
    """Unbiased MMD² of feature sets x [M, D] and y [N, D] (M, N >= 2) with `polynomial_kernel`:
    the means of k over distinct pairs within x and within y, minus twice the mean over x × y."""
    m, n = len(x), len(y)
    if m < 2 or n < 2:
        raise ValueError(f"KID needs at least 2 features per set, got {m} and {n}")
    k_xx, k_yy, k_xy = polynomial_kernel(x, x), polynomial_kernel(y, y), polynomial_kernel(x, y)
    within_x = (k_xx.sum() - np.trace(k_xx)) / (m * (m - 1))   # i != j only: unbiased
    within_y = (k_yy.sum() - np.trace(k_yy)) / (n * (n - 1))
    return float(within_x + within_y - 2.0 * k_xy.mean())


def kid(real_features, fake_features, num_subsets=DEFAULT_SUBSETS,
        subset_size=DEFAULT_SUBSET_SIZE, seed=0):
    """KID of two feature sets [N, D]: {"value" (mean over subsets), "std", "num_subsets",
    "subset_size" (the size used: at most each set's size), "num_reals", "num_fakes"}.

    Subset i draws min(subset_size, n) rows of each set without replacement from
    `np.random.RandomState(seed)` (reals first, then fakes), so a seed gives the same value.
    """
    reals = np.asarray(real_features, np.float64)
    fakes = np.asarray(fake_features, np.float64)
    if reals.ndim != 2 or fakes.ndim != 2 or reals.shape[1] != fakes.shape[1]:
        raise ValueError(f"KID: feature shapes differ: {reals.shape} / {fakes.shape}")
    if num_subsets < 1 or subset_size < 2:
        raise ValueError(f"KID: num_subsets {num_subsets} must be >= 1 and subset_size "
                         f"{subset_size} >= 2")
    size = min(subset_size, len(reals), len(fakes))
    rng = np.random.RandomState(seed)
    values = [mmd2_unbiased(reals[rng.choice(len(reals), size, replace=False)],
                            fakes[rng.choice(len(fakes), size, replace=False)])
              for _ in range(num_subsets)]
    return {"value": float(np.mean(values)), "std": float(np.std(values)),
            "num_subsets": int(num_subsets), "subset_size": int(size),
            "num_reals": len(reals), "num_fakes": len(fakes)}
