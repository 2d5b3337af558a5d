"""Evaluate a run (or two image sets): GAN-train, GAN-test, SWD, MS-SSIM, FID, KID, memorization.

    pgan-evaluate --run_dir RUN [--data_dir DATA]
        --metrics gan_train,gan_test,swd,ms_ssim[,fid][,kid][,fid_keras][,memorization]
        [--inception_graph URL|PATH] [--inception_graph_sha256 HEX] [--inception_weights PATH]
        [--num_per_class 1000] [--checkpoints latest|all] [--epochs 50] [--repeats 1]
        [--classifier_width 64] [--classifier_weights imagenet|PATH] [--judge_cache DIR]
        --output results.json
    pgan-evaluate --fakes DIR --reals DIR --metrics ... --output results.json

Writes the JSON (every number), confusion-matrix PNGs (and memorization.png, samples.png) and
report.md / report.html next to it, and prints a Markdown summary; see docs/evaluation.md. Flags
are checked before TensorFlow is imported.
"""
from absl import flags

from pgan_tf import cli, fileio, flagconfig

FLAGS = flags.FLAGS


def define_flags(flag_values=FLAGS):
    """Flags of this binary, one per `EvalConfig` field (defined here, never at import time)."""
    from pgan_tf.eval import eval_config

    flagconfig.define(eval_config.EvalConfig, flag_values, cli.flag_module(__name__))


def config_from_flags(flag_values=FLAGS):
    """The `EvalConfig` of parsed flags (every number checked), before TensorFlow."""
    from pgan_tf.eval import eval_config

    return flagconfig.build(eval_config.EvalConfig, flag_values)


def main(argv):
    from pgan_tf.errors import UserError
    from pgan_tf.eval import eval_config, eval_results, evaluate, report_file

    if len(argv) > 1:
        raise UserError(f"unexpected arguments: {' '.join(argv[1:])}")
    if FLAGS.run_dir:
        fileio.refuse_pattern_characters(FLAGS.run_dir, "run_dir")  # TensorFlow's reader globs
    config = config_from_flags()
    eval_config.validate_eval(config)  # JSON and paths only: fails fast, before TensorFlow
    cli.import_tensorflow()
    from pgan_tf import disk
    with disk.writing("evaluation results", FLAGS.output):  # full disk: one line, exit 74
        results = evaluate.run_evaluation(config)
    print(eval_results.summary_markdown(results))
    print(f"results: {FLAGS.output}")
    print(f"report: {report_file.report_paths(FLAGS.output)[1]}")


def entry():
    """Console script `pgan-evaluate`."""
    cli.run_binary(define_flags, main)


if __name__ == "__main__":
    entry()
