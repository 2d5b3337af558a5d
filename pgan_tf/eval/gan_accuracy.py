"""GAN-train, GAN-test and the real reference (Shmelkov et al. 2018;
docs/design.md#gan-train-and-gan-test), with metrics.

GAN-train: train the classifier on generated images (label = conditioning class), test on real val
(recall / diversity). GAN-test: train on real train, test on generated (precision / quality).
Reference: real train -> real val. The same classifier and recipe (`ClassifierConfig`, paper §3.3)
serve all three. Results report accuracy and balanced accuracy (ISIC's metric,
docs/design.md#balanced-accuracy), per-class recall, the confusion matrix and the support, each
accuracy with its 95 % percentile-bootstrap interval over the evaluation images
(`metrics/intervals.py`); `repeat_over_seeds` gives mean ± std over seeds.
"""
import dataclasses

import numpy as np

from pgan_tf.errors import UserError
from pgan_tf.eval import classifier
from pgan_tf.eval.reports import mean_std
from pgan_tf.metrics import intervals


def classification_metrics(y_true, probs, class_names, interval_seed=0):
    """Metrics of arg-max predictions.

    y_true: int [N]; probs: [N, K] scores with K = len(class_names). Returns accuracy,
    balanced_accuracy (mean recall over the classes present in y_true = sklearn
    `balanced_accuracy_score(adjusted=False)`, docs/design.md#balanced-accuracy), per_class_recall
    {name: recall or None when the class has no true sample}, confusion_matrix (K x K list, rows
    = true, columns = predicted), support {name: true count} and "interval": the bootstrap
    intervals of accuracy, balanced accuracy and per-class recall (`intervals.bootstrap`, seeded
    with `interval_seed`).
    """
    y_true, probs = np.asarray(y_true), np.asarray(probs)
    k = len(class_names)
    if probs.ndim != 2 or probs.shape != (len(y_true), k) or len(y_true) == 0:
        raise UserError(f"metrics: need scores [N, {k}] for N >= 1 labels, got {probs.shape} for "
                        f"{len(y_true)} labels")
    if y_true.min() < 0 or y_true.max() >= k:
        raise UserError(f"metrics: labels must be in [0, {k}), got {y_true.min()}..{y_true.max()}")
    y_pred = probs.argmax(axis=1)
    cm = np.zeros((k, k), np.int64)
    np.add.at(cm, (y_true, y_pred), 1)  # cm[true, pred] += 1 for every sample
    support = cm.sum(axis=1)
    present = support > 0
    recall = np.diag(cm)[present] / support[present]
    per_class = {name: None for name in class_names}
    per_class.update({name: float(r) for name, r in zip(np.asarray(class_names)[present], recall)})
    return {
        "accuracy": float(np.trace(cm) / len(y_true)),
        "balanced_accuracy": float(recall.mean()),
        "per_class_recall": per_class,
        "confusion_matrix": cm.tolist(),
        "support": {name: int(s) for name, s in zip(class_names, support)},
        "interval": intervals.bootstrap(y_true, y_pred, class_names, seed=interval_seed),
    }


def evaluate_model(model, images, labels, class_names, config, num_train=None,
                   keep_predictions=False):
    """Metrics of a trained classifier on uint8 images [N, S, S, 3] with int labels [N], plus the
    test size, the training size when known and the classifier config (with `pretrained`);
    `keep_predictions`: also "predictions", the predicted class of every image (paired
    comparisons between classifiers scored on the same images)."""
    images, labels = np.asarray(images), np.asarray(labels)
    classifier.check_images_labels(images, labels, len(class_names), "classifier test set")
    probs = classifier.predict(model, images, config.batch_size)
    metrics = classification_metrics(labels, probs, class_names)
    metrics.update(num_train=num_train, num_test=int(len(images)), classifier=config.to_dict())
    if keep_predictions:
        metrics["predictions"] = probs.argmax(axis=1).tolist()
    return metrics


def _fit_and_score(train_images, train_labels, test_images, test_labels, class_names, config,
                   progress, what, model=None):
    """Train on one set (unless `model` is given), evaluate on the other."""
    test_images, train_images = np.asarray(test_images), np.asarray(train_images)
    if train_images.shape[1:] != test_images.shape[1:]:
        raise UserError(f"{what}: train images {train_images.shape[1:]} and test images "
                        f"{test_images.shape[1:]} must have the same size (resize first)")
    if model is None:
        model = classifier.train_classifier(train_images, train_labels, len(class_names), config,
                                            progress)
    return evaluate_model(model, test_images, test_labels, class_names, config, len(train_images))


def gan_train(fake_images, fake_labels, real_val_images, real_val_labels, class_names, config,
              progress=False):
    """GAN-train: classifier trained on generated images, tested on real validation images."""
    return _fit_and_score(fake_images, fake_labels, real_val_images, real_val_labels, class_names,
                          config, progress, "GAN-train")


def gan_test(real_train_images, real_train_labels, fake_images, fake_labels, class_names, config,
             progress=False, model=None):
    """GAN-test: classifier trained on real training images, tested on generated images.

    `model`: a classifier already trained on exactly these real images with `config` (e.g. the one
    of `real_reference`), reused instead of training again; it does not depend on the generator, so
    one model serves every checkpoint of a run.
    """
    return _fit_and_score(real_train_images, real_train_labels, fake_images, fake_labels, class_names,
                          config, progress, "GAN-test", model)


def real_reference(real_train_images, real_train_labels, real_val_images, real_val_labels, class_names,
                   config, progress=False, model=None):
    """Reference: classifier trained on real training images, tested on real validation images.

    `model`: as for `gan_test` (train it once with `classifier.train_classifier` and pass it to both).
    """
    return _fit_and_score(real_train_images, real_train_labels, real_val_images, real_val_labels,
                          class_names, config, progress, "real reference", model)


def with_seed(config, seed):
    """The same classifier config with another seed (for `repeat_over_seeds`)."""
    return dataclasses.replace(config, seed=seed)


def repeat_over_seeds(fn, repeats, base_seed=0):
    """Run `fn(seed)` for seeds base_seed .. base_seed + repeats - 1 and aggregate its metrics dicts.

    Returns {"seeds", "runs", "accuracy": {"mean", "std"}, "balanced_accuracy": {...},
    "per_class_recall": {name: {"mean", "std"} or None}, "support" (of the first run: every run
    is scored on the same images), "confusion_matrix": summed over runs}. Each run keeps its own
    bootstrap "interval".
    """
    if repeats < 1:
        raise UserError(f"repeats must be >= 1, got {repeats}")
    seeds = [base_seed + i for i in range(repeats)]
    runs = [fn(seed) for seed in seeds]
    result = {"seeds": seeds, "runs": runs}
    for key in ("accuracy", "balanced_accuracy"):
        result[key] = mean_std(run[key] for run in runs)
    if all("per_class_recall" in run for run in runs):
        names = list(runs[0]["per_class_recall"])
        values = {n: [r["per_class_recall"][n] for r in runs if r["per_class_recall"][n] is not None]
                  for n in names}
        result["per_class_recall"] = {n: mean_std(v) if v else None for n, v in values.items()}
    if "support" in runs[0]:
        result["support"] = runs[0]["support"]
    if all("confusion_matrix" in run for run in runs):
        result["confusion_matrix"] = np.sum([run["confusion_matrix"] for run in runs], axis=0).tolist()
    return result
