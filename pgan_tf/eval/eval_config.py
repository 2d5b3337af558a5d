"""The configuration of `pgan-evaluate` and its validation without TensorFlow (split out of
`evaluate.py`, the driver that runs it)."""
import dataclasses
import os
from typing import Optional

from pgan_tf import fileio, output_guard
from pgan_tf.config_fields import SEED_RANGE, field
from pgan_tf.errors import UserError
from pgan_tf.eval import image_sets, inception_metrics, memorization, sample_export
from pgan_tf.eval.classifier import ClassifierConfig
from pgan_tf.eval.imagenet_weights import check_weights_flag
from pgan_tf.metrics import inception_graph, kid

METRICS = ("gan_train", "gan_test", "swd", "ms_ssim", "fid", "kid", "fid_keras", "memorization")
CHECKPOINT_MODES = ("latest", "all")
DEFAULT_METRICS = ("gan_train", "gan_test", "swd", "ms_ssim")
DEFAULT_NUM_PER_CLASS = 1000          # paper §3.5: 1000 synthetic images per class


@dataclasses.dataclass(frozen=True)
class EvalConfig:
    """One evaluation: a run (`run_dir`, `data_dir`) or two image sets (`fakes`, `reals`)."""

    output: str = field(dataclasses.MISSING, "Results JSON path; PNGs are written next to it.")
    metrics: tuple = field(DEFAULT_METRICS, f"Comma-separated subset of {','.join(METRICS)}.")
    run_dir: Optional[str] = field(None, "Run directory of pgan-train (holds config.json).")
    data_dir: Optional[str] = field(None, "Prepared dataset (default: the run's config data_dir).")
    fakes: Optional[str] = field(None, "Image set to evaluate instead of a run (with --reals).")
    reals: Optional[str] = field(None, "Real image set to compare --fakes with.")
    num_per_class: int = field(DEFAULT_NUM_PER_CLASS, "Generated images per class (uniform "
                               "labels; paper §3.5: 1000).", lo=1)
    num_images: Optional[int] = field(None, "--fakes/--reals: images of each set (default: "
                                      "min(#reals, #fakes)).", kind="int", lo=2)
    checkpoints: str = field("latest", "latest, or all (every snapshot, also written to "
                             "RUN/tensorboard/eval; the JSON adds 'best').")
    repeats: int = field(1, "Classifier seeds; > 1 reports mean ± std.", lo=1)
    classifier: ClassifierConfig = field(ClassifierConfig(), "The GAN-train/GAN-test classifier "
                                         "recipe (paper §3.3).", nested=True)
    seed: int = field(0, "Seed of the fakes' latents, real subsets and SWD draws; the classifier "
                      "seeds are seed .. seed + repeats - 1.", **SEED_RANGE)
    memorization_threshold: float = field(
        memorization.DEFAULT_THRESHOLD, "Flag samples whose RMS pixel difference (grey levels, "
        "0..255, at 64x64) to the nearest training image is below this (default: likely copies; "
        "0 = flag none).", lo=0.0)
    inception_weights: Optional[str] = field(
        None, "Keras InceptionV3 (include_top=False) weights file; required by --metrics "
        "fid_keras, never downloaded (docs/evaluation.md).")
    inception_graph: str = field(
        inception_graph.GRAPH_URL, "--metrics fid,kid: the 2015-12-05 Inception graph: a URL "
        "(downloaded once into the Keras cache) or a local inception-2015-12-05.tgz / "
        "classify_image_graph_def.pb.")
    inception_graph_sha256: Optional[str] = field(
        None, "sha256 the --inception_graph file must have; without it the computed sha256 is "
        "recorded in the results.")
    kid_subsets: int = field(kid.DEFAULT_SUBSETS, "KID: random subsets averaged.", lo=1)
    kid_subset_size: int = field(kid.DEFAULT_SUBSET_SIZE, "KID: images of each set per subset "
                                 "(fewer if a set is smaller).", lo=2)
    batch_size: int = 64
    progress: bool = field(True, "Print progress lines and classifier epochs on stderr.")
    judge_cache: Optional[str] = field(
        None, "Folder that keeps the trained real classifier (GAN-test's judge, the real "
        "reference), so later evaluations on the same data and recipe read it instead of "
        "training it again; default: none.")


def _check_judge_cache(path):
    """--judge_cache: a local folder (Keras writes the weights with h5py, which knows no gs://)."""
    if path and fileio.is_remote(path):
        raise UserError(f"--judge_cache={path}: give a local folder (the classifier cache is "
                        "written with h5py, which cannot write to a remote file system)")
    if path and os.path.exists(path) and not os.path.isdir(path):
        raise UserError(f"--judge_cache={path} is a file; give a folder")


def validate_eval(config):
    """Check the config without TensorFlow; returns it with `data_dir` resolved in run mode."""
    unknown = [m for m in config.metrics if m not in METRICS]
    if unknown or not config.metrics:
        raise UserError(f"--metrics: unknown or no metric {','.join(unknown)} (use "
                        f"{','.join(METRICS)})")
    if config.checkpoints not in CHECKPOINT_MODES:
        raise UserError(f"--checkpoints={config.checkpoints}: use latest or all")
    for name in ("num_per_class", "repeats", "batch_size"):
        if getattr(config, name) < 1:
            raise UserError(f"--{name} must be > 0, got {getattr(config, name)}")
    if config.num_images is not None and config.num_images < 2:
        raise UserError(f"--num_images must be >= 2, got {config.num_images}")
    if config.memorization_threshold < 0:
        raise UserError("--memorization_threshold must be >= 0")
    check_weights_flag(config.classifier.weights_path)
    _check_judge_cache(config.judge_cache)
    inception_metrics.validate(config)
    if fileio.isdir(config.output):
        raise UserError(f"--output={config.output} is a folder; give a .json file path")
    images = [("--fakes", config.fakes), ("--reals", config.reals), ("--data_dir", config.data_dir)]
    output_guard.check_output(config.output, flag="--output", sealed=images, inputs=images + [
        ("--run_dir", config.run_dir), ("--inception_weights", config.inception_weights),
        ("--classifier_weights", config.classifier.weights_path)])
    if config.fakes or config.reals:
        if config.run_dir or not (config.fakes and config.reals):
            raise UserError("give either --run_dir or both --fakes and --reals")
        if config.checkpoints != "latest":
            raise UserError("--checkpoints=all needs --run_dir")
        for flag in ("fakes", "reals"):
            image_sets.detect_kind(getattr(config, flag))
        return config
    if not config.run_dir:
        raise UserError("give --run_dir (or --fakes and --reals)")
    saved = sample_export.read_run(config.run_dir)
    data_dir = config.data_dir or saved["config"].get("data_dir", "")
    if not data_dir or not os.path.isdir(data_dir):
        raise UserError(f"dataset {data_dir!r} (--data_dir, default: the run's config.json) does "
                        "not exist; pass --data_dir")
    output_guard.check_output(config.output, flag="--output", sealed=[("the run's data_dir",
                                                                       data_dir)])
    return dataclasses.replace(config, data_dir=data_dir)
