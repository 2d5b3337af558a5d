"""metrics/intervals.py against an independent NumPy reference: a plain loop over the resamples
(same seeded draws), each scored image by image; the t-interval against its textbook formula."""
import numpy as np
import pytest

from pgan_tf.metrics import intervals

NAMES = ("A", "B", "C", "D")


def _data(n=60, seed=3):
    rng = np.random.RandomState(seed)
    y = rng.choice(4, size=n, p=[0.5, 0.3, 0.15, 0.05])
    preds = np.where(rng.rand(2, n) < 0.7, y, rng.randint(0, 4, size=(2, n)))  # 2 classifiers
    return y, preds


def _reference_stats(y, preds, sample):
    """Accuracy, balanced accuracy and per-class recall of one resample, averaged over runs."""
    accs, bals, recs = [], [], []
    for p in preds:
        yt, yp = y[sample], p[sample]
        recall = [np.mean(yp[yt == c] == c) if np.any(yt == c) else np.nan for c in range(4)]
        accs.append(np.mean(yt == yp))
        bals.append(np.nanmean(recall))
        recs.append(recall)
    return np.mean(accs), np.mean(bals), np.mean(recs, axis=0)


def _reference(y, preds, base, resamples, seed):
    idx = np.random.default_rng(seed).integers(0, len(y), size=(resamples, len(y)))
    rows = []
    for sample in idx:
        ours = _reference_stats(y, preds, sample)
        if base is not None:
            theirs = _reference_stats(y, base, sample)
            ours = tuple(np.subtract(a, b) for a, b in zip(ours, theirs))
        rows.append(ours)
    acc = np.array([r[0] for r in rows])
    bal = np.array([r[1] for r in rows])
    rec = np.array([r[2] for r in rows])
    return acc, bal, rec


@pytest.mark.parametrize("paired", [False, True])
def test_bootstrap_matches_a_loop_over_the_same_resamples(paired):
    y, preds = _data()
    base = np.roll(preds, 5, axis=1) if paired else None
    got = intervals.bootstrap(y, preds, NAMES, base=base, resamples=1000, seed=7)
    acc, bal, rec = _reference(y, preds, base, 1000, 7)
    assert got["resamples"] == 1000 and got["level"] == 0.95 and got["difference"] is paired
    for key, samples in (("accuracy", acc), ("balanced_accuracy", bal)):
        assert [got[key]["low"], got[key]["high"]] == pytest.approx(
            np.percentile(samples, [2.5, 97.5]), abs=1e-12)
    point = _reference_stats(y, preds, np.arange(len(y)))
    if paired:
        point = tuple(np.subtract(a, b) for a, b in zip(
            point, _reference_stats(y, base, np.arange(len(y)))))
    assert got["accuracy"]["value"] == pytest.approx(point[0])
    assert got["balanced_accuracy"]["value"] == pytest.approx(point[1])
    for c, name in enumerate(NAMES):
        entry = got["per_class_recall"][name]
        assert entry["n"] == int((y == c).sum())
        column = rec[:, c][~np.isnan(rec[:, c])]
        assert [entry["low"], entry["high"]] == pytest.approx(
            np.percentile(column, [2.5, 97.5]), abs=1e-12)
        assert entry["value"] == pytest.approx(point[2][c])


def test_bootstrap_golden_cases_and_width():
    y = np.repeat([0, 1], 200)
    perfect = intervals.bootstrap(y, y, ("a", "b"))
    assert perfect["accuracy"] == {"value": 1.0, "low": 1.0, "high": 1.0}
    same = intervals.bootstrap(y, y, ("a", "b"), base=y)   # paired with itself: exactly 0
    assert same["balanced_accuracy"] == {"value": 0.0, "low": 0.0, "high": 0.0}
    # 70 % correct on 400 images: the interval is close to the normal one, ±1.96 sqrt(pq/n).
    pred = np.where(np.arange(400) % 10 < 7, y, 1 - y)
    got = intervals.bootstrap(pred * 0 + y, pred, ("a", "b"), resamples=4000, seed=1)["accuracy"]
    half = 1.96 * np.sqrt(0.7 * 0.3 / 400)
    assert got["value"] == pytest.approx(0.7)
    assert got["low"] == pytest.approx(0.7 - half, abs=0.01)
    assert got["high"] == pytest.approx(0.7 + half, abs=0.01)
    # A class absent from the evaluation set has no recall and no interval.
    assert intervals.bootstrap(y, y, ("a", "b", "c"))["per_class_recall"]["c"] is None
    with pytest.raises(ValueError, match="predictions must be"):
        intervals.bootstrap(y, y[:5], ("a", "b"))


def test_over_seeds_is_the_student_t_interval():
    got = intervals.over_seeds([0.70, 0.65, 0.73])
    mean, std = np.mean([0.70, 0.65, 0.73]), np.std([0.70, 0.65, 0.73], ddof=1)
    half = 4.302652729911275 * std / np.sqrt(3)          # t_{0.975, 2}
    assert got["values"] == [0.70, 0.65, 0.73] and got["n"] == 3
    assert (got["mean"], got["std"]) == pytest.approx((mean, std))
    assert (got["low"], got["high"]) == pytest.approx((mean - half, mean + half))
    one = intervals.over_seeds([0.5])
    assert (one["std"], one["low"], one["high"]) == (0.0, None, None)


def test_over_seeds_clips_the_interval_to_the_quantity_s_range():
    # 71.6 +- 21.0 over 3 seeds: the t-interval reaches 123.8 %, an accuracy cannot.
    free = intervals.over_seeds([85.3, 47.3, 82.0])
    assert free["high"] > 100.0
    got = intervals.over_seeds([85.3, 47.3, 82.0], bounds=(0.0, 100.0))
    assert got["high"] == 100.0 and got["low"] == pytest.approx(free["low"])
    assert got["mean"] == pytest.approx(free["mean"]) and got["std"] == pytest.approx(free["std"])
    values = [-90.0, -10.0, -95.0]
    low = intervals.over_seeds(values, bounds=(-100.0, 100.0))
    assert intervals.over_seeds(values)["low"] < -100.0
    assert low["low"] == -100.0 and low["high"] == pytest.approx(intervals.over_seeds(values)["high"])
