"""Evaluation driver of `pgan-evaluate`: GAN-train, GAN-test, SWD, MS-SSIM, FID and memorization
of a run's EMA generator (or of any two image sets), written as one JSON file plus PNGs.

Protocol (paper §3.2-3.5; docs/design.md#metrics, docs/design.md#gan-train-and-gan-test):

* Fakes for GAN-train / GAN-test / memorization are class-uniform ("fake_labels": "uniform"):
  `num_per_class` images of every class (paper §3.5: 1000), latents as `pgan-export`
  with the same seed (so they are the images an export with that seed writes).
* GAN-train: ResNet-18 trained on the fakes, tested on the real val split. GAN-test: trained on the
  real train split, tested on the fakes. "real": train -> val, the reference. One real-train
  classifier per seed serves "real", GAN-test, every checkpoint and the memorization features; it
  learns from the train split's real originals only, without Augmentor copies and `--extra_train`
  images (`reals.py` says why; "real_classifier_train" in the JSON records how many it used).
  With `repeats` > 1 the classifier seeds are seed .. seed + repeats - 1 (fakes stay fixed) and
  results are mean ± std; accuracy and balanced accuracy (ISIC's metric,
  docs/design.md#balanced-accuracy).
* SWD (docs/design.md#sliced-wasserstein-distance) compares n = min(#real train, #uniform fakes)
  real training images (a seeded draw) with n fakes conditioned on those images' labels, at the
  run's resolution down to 16; MS-SSIM (docs/design.md#ms-ssim-fid-and-uint8-images) is the mean
  over (even, odd) pairs of those fakes ("ms_ssim"), with the
  reals' value as reference ("ms_ssim_reals"). FID, KID and FID on Keras' InceptionV3
  (`inception_metrics.py`) compare the same two sets, overall and per class.
* `fakes`/`reals` folders: n = min(#reals, #fakes) images of each (seeded), fakes resized to the
  reals' resolution when they differ (noted). A prepared dataset given as reals contributes its
  train split (and its val split as the GAN-train test set and for "real" when present).

`evaluate_generator(fake_source, reals, config)` is the library entry for any generator: a
`fake_source(labels int [N]) -> uint8 [N, R, R, 3]`.
"""
import dataclasses
import os
import sys

import numpy as np

from pgan_tf import fileio
from pgan_tf.data import heldout
from pgan_tf.errors import UserError
from pgan_tf.eval import image_sets, inception_metrics, memorization, report_file, sample_export
from pgan_tf.eval import gan_accuracy as gtt
from pgan_tf.eval.eval_config import EvalConfig, validate_eval  # noqa: F401  (the driver's API)
from pgan_tf.eval.eval_results import (BEST_RULE, CLASSIFIER_METRICS, best_checkpoints,
                                       confusion_images, record_in_run, save_confusion_pngs,
                                       write_json, write_tensorboard)
from pgan_tf.eval.imagenet_weights import resolve_classifier_weights
from pgan_tf.eval.reals import RealClassifiers, Reals, load_reals, originals_of

# docs/design.md#sliced-wasserstein-distance: the pyramid stops at 16x16
SWD_MIN_RESOLUTION = 16
MEMORIZATION_PNG = "memorization.png"
FAKE_LABELS = "uniform"
PAIR_METRICS = {"swd", "ms_ssim", *inception_metrics.METRICS}  # one (reals, fakes) pair


def _repeat(fn, config):
    """fn(seed) once (repeats = 1) or aggregated mean ± std over `repeats` classifier seeds."""
    if config.repeats == 1:
        return fn(config.classifier.seed)
    return gtt.repeat_over_seeds(fn, config.repeats, config.classifier.seed)


def real_reference(reals, config, models):
    """Real train -> real val (docs/design.md#gan-train-and-gan-test "validation accuracy")."""
    names, cfg, train = reals.class_names, config.classifier, models.train
    return _repeat(lambda s: gtt.real_reference(
        train.images, train.labels, reals.val.images, reals.val.labels, names,
        gtt.with_seed(cfg, s), model=models.get(s)), config)


def evaluate_fake_set(fakes, reals, config, models, *, swd_pair=None, png_dir=None, prefix="",
                      fid_scorer=None, pair_labels=None):
    """Requested metrics of labelled fakes (ImageSet) against `reals`.

    swd_pair: (real uint8, fake uint8) sets of equal size for SWD / MS-SSIM / FID (default: the
    fakes and as many reals). PNGs (confusion matrices, memorization.png) go to `png_dir`.
    fid_scorer: `inception_metrics.InceptionScorer` to reuse (default: loaded from the config);
    pair_labels: (real, fake) labels of `swd_pair` for per-class FID / KID (None: overall only).
    """
    names, cfg, out = reals.class_names, config.classifier, {}
    if "gan_train" in config.metrics:
        test = reals.val if reals.val is not None else reals.train
        _status(f"GAN-train: training on {len(fakes)} fakes", config.progress)
        out["gan_train"] = _repeat(lambda s: gtt.gan_train(
            fakes.images, fakes.labels, test.images, test.labels, names, gtt.with_seed(cfg, s),
            config.progress), config)
    if "gan_test" in config.metrics:
        out["gan_test"] = _repeat(lambda s: gtt.gan_test(
            models.train.images, models.train.labels, fakes.images, fakes.labels, names,
            gtt.with_seed(cfg, s), model=models.get(s)), config)
    if swd_pair is None and (PAIR_METRICS & set(config.metrics)):
        n = min(len(fakes), len(reals.train))
        real_subset = image_sets.seeded_subset(reals.train, n, config.seed)
        fake_subset = image_sets.seeded_subset(fakes, n, config.seed)
        swd_pair = (real_subset.images, fake_subset.images)
        pair_labels = inception_metrics.pair_labels(real_subset, fake_subset)
    if "swd" in config.metrics:
        out["swd"] = _swd(*swd_pair, config.seed)
    if "ms_ssim" in config.metrics:
        from pgan_tf.metrics.ms_ssim import ms_ssim_of_set

        out["ms_ssim"] = ms_ssim_of_set(swd_pair[1])
        out["ms_ssim_reals"] = ms_ssim_of_set(swd_pair[0])
    if inception_metrics.requested(config):
        _status(f"{','.join(inception_metrics.requested(config))}: Inception features of "
                f"{len(swd_pair[0])} reals and fakes", config.progress)
        out.update((fid_scorer or _fid_scorer(config))(*swd_pair, *(pair_labels or (None, None)),
                                                       names))
    if "memorization" in config.metrics:
        _status("memorization: nearest training images", config.progress)
        model = models.get(cfg.seed)
        out["memorization"] = memorization.memorization_report(
            fakes.images, reals.train.images, threshold=config.memorization_threshold,
            feature_fn=lambda x: memorization.penultimate_features(model, x, cfg.batch_size),
            held_out=None if reals.val is None else reals.val.images,
            png_path=png_dir and os.path.join(png_dir, prefix + MEMORIZATION_PNG))
    if png_dir:
        save_confusion_pngs(out, names, png_dir, prefix)
    return out


def _swd(reals, fakes, seed):
    """SWD x 1e3 per level and average, or a 'skipped' entry below 16x16
    (docs/design.md#sliced-wasserstein-distance)."""
    from pgan_tf.metrics.swd import swd

    res = reals.shape[1]
    if res < SWD_MIN_RESOLUTION:
        message = (f"SWD skipped: images are {res}x{res}; the official SWD pyramid needs at least "
                   f"{SWD_MIN_RESOLUTION}x{SWD_MIN_RESOLUTION} (docs/design.md#sliced-wasserstein-distance)")
        print(message, file=sys.stderr)
        return {"skipped": message}
    return swd(reals, fakes, seed=seed)


def _fid_scorer(config):
    """The Inception networks (None without fid/kid/fid_keras), loaded before any work so a wrong
    file or an offline machine fails fast."""
    if not inception_metrics.requested(config):
        return None
    return inception_metrics.InceptionScorer(config)


def evaluate_generator(fake_source, reals, config, models=None, *, png_dir=None, prefix="",
                       fid_scorer=None):
    """Metrics of a class-conditional generator `fake_source(labels int [N]) -> uint8 images`.

    Uniform fakes (`num_per_class` per class, labels in `reals.class_names` order) for the
    classifier metrics and memorization; fakes conditioned on a seeded draw of real training
    labels for SWD / MS-SSIM / FID (module docstring).
    """
    config = with_resolved_weights(config)  # a no-op when run_evaluation resolved them
    models = models or RealClassifiers(reals, config.classifier, config.progress,
                                       config.judge_cache)
    names = reals.class_names
    labels = np.repeat(np.arange(len(names)), config.num_per_class)
    _status(f"generating {len(labels)} class-uniform fakes", config.progress)
    fakes = image_sets.ImageSet(np.asarray(fake_source(labels)), labels, tuple(names),
                                "generator", "generated")
    swd_pair = None
    if PAIR_METRICS & set(config.metrics):
        subset = image_sets.seeded_subset(reals.train, min(len(labels), len(reals.train)),
                                          config.seed)
        swd_pair = (subset.images, np.asarray(fake_source(subset.labels)))
    return evaluate_fake_set(fakes, reals, config, models, swd_pair=swd_pair, png_dir=png_dir,
                             prefix=prefix, fid_scorer=fid_scorer,
                             pair_labels=swd_pair and (subset.labels, subset.labels))


def _header(config, mode):
    cfg = config.classifier
    return {"mode": mode, "metrics": list(config.metrics), "seed": config.seed,
            "repeats": config.repeats, "classifier": cfg.to_dict(), "pretrained": cfg.pretrained,
            "weights_sha256": cfg.weights_sha256, "notes": [],
            "judge_cache": config.judge_cache and os.path.abspath(config.judge_cache)}


def evaluate_run(config):
    """Evaluate `config.run_dir` at its latest checkpoint or at every checkpoint ("all")."""
    from pgan_tf.training.checkpoint_index import readable_checkpoints
    from pgan_tf.training.generator import readers_may_move, restore_run_generator

    saved = sample_export.read_run(config.run_dir)
    fid_scorer = _fid_scorer(config)
    rg = restore_run_generator(config.run_dir, "latest")
    heldout_ids = heldout.run_ids(config.run_dir)
    reals = load_reals(config.data_dir, rg.config.resolution, "gan_train" in config.metrics,
                       exclude_ids=heldout_ids)
    reals = dataclasses.replace(reals, **{  # labels re-indexed only: `originals` stay valid
        name: None if s is None else image_sets.align_classes(s, saved["classes"], "dataset")
        for name, s in (("train", reals.train), ("val", reals.val))})
    results = {**_header(config, "run"), "run_dir": fileio.abspath(config.run_dir),
               "data_dir": os.path.abspath(config.data_dir), "fake_labels": FAKE_LABELS,
               "num_per_class": config.num_per_class,
               "num_fakes": config.num_per_class * len(reals.class_names),
               "classes": list(reals.class_names)}
    results["notes"] += reals.train.notes
    if heldout_ids:  # r_v's held-out reals: used by neither training nor evaluation
        results["heldout_left_out"] = {"images": len(heldout_ids),
                                       "train_records": reals.heldout_left_out}
    if reals.val is None:
        results["notes"].append(f"{config.data_dir} has no val split: no 'real' reference")
    models = RealClassifiers(reals, config.classifier, config.progress, config.judge_cache)
    png_dir = os.path.dirname(fileio.abspath(config.output))
    if set(CLASSIFIER_METRICS) & set(config.metrics):
        results["real_classifier_train"] = reals.classifier_record()
    if set(CLASSIFIER_METRICS) & set(config.metrics) and reals.val is not None:
        results["real"] = real_reference(reals, config, models)
        save_confusion_pngs({"real": results["real"]}, reals.class_names, png_dir)
    points = ({rg.images_seen: rg.checkpoint} if config.checkpoints == "latest"
              else readable_checkpoints(config.run_dir, move=readers_may_move(config.run_dir)))
    per_checkpoint, into_run = {}, _run_writable(config.run_dir)
    for images_seen, path in points.items():
        restored = sample_export.at_checkpoint(rg, images_seen, path)
        if restored is None:  # rotated away by a live trainer meanwhile: skipped, the rest kept
            rg = dataclasses.replace(rg, checkpoint=None)  # its weights are now undefined
            continue
        rg = restored
        key = f"{images_seen / 1000:g}"
        per_checkpoint[key] = _evaluate_checkpoint(rg, key, reals, config, models, png_dir,
                                                   fid_scorer, into_run)
    if not per_checkpoint:
        raise UserError(f"--run_dir={config.run_dir}: no checkpoint could be restored for "
                        "evaluation (see the warnings); retry once the run has new checkpoints")
    if config.checkpoints == "latest":
        results.update(per_checkpoint[key])
    else:
        _add_best(results, per_checkpoint)
    return results


def _evaluate_checkpoint(rg, key, reals, config, models, png_dir, fid_scorer, into_run):
    """The results entry of the run generator `rg` at one checkpoint (`key`: its kimg), its PNGs
    and, when the run dir is writable, its TensorBoard summaries."""
    _status(f"checkpoint kimg {key}", config.progress)
    prefix = "" if config.checkpoints == "latest" else f"kimg{key}_"
    entry = {"checkpoint": rg.checkpoint, "images_seen": rg.images_seen,
             "kimg": rg.images_seen / 1000, "stage_resolution": rg.stage_resolution,
             "upsampled": rg.upsampled, "alpha": rg.alpha,
             "eligible": not rg.upsampled and rg.alpha >= 1.0}
    source = sample_export.run_source(rg, config.seed, config.batch_size)
    entry.update(evaluate_generator(source, reals, config, models, png_dir=png_dir,
                                    prefix=prefix, fid_scorer=fid_scorer))
    images = {**confusion_images(entry, png_dir, prefix),
              "eval/samples": sample_grid(source, reals.class_names)}
    report_file.save_sample_sheet(images["eval/samples"], png_dir, prefix)
    if into_run:
        write_tensorboard(config.run_dir, entry, rg.images_seen, images)
    return entry


def _add_best(results, per_checkpoint):
    """--checkpoints all: every checkpoint's entry, the eligible candidates and the best of them
    (`eval_results.BEST_RULE`)."""
    results["checkpoints"] = per_checkpoint
    results["best_rule"] = BEST_RULE
    results["candidates"] = [k for k, e in per_checkpoint.items() if e["eligible"]]
    results["best"] = best_checkpoints(per_checkpoint)
    if not results["candidates"]:
        results["notes"].append(f"no checkpoint is eligible as best ({BEST_RULE}): train "
                                "longer at the final resolution")


def sample_grid(fake_source, class_names):
    """uint8 grid, one row per class, named in the margin: images 0..GRID_COLUMNS-1 of each class
    (the first images of an export with the evaluation's seed)."""
    from pgan_tf import sampling

    num_classes = len(class_names)
    labels = np.repeat(np.arange(num_classes), sample_export.GRID_COLUMNS)
    return sampling.labelled_grid(fake_source(labels), num_classes, sample_export.GRID_COLUMNS,
                                  list(class_names))


def evaluate_sets(config):
    """Evaluate the image set `config.fakes` against `config.reals` (module docstring)."""
    fid_scorer = _fid_scorer(config)
    fakes = image_sets.load_image_set(config.fakes, progress=config.progress)
    train = image_sets.load_image_set(config.reals, progress=config.progress)
    val = None
    if image_sets.detect_kind(config.reals) == "prepared" and os.path.isdir(
            os.path.join(config.reals, "val")):
        val = image_sets.load_prepared_split(config.reals, "val", train.resolution)
    fakes = image_sets.resized(fakes, train.resolution, "fakes resized to the reals' resolution")
    if set(CLASSIFIER_METRICS + ("memorization",)) & set(config.metrics) and train.labels is None:
        raise UserError(f"--reals {config.reals} is unlabelled; GAN-train/GAN-test and the "
                        "memorization features need class labels")
    if set(CLASSIFIER_METRICS) & set(config.metrics):
        fakes = image_sets.align_classes(fakes, train.class_names, "--fakes")
    n = min(config.num_images or len(fakes), len(fakes), len(train))
    fakes = image_sets.seeded_subset(fakes, n, config.seed)
    root, info = image_sets.find_dataset_root(config.reals)
    originals = None if root is None else originals_of(
        info, len(train), image_sets.seeded_indices(len(train), n, config.seed))
    train = image_sets.seeded_subset(train, n, config.seed)
    reals = Reals(train, val, originals)
    results = {**_header(config, "sets"), "fakes": os.path.abspath(config.fakes),
               "reals": os.path.abspath(config.reals), "num_fakes": len(fakes),
               "num_reals": len(train), "resolution": train.resolution,
               "gan_train_test_set": "reals val split" if val is not None else "reals"}
    results["notes"] += fakes.notes + train.notes
    models = RealClassifiers(reals, config.classifier, config.progress, config.judge_cache)
    png_dir = os.path.dirname(fileio.abspath(config.output))
    if set(CLASSIFIER_METRICS) & set(config.metrics):
        results["real_classifier_train"] = reals.classifier_record()
    if set(CLASSIFIER_METRICS) & set(config.metrics) and val is not None:
        results["real"] = real_reference(reals, config, models)
        save_confusion_pngs({"real": results["real"]}, reals.class_names, png_dir)
    results.update(evaluate_fake_set(fakes, reals, config, models,
                                     swd_pair=(train.images, fakes.images), png_dir=png_dir,
                                     fid_scorer=fid_scorer,
                                     pair_labels=inception_metrics.pair_labels(train, fakes)))
    return results


def run_evaluation(config):
    """Validate, evaluate (run or sets), write `config.output` (a run also gets the numbers in its
    evaluation record and SavedModel card, `eval_results.record_in_run`); returns the results."""
    config = validate_eval(config)
    config = with_resolved_weights(config)
    results = evaluate_sets(config) if config.fakes else evaluate_run(config)
    write_json(results, config.output)
    if not config.fakes and _run_writable(config.run_dir):  # the numbers reach its model cards
        record_in_run(config.run_dir, results, config.output, config.memorization_threshold)
    report_file.write_report(results, config.output)
    return results


def _run_writable(run_dir):
    """False (one warning) when this process cannot write into the local `run_dir` (a read-only
    copy or mount): an evaluation is a reader, so its TensorBoard summaries and the run's
    evaluation record are then skipped; the results still go to --output."""
    if fileio.is_remote(run_dir) or os.access(run_dir, os.W_OK):
        return True
    print(f"warning: {run_dir} is not writable: its TensorBoard summaries and evaluation record "
          "are not updated; the results are in --output only", file=sys.stderr, flush=True)
    return False


def with_resolved_weights(config):
    """`config` with `--classifier_weights` resolved to a local file plus its sha256 (downloads
    and converts "imagenet" once), before any other work so an offline machine fails at once."""
    classifier = resolve_classifier_weights(config.classifier, config.progress)
    return dataclasses.replace(config, classifier=classifier)


def _status(message, progress):
    """One progress line on stderr (the Markdown summary owns stdout)."""
    if progress:
        print(message, file=sys.stderr, flush=True)
