"""Benchmark the training step, input pipeline, dataset preparation and export.

    pgan-benchmark --flagfile=flags/pgan.cfg [--resolutions=8,16,32,64] [--batch=N]
        [--steps=S] [--jit_compile] [--precision=float32|mixed_float16|mixed_bfloat16]
        [--skip_prepare | --prepare_images=N] [--skip_export] --output=bench.json

Every training flag (`pgan-train --helpshort`) is accepted and defines the model; the
conventions (FLOPs per image = 4 G_fwd + 12 D_fwd, the conv peak) are in `pgan_tf/bench/`.
Prints a Markdown table on stdout and writes the JSON atomically.
"""
import shlex
import sys

from absl import flags

from pgan_tf import cli, fileio, flagconfig
from pgan_tf.cli import train as train_flags
from pgan_tf.bench import options
from pgan_tf.errors import UserError

FLAGS = flags.FLAGS


def define_flags(flag_values=FLAGS):
    """The training flags (model, jit, precision), one per `BenchmarkOptions` field and --output."""
    train_flags.define_flags(flag_values)
    own = dict(flag_values=flag_values, module_name=cli.flag_module(__name__))
    flagconfig.define(options.BenchmarkOptions, **own)
    flags.DEFINE_string("output", None, "Where the JSON goes.", required=True, **own)


def config_from_flags(flag_values=FLAGS, command=""):
    """(TrainConfig, BenchmarkOptions) of parsed flags (every number checked), before TensorFlow;
    the errors of both are reported together, one line per bad flag."""
    built, errors = [], []
    for make in (lambda: train_flags.config_from_flags(flag_values),
                 lambda: flagconfig.build(options.BenchmarkOptions, flag_values, command=command)):
        try:
            built.append(make())
        except UserError as err:
            errors.append(str(err))
    if errors:
        raise UserError("\n".join(errors))
    return tuple(built)


def main(argv, command):
    if len(argv) > 1:
        raise UserError(f"unexpected arguments {argv[1:]}; flags look like --name=value")
    config, bench = config_from_flags(FLAGS, command)
    options.check_options(bench, config)  # before TensorFlow loads: typos fail at once
    cli.import_tensorflow()
    from pgan_tf.bench import report, runner

    result = runner.run_benchmark(config, bench)
    fileio.write_json(FLAGS.output, result)
    print(report.markdown_table(result))
    print(f"\nwrote {FLAGS.output}")
    return 0


def entry():
    """Console script `pgan-benchmark`."""
    original = shlex.join(["python"] + sys.argv)  # recorded before flagfiles are expanded
    cli.run_binary(define_flags, lambda argv: main(argv, original))


if __name__ == "__main__":
    entry()
