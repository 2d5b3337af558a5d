"""Reproduce one of the paper's experiments with one command (docs/reproduce.md):

    pgan-reproduce --experiment table1|table2|fig8 --data_dir DATA --work_dir WORK
        [--scale paper|demo|test] [--classifier_weights imagenet|PATH|none] [--repeats N]
        [--gan_seeds 1000,1001,1002] [--dry_run [--benchmark_json bench/cpu_full_width.json]]

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

from pgan_tf import cli

FLAGS = flags.FLAGS


def define_flags():
    """Flags of this binary (defined here, never at import time)."""
    from pgan_tf.reproduce import plan, scales

    flags.DEFINE_string("experiment", None, f"One of {', '.join(plan.EXPERIMENTS)}.")
    flags.DEFINE_string("data_dir", None, "Prepared dataset (dataset.json), or a raw ISIC 2018 "
                        "download to prepare into WORK/data with the scale's recipe.")
    flags.DEFINE_string("work_dir", None, "Where runs, evaluations, state and results go.")
    flags.DEFINE_string("scale", "paper", f"One of {', '.join(scales.SCALES)}: paper = the paper's "
                        "runs; demo = 32x32 demo widths on 2 CPU cores; test = seconds.")
    flags.DEFINE_string("classifier_weights", None, "GAN-train/GAN-test classifier start, passed to "
                        "pgan-evaluate/pgan-experiment unchanged: imagenet or a .weights.h5 PATH; "
                        "none = from scratch. Default: imagenet at --scale=paper, none otherwise.")
    flags.DEFINE_integer("repeats", 1, "Classifier seeds per evaluation (> 1: mean ± std).")
    flags.DEFINE_integer("seed", 0, "Seed of the fakes' latents, real picks and classifiers.")
    flags.DEFINE_list("gan_seeds", [str(plan.DEFAULT_GAN_SEED)], "pgan-train --seed of each "
                      "model's runs: every model is trained once per seed (1000's runs keep "
                      "runs/<model>, others go to runs/<model>-s<seed>); several seeds give "
                      "mean ± std and a t-interval over seeds.")
    flags.DEFINE_bool("dry_run", False, "Print every step and command and the images to train; "
                      "write nothing.")
    flags.DEFINE_string("benchmark_json", None, "pgan-benchmark JSON: with --dry_run, estimate "
                        "the training time from its img/s per resolution.")
    flags.mark_flags_as_required(["experiment", "data_dir", "work_dir"])


def main(argv):
    """Plan (reads only), check the work dir, then print the plan (--dry_run) or run it."""
    from pgan_tf.cli.train import config_from_args
    from pgan_tf.errors import UserError
    from pgan_tf.reproduce import estimate, plan, runner, state

    if len(argv) > 1:
        raise UserError(f"unexpected arguments: {' '.join(argv[1:])}")
    if FLAGS.benchmark_json and not FLAGS.dry_run:
        raise UserError("--benchmark_json is read by --dry_run only; add --dry_run")
    options = plan.Options(
        experiment=FLAGS.experiment, data_dir=FLAGS.data_dir, work_dir=FLAGS.work_dir,
        scale=FLAGS.scale, classifier_weights=FLAGS.classifier_weights, repeats=FLAGS.repeats,
        seed=FLAGS.seed, gan_seeds=plan.parse_gan_seeds(FLAGS.gan_seeds))
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
    """Console script `pgan-reproduce` (also `python tools/reproduce.py`)."""
    cli.run_binary(define_flags, main)


if __name__ == "__main__":
    entry()
