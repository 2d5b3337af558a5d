"""Intervals a reader can use: percentile bootstrap over the evaluation images, and Student-t
intervals over seeds (GAN seeds). NumPy and SciPy only; one implementation for pgan-evaluate,
pgan-experiment and pgan-reproduce.

Bootstrap (Efron's percentile method): resample b draws n of the n evaluation images with
replacement — row b of `np.random.default_rng(seed).integers(0, n, (resamples, n))` — and
recomputes accuracy, balanced accuracy (mean recall over the classes present in the resample,
as `gan_accuracy.classification_metrics` over the whole set) and per-class recall. The interval is
the (1 - level) / 2 and (1 + level) / 2 percentiles of those values. Several classifiers scored
on the same images (classifier seeds: `predictions` [R, n]) are averaged inside each resample.
`base` gives the paired difference: both prediction sets are resampled with the same images, so
the interval of (ours - base) does not pay twice for the images' sampling noise.

Over seeds: mean, sample std (ddof = 1), the values, and the t-interval
mean ± t_{(1+level)/2, n-1} · std / sqrt(n); with 3 seeds t = 4.30, so the half-width is 2.48 std.
"""
import numpy as np

LEVEL = 0.95            # 95 % intervals
RESAMPLES = 1000        # bootstrap resamples (percentile endpoints need >= 1000)
_CHUNK = 100            # resamples processed at a time: bounds memory at 100 x n counts


def _runs(predictions, n):
    """Predictions as int [R, n] (one row per classifier scored on the same n images)."""
    preds = np.asarray(predictions, np.int64)
    preds = preds[np.newaxis] if preds.ndim == 1 else preds
    if preds.ndim != 2 or preds.shape[1] != n:
        raise ValueError(f"predictions must be [n] or [R, n] with n = {n}, got {preds.shape}")
    return preds


def _count(labels, k, weights=None):
    """Per row b of labels [B, n]: how many (or how much weight) of each class -> [B, K]."""
    rows = labels.shape[0]
    flat = (np.arange(rows)[:, np.newaxis] * k + labels).ravel()
    counts = np.bincount(flat, None if weights is None else weights.ravel(), minlength=rows * k)
    return counts.reshape(rows, k)


def _stats(y, preds, idx, k):
    """Accuracy [B], balanced accuracy [B] and per-class recall [B, K] (NaN: class not drawn) of
    each resample (rows of idx [B, n]), averaged over the runs of `preds` [R, n]."""
    drawn = y[idx]                                   # [B, n] true class of every drawn image
    support = _count(drawn, k)                       # [B, K]
    acc, bal, rec = 0.0, 0.0, 0.0
    with np.errstate(invalid="ignore", divide="ignore"):
        for p in preds:
            correct = (p == y)[idx]                  # [B, n]
            recall = _count(drawn, k, correct) / np.where(support > 0, support, np.nan)
            acc = acc + correct.mean(axis=1)
            bal = bal + np.nanmean(recall, axis=1)
            rec = rec + recall
    r = len(preds)
    return acc / r, bal / r, rec / r


def _all_stats(y, preds, base, idx, k):
    """`_stats` of preds, minus those of `base` on the same resamples when given."""
    out = _stats(y, preds, idx, k)
    if base is not None:
        out = tuple(a - b for a, b in zip(out, _stats(y, base, idx, k)))
    return out


def _entry(value, samples, level):
    """{"value", "low", "high"} (None when every resample lacked the quantity)."""
    samples = samples[~np.isnan(samples)]
    if np.isnan(value) or samples.size == 0:
        return None
    low, high = np.percentile(samples, [50 * (1 - level), 50 * (1 + level)])
    return {"value": float(value), "low": float(low), "high": float(high)}


def bootstrap(y_true, predictions, class_names, *, base=None, resamples=RESAMPLES, seed=0,
              level=LEVEL):
    """Percentile-bootstrap intervals of accuracy, balanced accuracy and per-class recall over
    the evaluation images (module docstring); with `base` (same shape as `predictions`) of the
    paired difference predictions - base.

    y_true: int [n]; predictions: int [n] or [R, n]. Returns {"method", "level", "resamples",
    "seed", "difference", "accuracy": {"value", "low", "high"}, "balanced_accuracy": ...,
    "per_class_recall": {name: {"value", "low", "high", "n"} or None when n = 0}}, n = support.
    """
    y = np.asarray(y_true, np.int64)
    n, k = len(y), len(class_names)
    if n == 0 or resamples < 1 or not 0 < level < 1:
        raise ValueError(f"bootstrap needs images, resamples >= 1 and 0 < level < 1 (got n={n}, "
                         f"resamples={resamples}, level={level})")
    preds = _runs(predictions, n)
    base = None if base is None else _runs(base, n)
    point = _all_stats(y, preds, base, np.arange(n)[np.newaxis], k)
    idx = np.random.default_rng(seed).integers(0, n, size=(resamples, n))
    parts = [_all_stats(y, preds, base, idx[i:i + _CHUNK], k)
             for i in range(0, resamples, _CHUNK)]
    acc, bal, rec = (np.concatenate(p) for p in zip(*parts))
    support = np.bincount(y, minlength=k)
    per_class = {}
    for c, name in enumerate(class_names):
        entry = _entry(point[2][0, c], rec[:, c], level) if support[c] else None
        per_class[name] = entry and {**entry, "n": int(support[c])}
    return {"method": "percentile bootstrap over the evaluation images"
                      + (", paired" if base is not None else ""),
            "level": level, "resamples": resamples, "seed": seed,
            "difference": base is not None,
            "accuracy": _entry(point[0][0], acc, level),
            "balanced_accuracy": _entry(point[1][0], bal, level),
            "per_class_recall": per_class}


def over_seeds(values, level=LEVEL, bounds=None):
    """{"n", "values", "mean", "std", "low", "high"} of one number per seed: sample std (ddof=1)
    and the Student-t interval of the mean (low/high None with fewer than 2 seeds). `bounds`
    (lo, hi): the range the quantity can take (an accuracy in %, a difference of two); with 3
    seeds the t-interval is 2.48 std either side and can pass it, so it is clipped to it."""
    from scipy import stats

    v = np.asarray(list(values), np.float64)
    if v.size == 0:
        raise ValueError("over_seeds needs at least one value")
    std = float(v.std(ddof=1)) if v.size > 1 else 0.0
    low = high = None
    if v.size > 1:
        half = float(stats.t.ppf((1 + level) / 2, v.size - 1)) * std / np.sqrt(v.size)
        low, high = float(v.mean()) - half, float(v.mean()) + half
        if bounds is not None:
            low, high = max(low, float(bounds[0])), min(high, float(bounds[1]))
    return {"n": int(v.size), "values": v.tolist(), "mean": float(v.mean()), "std": std,
            "level": level, "low": low, "high": high}
