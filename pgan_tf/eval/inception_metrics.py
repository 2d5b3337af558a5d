"""`--metrics fid,kid,fid_keras` of `pgan-evaluate`: the Inception-feature metrics of one (reals,
fakes) pair, overall and per class.

* `fid`: the standard FID, on TensorFlow's 2015-12-05 Inception graph (`metrics/inception_graph.py`,
  TTUR's network and feed) with TTUR's Fréchet distance (`metrics/fid.py`).
* `kid`: the Kernel Inception Distance on the same `pool_3` features (`metrics/kid.py`), mean ±
  std over `kid_subsets` random subsets of `kid_subset_size` images per set.
* `fid_keras`: the older variant on Keras' InceptionV3 from a weights file
  (`--inception_weights`); comparable only between runs of this tool.

Every entry names its network (and the graph's sha256 or the weights file) and holds
`per_class`: the same metric on the images of each class (reals and fakes of that class), or
`{"value": null, "skipped": why}` where a class has fewer than 2 images on a side or FID fails
numerically. Small classes bias FID upwards (its covariance needs thousands of images); KID is
unbiased and the better per-class statistic. The reals' features are computed once per network
and reused for every checkpoint.
"""
import hashlib
import os
import warnings

import numpy as np

from pgan_tf.errors import UserError
from pgan_tf.metrics import fid as keras_fid
from pgan_tf.metrics import inception_graph, kid

METRICS = ("fid", "kid", "fid_keras")
GRAPH_METRICS = ("fid", "kid")          # the metrics of the 2015-12-05 graph's features
KERAS_NETWORK = "Keras InceptionV3 (keras.applications, user weights file, global average pool)"
MIN_PER_SIDE = 2                        # a covariance / an unbiased MMD needs 2 images per set


def requested(config):
    """The Inception metrics among `config.metrics`, in METRICS order."""
    return tuple(m for m in METRICS if m in config.metrics)


def validate(config):
    """Cheap checks (no TensorFlow, no network) of the flags the requested metrics need."""
    wanted = requested(config)
    if "fid_keras" in wanted:
        if not config.inception_weights:
            raise UserError("--metrics fid_keras needs --inception_weights PATH, a Keras "
                            "InceptionV3 weights file made once with internet access "
                            "(docs/evaluation.md); --metrics fid needs no file")
        if not os.path.isfile(config.inception_weights):
            raise UserError(f"--inception_weights={config.inception_weights}: no such file")
    if set(GRAPH_METRICS) & set(wanted):
        inception_graph.check_source(config.inception_graph, config.inception_graph_sha256)
    if config.kid_subsets < 1:
        raise UserError(f"--kid_subsets must be >= 1, got {config.kid_subsets}")
    if config.kid_subset_size < MIN_PER_SIDE:
        raise UserError(f"--kid_subset_size must be >= {MIN_PER_SIDE}, got "
                        f"{config.kid_subset_size}")


def fid_of_features(real_features, fake_features):
    """{"value", "num_reals", "num_fakes"}: TTUR's Fréchet distance of two feature sets."""
    mu_r, sigma_r = keras_fid.activation_statistics(real_features)
    mu_f, sigma_f = keras_fid.activation_statistics(fake_features)
    value = keras_fid.frechet_distance(mu_r, sigma_r, mu_f, sigma_f)
    return {"value": value, "num_reals": len(real_features), "num_fakes": len(fake_features)}


def per_class(score, real_features, fake_features, real_labels, fake_labels, class_names):
    """{class: score(reals of the class, fakes of the class)}, or a skipped entry saying why."""
    out = {}
    for c, name in enumerate(class_names):
        reals, fakes = real_features[real_labels == c], fake_features[fake_labels == c]
        if min(len(reals), len(fakes)) < MIN_PER_SIDE:
            out[name] = {"value": None, "num_reals": len(reals), "num_fakes": len(fakes),
                         "skipped": f"fewer than {MIN_PER_SIDE} images on a side"}
            continue
        try:
            with warnings.catch_warnings():
                # A class has far fewer images than the 2048 feature dimensions: its covariance
                # is singular and the eps retry (TTUR) is the rule, not news.
                warnings.simplefilter("ignore")
                out[name] = score(reals, fakes)
        except (ValueError, UserError) as err:
            out[name] = {"value": None, "num_reals": len(reals), "num_fakes": len(fakes),
                         "skipped": " ".join(str(err).split())}
    return out


class InceptionScorer:
    """The requested Inception metrics of (reals, fakes) pairs; networks loaded once, at
    construction, so a wrong file or an offline machine fails before any other work."""

    def __init__(self, config, cache_dir=None):
        self.metrics, self.progress, self.seed = requested(config), config.progress, config.seed
        self.kid_args = {"num_subsets": config.kid_subsets, "subset_size": config.kid_subset_size}
        self.networks = {}   # name -> (feature function, description)
        if set(GRAPH_METRICS) & set(self.metrics):
            features, info = inception_graph.load_graph_features(
                config.inception_graph, config.inception_graph_sha256, cache_dir=cache_dir,
                progress=config.progress)
            self.networks["graph"] = (features, info)
        if "fid_keras" in self.metrics:
            weights = os.path.abspath(config.inception_weights)
            self.networks["keras"] = (keras_fid.InceptionFeatures(weights),
                                      {"network": KERAS_NETWORK, "weights": weights})
        self._reals = {}     # network -> (content key, features)

    def _features(self, network, images, cache):
        fn = self.networks[network][0]
        if not cache:
            return fn(images, self.progress)
        key = (images.shape, hashlib.sha1(np.ascontiguousarray(images).data).hexdigest())
        if self._reals.get(network, (None,))[0] != key:
            self._reals[network] = (key, fn(images, self.progress))
        return self._reals[network][1]

    def __call__(self, reals, fakes, real_labels=None, fake_labels=None, class_names=()):
        """{metric: entry} for the requested metrics; per class when both label arrays (indices
        into `class_names`) are given."""
        reals, fakes = np.asarray(reals), np.asarray(fakes)
        scores = {"fid": ("graph", fid_of_features),
                  "kid": ("graph", lambda r, f: kid.kid(r, f, seed=self.seed, **self.kid_args)),
                  "fid_keras": ("keras", fid_of_features)}
        out, features = {}, {}
        for metric in self.metrics:
            network, score = scores[metric]
            if network not in features:
                features[network] = (self._features(network, reals, cache=True),
                                     self._features(network, fakes, cache=False))
            real_f, fake_f = features[network]
            try:
                entry = score(real_f, fake_f)
            except ValueError as err:
                raise UserError(f"{metric} failed numerically ({err}); use more images (TTUR "
                                f"recommends at least {keras_fid.FEATURE_DIM})") from err
            entry.update(self.networks[network][1])
            if real_labels is not None and fake_labels is not None:
                entry["per_class"] = per_class(score, real_f, fake_f, np.asarray(real_labels),
                                               np.asarray(fake_labels), class_names)
            out[metric] = entry
        return out


def pair_labels(reals, fakes):
    """(real labels, fake labels) of two ImageSets indexing the reals' class names (fakes matched
    by name), or None when either is unlabelled or the fakes have a class the reals lack."""
    if reals.labels is None or fakes.labels is None:
        return None
    index = {name: i for i, name in enumerate(reals.class_names)}
    if any(name not in index for name in fakes.class_names):
        return None
    remap = np.array([index[name] for name in fakes.class_names], np.int64)
    return np.asarray(reals.labels), remap[np.asarray(fakes.labels)]
