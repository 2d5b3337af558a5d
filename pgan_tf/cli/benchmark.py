"""Benchmark the training step, input pipeline, dataset preparation and export (issue 5).

    pgan-benchmark --flagfile=flags/pgan.cfg [--resolutions=8,16,32,64] [--batch=N]
        [--steps=S] [--jit_compile] [--precision=float32|mixed_float16|mixed_bfloat16]
        [--skip_prepare | --prepare_images=N] [--skip_export] --output=bench.json

Every training flag (`python -m pgan_tf.train --helpfull`) is accepted and defines the model; the
conventions (FLOPs per image = 4 G_fwd + 12 D_fwd, the conv peak) are in `pgan_tf/bench/`.
Prints a Markdown table on stdout and writes the JSON atomically.
"""
import os
import shlex
import sys

from absl import flags

from pgan_tf import cli, fileio
from pgan_tf.cli import train as train_flags
from pgan_tf.bench import options
from pgan_tf.errors import UserError

FLAGS = flags.FLAGS


def define_flags():
    """The training flags (model, jit, precision) plus this binary's own."""
    train_flags.define_flags()
    flags.DEFINE_list("resolutions", [str(r) for r in options.DEFAULT_RESOLUTIONS],
                      "Resolutions whose training step is timed.")
    flags.DEFINE_integer("batch", 0, "Minibatch of every resolution; 0 = the paper's minibatch "
                         "for each resolution (4:256, 8:256, 16:128, 32:64, 64:32, ...).")
    flags.DEFINE_integer("steps", 10, "Timed training iterations per resolution.")
    flags.DEFINE_integer("warmup_steps", 1, "Untimed iterations before timing (trace, compile).")
    flags.DEFINE_bool("skip_prepare", False, "Do not time dataset preparation; the pipeline is "
                      "then timed on --data_dir if it holds a prepared dataset.")
    flags.DEFINE_integer("prepare_images", options.ISIC_IMAGES,
                         "Synthetic 600x450 images to prepare (ISIC 2018: 10,015).")
    flags.DEFINE_integer("prepare_resolution", 0, "Prepared resolution; 0 = --resolution.")
    flags.DEFINE_integer("workers", os.cpu_count() or 1, "Preparation worker processes.")
    flags.DEFINE_integer("pipeline_images", options.PIPELINE_IMAGES,
                         "Images timed per resolution for the input pipeline.")
    flags.DEFINE_bool("skip_export", False, "Do not time sample export.")
    flags.DEFINE_integer("export_images", options.EXPORT_IMAGES,
                         "Images generated and written as PNG for the export timing.")
    flags.DEFINE_string("work_dir", "", "Folder for temporary data (default: system temp).")
    flags.DEFINE_string("output", None, "Where the JSON goes.")
    flags.mark_flag_as_required("output")


def _resolutions():
    try:
        return tuple(int(r) for r in FLAGS.resolutions)
    except ValueError:
        raise UserError(f"--resolutions={','.join(FLAGS.resolutions)}: expected resolutions "
                        "such as 8,16,32,64") from None


def main(argv, command):
    if len(argv) > 1:
        raise UserError(f"unexpected arguments {argv[1:]}; flags look like --name=value")
    config = train_flags.config_from_flags()
    bench = options.BenchmarkOptions(
        resolutions=_resolutions(), batch=FLAGS.batch, steps=FLAGS.steps,
        warmup_steps=FLAGS.warmup_steps, skip_prepare=FLAGS.skip_prepare,
        prepare_images=FLAGS.prepare_images, prepare_resolution=FLAGS.prepare_resolution,
        workers=FLAGS.workers, pipeline_images=FLAGS.pipeline_images,
        skip_export=FLAGS.skip_export, export_images=FLAGS.export_images,
        work_dir=FLAGS.work_dir, command=command)
    options.check_options(bench, config)  # before TensorFlow loads: typos fail at once
    cli.import_tensorflow()
    from pgan_tf.bench import report, runner

    result = runner.run_benchmark(config, bench)
    fileio.write_json(FLAGS.output, result)
    print(report.markdown_table(result))
    print(f"\nwrote {FLAGS.output}")
    return 0


def entry():
    """Console script `pgan-benchmark` (also `python tools/benchmark.py`)."""
    original = shlex.join(["python"] + sys.argv)  # recorded before flagfiles are expanded
    cli.run_binary(define_flags, lambda argv: main(argv, original))


if __name__ == "__main__":
    entry()
