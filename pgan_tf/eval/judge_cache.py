"""A trained real-data classifier (GAN-test's judge and the real reference) kept on disk, so that
the evaluations of several runs on the same data train it once (`pgan-evaluate --judge_cache DIR`;
`pgan-reproduce` evaluates every run of an experiment with one folder).

The file is `DIR/judge-<key>.weights.h5`. The key is a sha256 of everything that decides the
trained weights: the training images and labels, the class count, the classifier recipe (its seed
included; an ImageNet start by its sha256, not by where the file lies) and the TensorFlow version.
Training is deterministic on one machine (the same recipe gives the same weights), so a cached
judge scores as a freshly trained one would there. Weights only (HDF5), never a pickle.
"""
import hashlib
import json
import os

import numpy as np

from pgan_tf import fileio
from pgan_tf.errors import UserError
from pgan_tf.eval.classifier import build_resnet18

# Where the ImageNet start lies and how it was named: not what it is (weights_sha256 is).
_NOT_IN_KEY = ("weights_path", "weights_source")
KEY_CHARS = 32  # 128 bits of the sha256: file names stay short, collisions stay impossible


def judge_key(images, labels, num_classes, config):
    """Hex key of the classifier `config` trains on uint8 `images` [N, S, S, 3] and int `labels`."""
    import tensorflow as tf

    images, labels = np.ascontiguousarray(images), np.asarray(labels, np.int64)
    recipe = {k: v for k, v in config.to_dict().items() if k not in _NOT_IN_KEY}
    header = {"recipe": recipe, "num_classes": int(num_classes), "tensorflow": tf.__version__,
              "images": [list(images.shape), str(images.dtype)]}
    digest = hashlib.sha256(json.dumps(header, sort_keys=True).encode())
    digest.update(memoryview(images).cast("B"))  # no copy (paper scale: ~1.9 GB at 256x256)
    digest.update(labels.tobytes())
    return digest.hexdigest()[:KEY_CHARS]


def judge_path(cache_dir, images, labels, num_classes, config):
    """Where the classifier of these images, labels and recipe is (or would be) kept."""
    key = judge_key(images, labels, num_classes, config)
    return os.path.join(cache_dir, f"judge-{key}.weights.h5")


def cached_judge(cache_dir, images, labels, num_classes, config, train):
    """(model, loaded): the classifier from `cache_dir` when it is there, else `train()`'s model,
    then kept there (written to a temporary name and renamed: never half-written)."""
    path = judge_path(cache_dir, images, labels, num_classes, config)
    if os.path.isfile(path):
        model = build_resnet18(num_classes, np.shape(images)[1], config.width)
        try:
            model.load_weights(path)
        except (OSError, ValueError) as err:
            raise UserError(f"{path}: cannot read this cached classifier ({err}); remove it to "
                            "train it again") from None
        return model, True
    model = train()
    # Keras names the format by the suffix: the temporary name must end in .weights.h5 too.
    with fileio.local_atomic_path(path, "--judge_cache", suffix=".weights.h5") as tmp:
        model.save_weights(tmp)
    return model, False
