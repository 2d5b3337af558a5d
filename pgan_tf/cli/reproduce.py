"""Reproduce one of the paper's experiments with one command (docs/reproduce.md):

    pgan-reproduce --experiment table1|table2|fig8 --data_dir DATA --work_dir WORK
        [--scale paper|demo|test] [--classifier_weights imagenet|PATH|none] [--repeats N]
        [--gan_seeds 1000,1001,1002] [--dry_run [--benchmark_json docs/results/cpu_full_width.json]]

Trains every model of the experiment once per GAN seed (one run dir each,
WORK/<experiment>/runs/<model>, runs/<model>-s<seed> for seeds other than 1000), evaluates its
checkpoints (best GAN-train and best GAN-test, with intervals) or runs the augmentation
experiment (fig8, on WORK/table2's runs at their best GAN-test checkpoints, evaluated there
first), and writes WORK/<experiment>/results.md, results.json and results.png with the paper's
numbers beside ours. Rerunning the same command continues where it stopped. DATA is a
prepared dataset, or a raw ISIC 2018 download that is first prepared into WORK/data.
"""
import shlex
import sys

from absl import flags

from pgan_tf import cli, fileio, flagconfig

FLAGS = flags.FLAGS


def define_flags(flag_values=FLAGS):
    """Flags of this binary: one per `plan.Options` field, plus --dry_run and --benchmark_json
    (defined here, never at import time)."""
    from pgan_tf.reproduce import plan

    own = dict(flag_values=flag_values, module_name=cli.flag_module(__name__))
    flagconfig.define(plan.Options, **own)
    flags.DEFINE_bool("dry_run", False, "Print every step and command and the images to train; "
                      "write nothing.", **own)
    flags.DEFINE_string("benchmark_json", None, "pgan-benchmark JSON: with --dry_run, estimate "
                        "the training time from its img/s per resolution.", **own)


def config_from_flags(flag_values=FLAGS):
    """The `plan.Options` of parsed flags (every number checked), before TensorFlow."""
    from pgan_tf.reproduce import plan

    # --gan_seeds: distinct non-negative integers, checked with its own one-line message.
    return flagconfig.build(plan.Options, flag_values,
                            gan_seeds=plan.parse_gan_seeds(flag_values["gan_seeds"].value))


def main(argv):
    """Plan (reads only), check the work dir, then print the plan (--dry_run) or run it."""
    from pgan_tf.cli.train import config_from_args
    from pgan_tf.errors import UserError
    from pgan_tf.reproduce import estimate, plan, runner, state

    if len(argv) > 1:
        raise UserError(f"unexpected arguments: {' '.join(argv[1:])}")
    # Its runs (checkpoints read and rotated by TensorFlow) live under --work_dir.
    fileio.refuse_pattern_characters(FLAGS.work_dir, "work_dir")
    if FLAGS.benchmark_json and not FLAGS.dry_run:
        raise UserError("--benchmark_json is read by --dry_run only; add --dry_run")
    options = config_from_flags()
    the_plan = plan.build_plan(options, config_from_args)
    state.check_plan(the_plan)  # before anything is written
    if FLAGS.dry_run:
        bench = estimate.read_benchmark(FLAGS.benchmark_json) if FLAGS.benchmark_json else None
        configs = [step.config for step in the_plan.steps if step.config is not None]
        if bench is not None and estimate.untimed_resolutions(configs, bench):
            cli.import_tensorflow()  # extrapolation by FLOPs builds no model but imports it
        runner.describe(the_plan, bench)
        return 0
    runner.run_plan(the_plan, shlex.join(["pgan-reproduce", *sys.argv[1:]]))
    return 0


def entry():
    """Console script `pgan-reproduce`."""
    cli.run_binary(define_flags, main)


if __name__ == "__main__":
    entry()
