"""GAN-train / GAN-test on a toy set whose answers are known, and the metrics by hand."""
import numpy as np
import pytest

from pgan_tf.errors import UserError
from pgan_tf.eval import gan_accuracy as gtt
from pgan_tf.eval.classifier import ClassifierConfig, train_classifier
from tests.eval_fixtures import colour_set

CLASSES = ["RED", "GREEN", "BLUE"]
# Toy recipe (faster than the paper's 50 epochs at lr 0.001; learns this set for seeds 0..5).
TOY = ClassifierConfig(epochs=15, batch_size=8, learning_rate=0.003, width=8, seed=0)


def _one_hot(indices, k):
    probs = np.full((len(indices), k), 0.1)
    probs[np.arange(len(indices)), indices] = 0.9
    return probs


def test_classification_metrics_by_hand():
    y_true = np.array([0, 0, 0, 1, 1, 2])
    y_pred = np.array([0, 1, 0, 1, 1, 0])
    m = gtt.classification_metrics(y_true, _one_hot(y_pred, 4), ["A", "B", "C", "D"])
    assert m["accuracy"] == pytest.approx(4 / 6)
    # Recall A = 2/3, B = 2/2, C = 0/1; D has no true sample and is left out (= sklearn adjusted=False).
    assert m["balanced_accuracy"] == pytest.approx((2 / 3 + 1 + 0) / 3)
    assert m["per_class_recall"] == pytest.approx({"A": 2 / 3, "B": 1.0, "C": 0.0, "D": None})
    assert m["confusion_matrix"] == [[2, 1, 0, 0], [0, 2, 0, 0], [1, 0, 0, 0], [0, 0, 0, 0]]
    assert m["support"] == {"A": 3, "B": 2, "C": 1, "D": 0}
    # Every accuracy carries its bootstrap interval over these six images, recall with its n.
    interval = m["interval"]
    assert interval["resamples"] >= 1000 and interval["level"] == 0.95
    assert interval["accuracy"]["value"] == pytest.approx(4 / 6)
    assert interval["accuracy"]["low"] < 4 / 6 < interval["accuracy"]["high"]
    assert interval["per_class_recall"]["B"] == {"value": 1.0, "low": 1.0, "high": 1.0, "n": 2}
    assert interval["per_class_recall"]["D"] is None


def test_balanced_accuracy_differs_from_accuracy_on_imbalanced_data():
    y_true = np.array([0] * 9 + [1])
    m = gtt.classification_metrics(y_true, _one_hot(np.zeros(10, int), 2), ["NV", "DF"])
    assert m["accuracy"] == pytest.approx(0.9)
    assert m["balanced_accuracy"] == pytest.approx(0.5)


def test_classification_metrics_reject_bad_shapes():
    with pytest.raises(UserError, match="scores"):
        gtt.classification_metrics(np.array([0, 1]), np.zeros((2, 3)), ["A", "B"])
    with pytest.raises(UserError, match="labels"):
        gtt.classification_metrics(np.array([0, 2]), np.zeros((2, 2)), ["A", "B"])




class PoolGenerator:
    """A 'generator' answering class requests with held-out real images, optionally of class + shift."""

    def __init__(self, shift):
        self.images, self.labels = colour_set(7, 12)
        self.shift = shift

    def __call__(self, labels):
        rng = np.random.RandomState(0)
        wanted = (np.asarray(labels) + self.shift) % len(CLASSES)
        return np.stack([self.images[rng.choice(np.flatnonzero(self.labels == c))] for c in wanted])


@pytest.fixture(scope="module")
def toy():
    train = colour_set(0, 12)
    val = colour_set(1, 5)
    requested = np.repeat(np.arange(3), 12)  # class-uniform S_g, labels = conditioning classes
    return train, val, requested


@pytest.fixture(scope="module")
def real_model(toy):
    """The real-train classifier, trained once and shared by the reference and GAN-test."""
    (tx, ty), _, _ = toy
    return train_classifier(tx, ty, len(CLASSES), TOY, progress=False)


@pytest.fixture(scope="module")
def reference(toy, real_model):
    (tx, ty), (vx, vy), _ = toy
    return gtt.real_reference(tx, ty, vx, vy, CLASSES, TOY, model=real_model)


def test_real_reference_is_high_and_recorded(reference):
    assert reference["accuracy"] >= 0.9
    assert reference["num_train"] == 36 and reference["num_test"] == 15
    assert reference["classifier"]["pretrained"] is False
    assert sum(map(sum, reference["confusion_matrix"])) == 15


@pytest.mark.slow  # end to end, minutes on 2 cores: `make test-slow`
def test_gan_train_of_right_class_matches_reference_and_of_wrong_class_is_zero(toy, reference):
    _, (vx, vy), requested = toy
    good = gtt.gan_train(PoolGenerator(0)(requested), requested, vx, vy, CLASSES, TOY)
    wrong = gtt.gan_train(PoolGenerator(1)(requested), requested, vx, vy, CLASSES, TOY)
    assert good["accuracy"] >= reference["accuracy"] - 0.1
    assert good["balanced_accuracy"] >= 0.9
    assert wrong["accuracy"] <= 0.1 and wrong["balanced_accuracy"] <= 0.1


def test_gan_test_of_right_class_is_high_and_of_wrong_class_is_zero(toy, real_model):
    (tx, ty), _, requested = toy
    good = gtt.gan_test(tx, ty, PoolGenerator(0)(requested), requested, CLASSES, TOY, model=real_model)
    wrong_fakes = PoolGenerator(2)(requested)
    wrong = gtt.gan_test(tx, ty, wrong_fakes, requested, CLASSES, TOY)  # trains its own classifier
    assert good["accuracy"] >= 0.9
    assert wrong["accuracy"] <= 0.1
    assert wrong["num_train"] == 36 and wrong["num_test"] == 36
    # Same data, config and seed: training again gives the shared model's answers (seeded recipe).
    reused = gtt.gan_test(tx, ty, wrong_fakes, requested, CLASSES, TOY, model=real_model)
    assert wrong["confusion_matrix"] == reused["confusion_matrix"]


def test_image_sizes_must_match(toy):
    (tx, ty), _, _ = toy
    small = tx[:, :8, :8]
    with pytest.raises(UserError, match="same size"):
        gtt.gan_test(tx, ty, small, ty, CLASSES, TOY)


def test_repeat_over_seeds_aggregates_mean_and_std():
    def fake_run(seed):
        recall_b = None if seed == 4 else 1.0
        return {"accuracy": seed / 10, "balanced_accuracy": 0.5,
                "per_class_recall": {"A": seed / 10, "B": recall_b},
                "confusion_matrix": [[seed, 0], [0, 1]]}

    out = gtt.repeat_over_seeds(fake_run, repeats=3, base_seed=3)
    assert out["seeds"] == [3, 4, 5] and len(out["runs"]) == 3
    assert out["accuracy"]["mean"] == pytest.approx(0.4)
    assert out["accuracy"]["std"] == pytest.approx(0.1)  # sample std of 0.3, 0.4, 0.5
    assert out["balanced_accuracy"] == pytest.approx({"mean": 0.5, "std": 0.0})
    assert out["per_class_recall"]["B"] == pytest.approx({"mean": 1.0, "std": 0.0})  # None skipped
    assert out["confusion_matrix"] == [[12, 0], [0, 3]]
    assert gtt.with_seed(TOY, 9).seed == 9 and gtt.with_seed(TOY, 9).epochs == TOY.epochs
    with pytest.raises(UserError):
        gtt.repeat_over_seeds(fake_run, repeats=0)
