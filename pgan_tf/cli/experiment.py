"""The augmentation experiment of paper §3.7 / Fig. 8: real vs standard vs GAN augmentation.

    pgan-experiment --data_dir DATA --per_class_real 100 --per_class_extra 1000
        --arms real,standard,gan:RUN1,gan:RUN2@ckpt-N [--repeats R] [--epochs E]
        [--classifier_width W] --output_dir OUT [--seed S] [--gan_sample_seed S2] [--overwrite]

Writes OUT/results.json, OUT/results.md (table like Fig. 8) and OUT/results.png (bar chart); see
docs/evaluation.md. Flags are checked before TensorFlow is imported.
"""
from absl import flags

from pgan_tf import cli, fileio, flagconfig

FLAGS = flags.FLAGS


def define_flags(flag_values=FLAGS):
    """Flags of this binary, one per `ExperimentConfig` field (defined here, never at import
    time); defaults follow the paper."""
    from pgan_tf.eval import experiment

    flagconfig.define(experiment.ExperimentConfig, flag_values, cli.flag_module(__name__))


def config_from_flags(flag_values=FLAGS):
    """The `ExperimentConfig` of parsed flags (every number checked), before TensorFlow."""
    from pgan_tf.eval import experiment

    return flagconfig.build(experiment.ExperimentConfig, flag_values)


def main(argv):
    from pgan_tf.errors import UserError
    from pgan_tf.eval import experiment

    if len(argv) > 1:
        raise UserError(f"unexpected arguments: {' '.join(argv[1:])}")
    for arm in FLAGS.arms:  # gan:RUN_DIR[@ckpt-N]: read by TensorFlow's checkpoint reader
        if arm.startswith("gan:"):
            fileio.refuse_pattern_characters(arm.split("@")[0], "arms")
    config = config_from_flags()
    experiment.validate_experiment(config)  # JSON and paths only: fails fast, before TensorFlow
    cli.import_tensorflow()
    from pgan_tf import disk
    with disk.writing("experiment results", FLAGS.output_dir):  # full disk: one line, exit 74
        results = experiment.run_experiment(config)
    print(experiment.results_markdown(results))
    print(f"results: {FLAGS.output_dir}")


def entry():
    """Console script `pgan-experiment`."""
    cli.run_binary(define_flags, main)


if __name__ == "__main__":
    entry()
