"""The augmentation experiment of paper §3.7 / Fig. 8: does GAN data help a classifier more than
standard augmentation when real data is scarce?

Protocol: pick `per_class_real` (paper: 100) real training images per class with a seeded draw
(the same pick for every arm; classes with fewer real images use all of them, noted); each arm adds
`per_class_extra` (paper: 1000) images per class to that pick:

* `real`: nothing (the pick alone).
* `standard`: Augmentor copies of the picked images (paper §3.1 operations: rotation ±90° at true
  geometry, flips, zoom, skew; no fill colour; `pgan_tf.data.augment`, which also handles the probability quirk of
  docs/design.md#augmentor-quirks). Extra image k of class c is copy k // n_c + 1 of
  picked image k % n_c.
* `gan:RUN`: samples of that run's EMA generator at its latest checkpoint (latents as
  `pgan-export` with the experiment seed), resized to the dataset's resolution when the
  run's differs (noted). `gan:RUN@ckpt-N`: at the checkpoint `ckpt-N` (N = images seen, its file
  name in RUN/checkpoints or RUN/checkpoints/milestones) instead, e.g. the best one of
  `pgan-evaluate --checkpoints all` (pgan-reproduce fig8). results.json records the checkpoint of
  every gan arm.

For each arm a ResNet-18 (paper §3.3 recipe) is trained `repeats` times with classifier seeds
seed .. seed + repeats - 1 and evaluated on the real val split; results are mean ± std of accuracy
and balanced accuracy, with a 95 % percentile-bootstrap interval over the val images ("interval",
`metrics/intervals.py`; the mean over classifier seeds inside each resample). Every other arm is
compared with `real` on the same val images ("vs_real": the paired bootstrap of the difference,
classifier seed k against real's seed k, overall and per class with each class's n). GAN arms
draw their latents with `gan_sample_seed` (default: `seed`), so that fakes a checkpoint was chosen
with (`pgan-evaluate --seed`) need not be the fakes the classifier trains on. Only real images of the train split are picked: synthetic (`--extra_train`)
and Augmentor records of a prepared dataset are left out by their ids in dataset.json.
"""
import dataclasses
import os
import re
import sys
from typing import Optional

import numpy as np

from pgan_tf import fileio
from pgan_tf.config_fields import SEED_RANGE, field
from pgan_tf.data.record_ids import real_indices
from pgan_tf.errors import UserError
from pgan_tf.metrics import intervals
from pgan_tf.sampling import MAX_SEED
from pgan_tf.eval import image_sets, reports, sample_export
from pgan_tf.eval import gan_accuracy as gtt
from pgan_tf.eval.classifier import ClassifierConfig
from pgan_tf.eval.imagenet_weights import check_weights_flag, resolve_classifier_weights
from pgan_tf.training.run_dir import checkpoint_numbers

REAL, STANDARD, GAN_PREFIX = "real", "standard", "gan:"
CHECKPOINT_MARK = "@ckpt-"           # gan:RUN_DIR@ckpt-N: the run's checkpoint of N images seen
PER_CLASS_REAL = 100      # paper §3.7: 100 real images per class
PER_CLASS_EXTRA = 1000    # paper §3.7: "increased with 1k images"
RESULTS_JSON, RESULTS_MD, RESULTS_PNG = "results.json", "results.md", "results.png"


@dataclasses.dataclass(frozen=True)
class ExperimentConfig:
    """One experiment; `arms` are strings 'real', 'standard', 'gan:RUN_DIR' or
    'gan:RUN_DIR@ckpt-N'."""

    data_dir: str = field(dataclasses.MISSING, "Prepared dataset with train and val splits.")
    output_dir: str = field(dataclasses.MISSING, "Output folder (must not exist unless "
                            "--overwrite).")
    arms: tuple = field((REAL, STANDARD), "Training sets: real, standard (Augmentor) and/or "
                        "gan:RUN_DIR (its latest checkpoint) or gan:RUN_DIR@ckpt-N (its checkpoint "
                        "of N images seen).")
    per_class_real: int = field(PER_CLASS_REAL, "Real training images picked per class (§3.7).",
                                lo=1)
    per_class_extra: int = field(PER_CLASS_EXTRA, "Extra images per class of each arm (§3.7: 1k).",
                                 lo=1)
    repeats: int = field(1, "Classifier seeds per arm (mean ± std).", lo=1)
    classifier: ClassifierConfig = field(ClassifierConfig(), "The classifier recipe (paper "
                                         "§3.3).", nested=True, exclude=("balanced",))
    seed: int = field(0, "Seed of the real pick, the augmentation and GAN latents; classifier "
                      "seeds are seed .. seed + repeats - 1.", **SEED_RANGE)
    gan_sample_seed: Optional[int] = field(
        None, "Seed of the GAN arms' latents (default: --seed); pgan-reproduce draws them apart "
        "from the fakes its checkpoints were chosen with.", kind="int", **SEED_RANGE)
    overwrite: bool = field(False, "Replace an existing --output_dir.")
    progress: bool = field(True, "Print progress lines and classifier epochs.")


@dataclasses.dataclass(frozen=True)
class Arm:
    name: str           # as given on the command line
    kind: str           # real | standard | gan
    run_dir: str = None
    checkpoint: Optional[int] = None   # gan: images seen of the checkpoint (None: the latest)


def _gan_arm(text):
    """Arm of 'gan:RUN_DIR' or 'gan:RUN_DIR@ckpt-N'; UserError for a malformed checkpoint."""
    spec = text[len(GAN_PREFIX):]
    run_dir, mark, number = spec.rpartition(CHECKPOINT_MARK)
    if not mark:
        return Arm(text, "gan", spec)
    if not run_dir or not re.fullmatch(r"\d+", number):
        raise UserError(f"--arms: {text!r}: use gan:RUN_DIR or gan:RUN_DIR@ckpt-N (N = images "
                        "seen, as in the checkpoint's file name)")
    return Arm(text, "gan", run_dir, int(number))


def parse_arms(texts):
    """['real', 'standard', 'gan:RUN', 'gan:RUN@ckpt-N'] -> [Arm]; UserError for unknown or
    repeated arms."""
    arms = []
    for text in texts:
        text = text.strip()
        if text in (REAL, STANDARD):
            arms.append(Arm(text, text))
        elif text.startswith(GAN_PREFIX) and text[len(GAN_PREFIX):]:
            arms.append(_gan_arm(text))
        else:
            raise UserError(f"--arms: unknown arm {text!r}; use real, standard or gan:RUN_DIR"
                            "[@ckpt-N]")
    names = [a.name for a in arms]
    if not arms or len(set(names)) != len(names):
        raise UserError(f"--arms: need at least one arm and no repeats, got {','.join(names)}")
    return arms


def validate_experiment(config):
    """Check everything checkable without TensorFlow; returns (arms, dataset root, dataset.json)."""
    arms = parse_arms(config.arms)
    check_weights_flag(config.classifier.weights_path)
    for name in ("per_class_real", "per_class_extra", "repeats"):
        if getattr(config, name) < 1:
            raise UserError(f"--{name} must be > 0, got {getattr(config, name)}")
    if config.gan_sample_seed is not None and not 0 <= config.gan_sample_seed <= MAX_SEED:
        raise UserError(f"--gan_sample_seed must be in [0, {MAX_SEED}], got "
                        f"{config.gan_sample_seed}")
    root, info = image_sets.find_dataset_root(config.data_dir) if os.path.isdir(
        config.data_dir) else (None, None)
    if root is None:
        raise UserError(f"--data_dir={config.data_dir} is not a prepared dataset (no "
                        "dataset.json); run pgan-prepare")
    for split in ("train", "val"):
        if not os.path.isdir(os.path.join(root, split)):
            raise UserError(f"--data_dir={root} has no {split} split; the experiment trains on "
                            "train and evaluates on val")
    for arm in arms:
        if arm.kind == "gan":
            saved = sample_export.read_run(arm.run_dir, flag=f"--arms {arm.name}: run_dir")
            if sorted(saved.get("classes", [])) != sorted(info["classes"]):
                raise UserError(f"--arms {arm.name}: the run's classes {saved.get('classes')} "
                                f"differ from the dataset's {info['classes']}")
            _check_checkpoint(arm)
    sample_export.check_output_dir(config.output_dir, config.overwrite, inputs=[
        ("--data_dir", config.data_dir)] + [(f"--arms {a.name}", a.run_dir) for a in arms])
    return arms, root, info


def _check_checkpoint(arm):
    """UserError when a gan arm names a checkpoint its run does not have (file names only)."""
    have = checkpoint_numbers(arm.run_dir)
    if arm.checkpoint is not None and arm.checkpoint not in have:
        listed = ", ".join(f"ckpt-{n}" for n in have) or "none"
        raise UserError(f"--arms {arm.name}: {arm.run_dir} has no checkpoint ckpt-{arm.checkpoint}"
                        f" (it has: {listed}); name one of those, or gan:RUN_DIR for the latest")


def pick_reals(labels, candidates, class_names, per_class, seed):
    """Seeded pick of `per_class` candidate indices per class -> (sorted indices, notes)."""
    rng = np.random.RandomState(seed)
    picked, notes = [], []
    for c, name in enumerate(class_names):
        pool = candidates[labels[candidates] == c]
        if len(pool) < per_class:
            notes.append(f"class {name} has {len(pool)} real training images (< {per_class}): "
                         "all are used")
        picked.append(np.sort(rng.permutation(pool)[:per_class]))
    return np.concatenate(picked), notes


def standard_extra(images, labels, indices, num_classes, per_class, seed):
    """Augmentor copies: per class `per_class` images cycling over its picked images."""
    from pgan_tf.data import augment

    transform = augment.build_pipeline(augment.DEFAULT_SPEC).torch_transform()
    out_images, out_labels = [], []
    for c in range(num_classes):
        pool = indices[labels[indices] == c]
        for k in range(per_class if len(pool) else 0):
            source = pool[k % len(pool)]
            # Copy number k // n + 1 of record `source`: the dataset seed scheme of augment.py.
            out_images.append(augment.augment_image(images[source], transform, seed, int(source),
                                                    k // len(pool) + 1))
            out_labels.append(c)
    return np.stack(out_images), np.array(out_labels, np.int64)


def gan_extra(run_dir, class_names, per_class, seed, resolution, checkpoint=None):
    """`per_class` samples per class of the run's EMA generator at the checkpoint of `checkpoint`
    images seen (None: the latest) -> (images, labels, notes, {"checkpoint", "images_seen"})."""
    from pgan_tf.training.generator import restore_run_generator

    # restore_run_generator takes a kimg; N / 1000 as a Python float round-trips to N exactly.
    rg = restore_run_generator(run_dir, "latest" if checkpoint is None else repr(checkpoint / 1000))
    if checkpoint is not None and rg.images_seen != checkpoint:  # a same-kimg neighbour: refuse
        raise UserError(f"--arms gan:{run_dir}@ckpt-{checkpoint}: the run lists no such "
                        f"checkpoint (found {rg.checkpoint})")
    images = [sample_export.generate_class(rg, rg.class_names.index(name), per_class, seed)
              for name in class_names]
    images = np.concatenate(images)
    notes = []
    if images.shape[1] != resolution:
        notes.append(f"gan:{run_dir}: {images.shape[1]}x{images.shape[1]} samples resized to "
                     f"{resolution}x{resolution}")
        images = image_sets.resize_images(images, resolution)
    used = {"checkpoint": rg.checkpoint, "images_seen": int(rg.images_seen)}
    return images, np.repeat(np.arange(len(class_names)), per_class), notes, used


def sample_seed(config):
    """Seed of the GAN arms' latents."""
    return config.seed if config.gan_sample_seed is None else config.gan_sample_seed


def _arm_data(arm, train, picked, config, root_notes):
    """(training images, labels) of one arm (the pick plus its extra images), and the checkpoint
    a gan arm sampled ({} for the others)."""
    names, base = train.class_names, (train.images[picked], train.labels[picked])
    if arm.kind == REAL:
        return base[0], base[1], {}
    used = {}
    if arm.kind == STANDARD:
        extra = standard_extra(train.images, train.labels, picked, len(names),
                               config.per_class_extra, config.seed)
    else:
        *extra, notes, used = gan_extra(arm.run_dir, names, config.per_class_extra,
                                        sample_seed(config), train.resolution, arm.checkpoint)
        root_notes += notes
    return np.concatenate([base[0], extra[0]]), np.concatenate([base[1], extra[1]]), used


def run_experiment(config):
    """Run every arm, write OUT/results.json, results.md and results.png; returns the results."""
    arms, root, info = validate_experiment(config)
    # "imagenet" → the cached converted file and its sha256, before any work (fails fast offline).
    config = dataclasses.replace(config, classifier=resolve_classifier_weights(
        config.classifier, config.progress))
    train = image_sets.load_prepared_split(root, "train")
    val = image_sets.load_prepared_split(root, "val", train.resolution)
    names = train.class_names
    picked, notes = pick_reals(train.labels, real_indices(info, len(train)), names,
                               config.per_class_real, config.seed)
    from pgan_tf.data import augment

    # The standard arm's copies are made now (this code's rule); the dataset's own copies (not
    # used by any arm's pick) keep the rule they were prepared with.
    results = {"data_dir": os.path.abspath(root), "classes": list(names),
               "rotation_rule": {"standard_arm": augment.current_rotation_rule(),
                                 "dataset": augment.rotation_rule(info)},
               "per_class_real": config.per_class_real, "per_class_extra": config.per_class_extra,
               "seed": config.seed, "gan_sample_seed": sample_seed(config),
               "repeats": config.repeats,
               "classifier": config.classifier.to_dict(),
               "pretrained": config.classifier.pretrained,
               "weights_sha256": config.classifier.weights_sha256,
               "num_val": len(val), "resolution": train.resolution,
               "pick": {"counts": {n: int((train.labels[picked] == c).sum())
                                   for c, n in enumerate(names)}, "indices": picked.tolist()},
               "arms": {}, "notes": notes}
    for arm in arms:
        _status(f"arm {arm.name}: building the training set", config.progress)
        images, labels, used = _arm_data(arm, train, picked, config, results["notes"])

        def score(seed, images=images, labels=labels):
            from pgan_tf.eval.classifier import train_classifier

            cfg = gtt.with_seed(config.classifier, seed)
            model = train_classifier(images, labels, len(names), cfg, config.progress)
            return gtt.evaluate_model(model, val.images, val.labels, names, cfg, len(images),
                                      keep_predictions=True)

        _status(f"arm {arm.name}: training on {len(images)} images", config.progress)
        entry = gtt.repeat_over_seeds(score, config.repeats, config.classifier.seed)
        entry.update(kind=arm.kind, run_dir=arm.run_dir and os.path.abspath(arm.run_dir),
                     **used, num_train=int(len(images)),
                     train_counts={n: int((labels == c).sum()) for c, n in enumerate(names)})
        results["arms"][arm.name] = entry
    add_intervals(results["arms"], val.labels, names)
    write_outputs(results, config)
    return results


def add_intervals(arms, labels, class_names):
    """Each arm's "interval" (bootstrap over the val images of its mean over classifier seeds)
    and, beside a `real` arm, "vs_real" (the paired difference to it, seed k against seed k)."""
    preds = {name: [run["predictions"] for run in arm["runs"]] for name, arm in arms.items()}
    for name, arm in arms.items():
        arm["interval"] = intervals.bootstrap(labels, preds[name], class_names)
        if name != REAL and REAL in arms:
            arm["vs_real"] = intervals.bootstrap(labels, preds[name], class_names,
                                                 base=preds[REAL])


def results_markdown(results):
    """The Fig. 8 style table: arm, training images, accuracy and balanced accuracy mean ± std
    with the bootstrap interval, and the paired difference to `real`; then per-class recall."""
    lines = [f"Validation on {results['num_val']} real images; {results['per_class_real']} real "
             f"images per class + {results['per_class_extra']} extra per class; "
             f"{results['repeats']} classifier seed(s), "
             f"{'pretrained' if results['pretrained'] else 'from scratch'}. [95 % bootstrap "
             "interval over the val images]", "",
             "| arm | training images | accuracy (%) | balanced accuracy (%) | accuracy - real "
             "(points, paired) |", "|---|---|---|---|---|"]
    for name, arm in results["arms"].items():
        acc, bal = arm["accuracy"], arm["balanced_accuracy"]
        interval = arm.get("interval", {})
        diff = arm.get("vs_real", {}).get("accuracy")
        lines.append(f"| {name} | {arm['num_train']} | {_pm(acc)} {_ci(interval.get('accuracy'))}"
                     f" | {_pm(bal)} {_ci(interval.get('balanced_accuracy'))} | "
                     f"{_diff(diff)} |")
    lines += ["", "Per-class recall (%) [95 % interval]; n = val images of the class:", ""]
    names = results["classes"]
    support = {c: (arm["interval"]["per_class_recall"][c] or {}).get("n", 0)
               for arm in list(results["arms"].values())[:1] if "interval" in arm for c in names}
    lines += ["| arm | " + " | ".join(f"{c} (n={support.get(c, '?')})" for c in names) + " |",
              "|---|" + "---|" * len(names)]
    for name, arm in results["arms"].items():
        recall = arm.get("interval", {}).get("per_class_recall", {})
        lines.append(f"| {name} | " + " | ".join(_ci(recall.get(c), value=True) for c in names)
                     + " |")
    lines += [""] + [f"Note: {n}" for n in results["notes"]]
    return "\n".join(lines).rstrip() + "\n"


def _ci(entry, value=False):
    """'[61.2, 70.3]' (percent) of an interval entry; with `value`, '65.8 [61.2, 70.3]'."""
    if not entry:
        return "–" if value else ""
    text = f"[{100 * entry['low']:.1f}, {100 * entry['high']:.1f}]"
    return f"{100 * entry['value']:.1f} {text}" if value else text


def _diff(entry):
    """'+2.4 [-1.0, +5.8]' (points) of a paired difference, '' without one."""
    if not entry:
        return ""
    return (f"{100 * entry['value']:+.1f} [{100 * entry['low']:+.1f}, "
            f"{100 * entry['high']:+.1f}]")


def write_outputs(results, config):
    """results.json, results.md and results.png, installed together (temp folder, rename)."""
    from pgan_tf.eval.evaluate import write_json

    with sample_export.staged_output(config.output_dir, config.overwrite) as tmp:
        write_json(results, os.path.join(tmp, RESULTS_JSON))
        fileio.write_bytes(os.path.join(tmp, RESULTS_MD), results_markdown(results).encode())
        arms = list(results["arms"].values())
        labels = [_short(name) for name in results["arms"]]
        reports.save_bar_chart(labels, [100 * a["accuracy"]["mean"] for a in arms],
                               os.path.join(tmp, RESULTS_PNG),
                               "Validation accuracy per training set (paper Fig. 8)",
                               stds=[100 * a["accuracy"]["std"] for a in arms])


def _pm(value):
    """'81.25 ± 1.30' (percent) of a {"mean", "std"} fraction."""
    return f"{100 * value['mean']:.2f} ± {100 * value['std']:.2f}"


def _short(arm_name):
    """Bar label: 'gan:<run folder name>' instead of the whole path."""
    if arm_name.startswith(GAN_PREFIX):
        return GAN_PREFIX + os.path.basename(os.path.normpath(arm_name[len(GAN_PREFIX):]))
    return arm_name


def _status(message, progress):
    if progress:
        print(message, file=sys.stderr, flush=True)
