"""`pgan-evaluate --judge_cache`: the real classifier is trained once per data and recipe, read back
with the same predictions, keyed by everything that decides its weights, and never half-written."""
import os

import keras
import numpy as np
import pytest

from pgan_tf.errors import UserError
from pgan_tf.eval import evaluate, judge_cache
from pgan_tf.eval.classifier import ClassifierConfig, build_resnet18, predict

TINY = ClassifierConfig(epochs=1, batch_size=8, width=4, seed=3)
NUM_CLASSES = 3


@pytest.fixture(scope="module")
def toy():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (12, 8, 8, 3), dtype=np.uint8)  # [N, S, S, 3] uint8
    labels = np.arange(12) % NUM_CLASSES
    return images, labels


def _counting_trainer(images, config, calls):
    """Stands in for training (whose cost this test does not need): a ResNet-18 of the recipe's
    width, initialised from the recipe's seed. Read back without that seed, only the kept weights
    can make its predictions equal."""
    def train():
        calls.append(config.seed)
        keras.utils.set_random_seed(config.seed)
        return build_resnet18(NUM_CLASSES, images.shape[1], config.width)
    return train


def test_a_kept_classifier_is_read_back_instead_of_trained_with_the_same_predictions(toy,
                                                                                     tmp_path):
    images, labels = toy
    calls = []
    first, loaded = judge_cache.cached_judge(str(tmp_path), images, labels, NUM_CLASSES, TINY,
                                             _counting_trainer(images, TINY, calls))
    assert (calls, loaded) == ([3], False)
    assert os.listdir(tmp_path) == [os.path.basename(
        judge_cache.judge_path(str(tmp_path), images, labels, NUM_CLASSES, TINY))]
    again, loaded = judge_cache.cached_judge(str(tmp_path), images, labels, NUM_CLASSES, TINY,
                                             _counting_trainer(images, TINY, calls))
    assert (calls, loaded) == ([3], True)  # not trained again
    np.testing.assert_array_equal(predict(again, images), predict(first, images))


def test_the_key_follows_the_images_labels_and_recipe_but_not_where_imagenet_weights_lie(toy):
    images, labels = toy
    key = judge_cache.judge_key(images, labels, NUM_CLASSES, TINY)
    other_pixels = images.copy()
    other_pixels[0, 0, 0, 0] ^= 1
    changed = [judge_cache.judge_key(other_pixels, labels, NUM_CLASSES, TINY),
               judge_cache.judge_key(images, np.roll(labels, 1), NUM_CLASSES, TINY),
               judge_cache.judge_key(images, labels, NUM_CLASSES + 1, TINY),
               judge_cache.judge_key(images, labels, NUM_CLASSES, ClassifierConfig(
                   epochs=1, batch_size=8, width=4, seed=4)),
               judge_cache.judge_key(images, labels, NUM_CLASSES, ClassifierConfig(
                   epochs=1, batch_size=8, width=4, seed=3, balanced=True))]
    assert key not in changed and len(set(changed)) == len(changed)
    here = ClassifierConfig(epochs=1, width=4, weights_path="/a/w.weights.h5", weights_sha256="s")
    there = ClassifierConfig(epochs=1, width=4, weights_path="/b/w.weights.h5", weights_sha256="s")
    assert (judge_cache.judge_key(images, labels, NUM_CLASSES, here)
            == judge_cache.judge_key(images, labels, NUM_CLASSES, there))


def test_an_unreadable_kept_classifier_is_named_and_a_failed_save_leaves_nothing(toy, tmp_path):
    images, labels = toy
    path = judge_cache.judge_path(str(tmp_path), images, labels, NUM_CLASSES, TINY)
    with open(path, "wb") as f:
        f.write(b"not hdf5")
    with pytest.raises(UserError, match="cannot read this cached classifier.*remove it"):
        judge_cache.cached_judge(str(tmp_path), images, labels, NUM_CLASSES, TINY, None)
    os.remove(path)

    class Unsaveable:
        def save_weights(self, name):
            with open(name, "wb") as f:
                f.write(b"half")
            raise OSError("disk full")
    with pytest.raises(OSError, match="disk full"):
        judge_cache.cached_judge(str(tmp_path), images, labels, NUM_CLASSES, TINY, Unsaveable)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("where, message", [("file", "is a file; give a folder"),
                                             ("gs://bucket/judges", "give a local folder")])
def test_judge_cache_must_be_a_local_folder(tmp_path, where, message):
    if where == "file":
        where = str(tmp_path / "f")
        open(where, "w").close()
    with pytest.raises(UserError, match=f"--judge_cache={where}.*{message}"):
        evaluate.validate_eval(evaluate.EvalConfig(output=str(tmp_path / "r.json"),
                                                   fakes="a", reals="b", judge_cache=where))
