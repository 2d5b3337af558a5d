"""The GPU plan on paper: a schedule's FLOPs and its time on A100 / H100.

    pgan-gpu-plan --flagfile=flags/apgan_ttur.cfg [--output=plan.json]

Every training flag defines the model and the schedule (default: the paper's 8M images). Prints
Markdown (FLOPs per image and per phase, then hours at 30/50/70% of each dense peak); the peaks
and their sources are in `pgan_tf/bench/gpu_plan.py`.
"""
import shlex
import sys

from absl import flags

from pgan_tf import cli
from pgan_tf.cli import train as train_flags
from pgan_tf.errors import UserError

FLAGS = flags.FLAGS


def define_flags(flag_values=FLAGS):
    """The training flags (model and schedule) plus an optional JSON output."""
    train_flags.define_flags(flag_values)
    flags.DEFINE_string("output", "", "Also write the plan as JSON here.", flag_values=flag_values,
                        module_name=cli.flag_module(__name__))


def config_from_flags(flag_values=FLAGS):
    """The TrainConfig of parsed flags (every number checked), before TensorFlow."""
    return train_flags.config_from_flags(flag_values)


def main(argv, command):
    if len(argv) > 1:
        raise UserError(f"unexpected arguments {argv[1:]}; flags look like --name=value")
    config = config_from_flags()
    cli.import_tensorflow()  # the FLOP count imports the model package
    from pgan_tf.bench import gpu_plan
    from pgan_tf import fileio
    from pgan_tf.training.builders import schedule_params

    rows, total = gpu_plan.schedule_flops(config, schedule_params(config))
    hours = gpu_plan.gpu_hours(total)
    print(f"Command: {command}\n")
    print(gpu_plan.markdown(rows, total, hours))
    if FLAGS.output:
        fileio.write_json(FLAGS.output, {
            "command": command, "phases": rows, "total_flops": total,
            "peaks_tflops": {g: dict(p) for g, p in gpu_plan.GPU_PEAKS_TFLOPS.items()},
            "hours": {g: {p: {str(f): h for f, h in v.items()} for p, v in by.items()}
                      for g, by in hours.items()}})
        print(f"\nwrote {FLAGS.output}")
    return 0


def entry():
    """Console script `pgan-gpu-plan`."""
    original = shlex.join(["pgan-gpu-plan"] + sys.argv[1:])
    cli.run_binary(define_flags, lambda argv: main(argv, original))


if __name__ == "__main__":
    entry()
