"""The augmentation experiment of paper §3.7 / Fig. 8: real vs standard vs GAN augmentation.

    pgan-experiment --data_dir DATA --per_class_real 100 --per_class_extra 1000
        --arms real,standard,gan:RUN1,gan:RUN2@ckpt-N [--repeats R] [--epochs E]
        [--classifier_width W] --output_dir OUT [--seed S] [--gan_sample_seed S2] [--overwrite]

Writes OUT/results.json, OUT/results.md (table like Fig. 8) and OUT/results.png (bar chart); see
docs/evaluation.md. Flags are checked before TensorFlow is imported.
"""
from absl import flags

from pgan_tf import cli

FLAGS = flags.FLAGS


def define_flags():
    """Flags of this binary (defined here, never at import time); defaults follow the paper."""
    flags.DEFINE_string("data_dir", None, "Prepared dataset with train and val splits.")
    flags.DEFINE_integer("per_class_real", 100, "Real training images picked per class (§3.7).")
    flags.DEFINE_integer("per_class_extra", 1000, "Extra images per class of each arm (§3.7: 1k).")
    flags.DEFINE_list("arms", ["real", "standard"],
                      "Training sets: real, standard (Augmentor) and/or gan:RUN_DIR (its latest "
                      "checkpoint) or gan:RUN_DIR@ckpt-N (its checkpoint of N images seen).")
    flags.DEFINE_integer("repeats", 1, "Classifier seeds per arm (mean ± std).")
    cli.define_classifier_flags(__name__)
    flags.DEFINE_integer("seed", 0, "Seed of the real pick, the augmentation and GAN latents; "
                         "classifier seeds are seed .. seed + repeats - 1.")
    flags.DEFINE_integer("gan_sample_seed", None, "Seed of the GAN arms' latents (default: "
                         "--seed); pgan-reproduce draws them apart from the fakes its "
                         "checkpoints were chosen with.")
    flags.DEFINE_string("output_dir", None, "Output folder (must not exist unless --overwrite).")
    flags.DEFINE_bool("overwrite", False, "Replace an existing --output_dir.")
    flags.DEFINE_bool("progress", True, "Print progress lines and classifier epochs.")
    flags.mark_flags_as_required(["data_dir", "output_dir"])


def main(argv):
    from pgan_tf.errors import UserError
    from pgan_tf.eval import experiment

    if len(argv) > 1:
        raise UserError(f"unexpected arguments: {' '.join(argv[1:])}")
    classifier = cli.classifier_config(FLAGS)
    config = experiment.ExperimentConfig(
        data_dir=FLAGS.data_dir, output_dir=FLAGS.output_dir, arms=tuple(FLAGS.arms),
        per_class_real=FLAGS.per_class_real, per_class_extra=FLAGS.per_class_extra,
        repeats=FLAGS.repeats, classifier=classifier, seed=FLAGS.seed,
        gan_sample_seed=FLAGS.gan_sample_seed, overwrite=FLAGS.overwrite, progress=FLAGS.progress)
    experiment.validate_experiment(config)  # JSON and paths only: fails fast, before TensorFlow
    cli.import_tensorflow()
    from pgan_tf import disk
    with disk.writing("experiment results", FLAGS.output_dir):  # full disk: one line, exit 74
        results = experiment.run_experiment(config)
    print(experiment.results_markdown(results))
    print(f"results: {FLAGS.output_dir}")


def entry():
    """Console script `pgan-experiment` (also `python tools/augment_experiment.py`)."""
    cli.run_binary(define_flags, main)


if __name__ == "__main__":
    entry()
