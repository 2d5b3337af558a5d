"""fid / kid / fid_keras entries of pgan-evaluate (pgan_tf/eval/inception_metrics.py): overall and
per class, the network each names, the reals' cache, the flag checks. The networks are stubs
(tests/test_inception_graph.py and tests/test_fid.py test the real loaders)."""
import dataclasses

import numpy as np
import pytest

from pgan_tf.errors import UserError
from pgan_tf.eval import evaluate, image_sets
from pgan_tf.eval import inception_metrics as im
from pgan_tf.metrics import fid, inception_graph, kid


class StubNetwork:
    """4-d features: per-channel means and the mean square of the image; calls counted."""

    def __init__(self, *args, **kwargs):
        self.calls = []

    def __call__(self, images, progress=False):
        self.calls.append(len(images))
        x = images.astype(np.float64) / 255.0
        return np.concatenate([x.mean(axis=(1, 2)), (x ** 2).mean(axis=(1, 2, 3))[:, None]], 1)


@pytest.fixture
def stubbed(monkeypatch, tmp_path):
    graph = StubNetwork()
    monkeypatch.setattr(inception_graph, "load_graph_features",
                        lambda *a, **k: (graph, {"network": inception_graph.NETWORK,
                                                 "graph_sha256": "ab" * 32,
                                                 "sha256_pinned": False}))
    monkeypatch.setattr(fid, "InceptionFeatures", StubNetwork)
    weights = tmp_path / "inception.weights.h5"
    weights.write_bytes(b"stub")
    return graph, str(weights)


def _images(labels, seed):
    rng = np.random.RandomState(seed)
    return np.stack([rng.randint(40 * c, 40 * c + 120, (4, 4, 3)) for c in labels]).astype(
        np.uint8)


def _config(**kw):
    return evaluate.EvalConfig(output="r.json", seed=3, progress=False, **kw)


def test_entries_overall_and_per_class_match_the_leaf_metrics(stubbed):
    graph, weights = stubbed
    config = _config(metrics=("fid", "kid", "fid_keras"), inception_weights=weights,
                     kid_subsets=5, kid_subset_size=4)
    scorer = im.InceptionScorer(config)
    real_labels, fake_labels = np.repeat([0, 1, 2], [6, 5, 1]), np.repeat([0, 1, 2], [5, 6, 1])
    reals, fakes = _images(real_labels, 0), _images(fake_labels, 1)
    out = scorer(reals, fakes, real_labels, fake_labels, ("MEL", "NV", "DF"))
    f_r, f_f = StubNetwork()(reals), StubNetwork()(fakes)
    mu_r, s_r = fid.activation_statistics(f_r)
    mu_f, s_f = fid.activation_statistics(f_f)
    assert out["fid"]["value"] == pytest.approx(fid.frechet_distance(mu_r, s_r, mu_f, s_f))
    assert out["fid"]["network"] == inception_graph.NETWORK
    assert out["fid"]["graph_sha256"] == "ab" * 32
    assert out["fid_keras"]["value"] == pytest.approx(out["fid"]["value"])  # same stub features
    assert out["fid_keras"]["network"] == im.KERAS_NETWORK and out["fid_keras"]["weights"]
    assert out["kid"] == {**kid.kid(f_r, f_f, 5, 4, seed=3), "network": inception_graph.NETWORK,
                          "graph_sha256": "ab" * 32, "sha256_pinned": False,
                          "per_class": out["kid"]["per_class"]}
    nv = out["kid"]["per_class"]["NV"]
    assert nv["value"] == pytest.approx(kid.kid(f_r[real_labels == 1], f_f[fake_labels == 1],
                                                5, 4, seed=3)["value"])
    assert (nv["num_reals"], nv["num_fakes"]) == (5, 6)
    assert out["fid"]["per_class"]["MEL"]["num_fakes"] == 5
    assert out["fid"]["per_class"]["DF"] == {"value": None, "num_reals": 1, "num_fakes": 1,
                                             "skipped": "fewer than 2 images on a side"}
    assert graph.calls == [12, 12]                    # one feature pass per set for fid and kid


def test_the_reals_features_are_computed_once_per_network(stubbed):
    graph, _ = stubbed
    scorer = im.InceptionScorer(_config(metrics=("fid",)))
    reals, fakes = _images([0] * 4, 2), _images([0] * 4, 3)
    first = scorer(reals, fakes)
    second = scorer(reals.copy(), fakes[::-1])
    assert graph.calls == [4, 4, 4] and "per_class" not in first
    assert second["fid"]["value"] == pytest.approx(first["fid"]["value"])


def test_pair_labels_match_classes_by_name():
    reals = image_sets.ImageSet(np.zeros((3, 4, 4, 3), np.uint8), np.array([0, 1, 2]),
                                ("MEL", "NV", "DF"), "r", "folder")
    fakes = dataclasses.replace(reals, labels=np.array([0, 1, 1]), class_names=("DF", "MEL"))
    real_labels, fake_labels = im.pair_labels(reals, fakes)
    np.testing.assert_array_equal(fake_labels, [2, 0, 0])
    assert im.pair_labels(reals, dataclasses.replace(fakes, class_names=("DF", "BCC"))) is None
    assert im.pair_labels(reals, dataclasses.replace(fakes, labels=None)) is None


@pytest.mark.parametrize("kw, message", [
    ({"metrics": ("fid_keras",)}, "--metrics fid_keras needs --inception_weights PATH"),
    ({"metrics": ("kid",), "inception_graph": "missing.tgz"}, "missing.tgz: no such file"),
    ({"metrics": ("fid",), "inception_graph_sha256": "xyz"}, "64 hex digits"),
    ({"metrics": ("kid",), "kid_subsets": 0}, "--kid_subsets must be >= 1"),
    ({"metrics": ("kid",), "kid_subset_size": 1}, "--kid_subset_size must be >= 2"),
])
def test_flag_checks(kw, message):
    with pytest.raises(UserError, match=message):
        im.validate(_config(**kw))
