"""Train APGAN+TTUR: `pgan-train --flagfile=flags/apgan_ttur.cfg [--flag=value ...]`.

Every `TrainConfig` field is a flag of the same name (later values win; command-line flags after
`--flagfile` override it). Flags are validated before TensorFlow is imported, so a typo fails fast.
`--dry_run` prints the resolved config as one JSON object and the parameter counts, then exits.
"""
import json
import os
import sys

from absl import flags

from pgan_tf import cli, fileio, flagconfig
from pgan_tf.config import TrainConfig, is_power_of_two, resolve_attention_stages
from pgan_tf.errors import UserError

FLAGS = flags.FLAGS


def define_flags(flag_values=FLAGS):
    """One absl flag per config field (name, default and help text from the dataclass)."""
    fv = dict(flag_values=flag_values)
    flagconfig.define(TrainConfig, flag_values, module_name=cli.flag_module(__name__))
    flags.DEFINE_bool("dry_run", False, "Print the resolved config and parameter counts, then exit.",
                      module_name=cli.flag_module(__name__), **fv)
    flags.DEFINE_bool("verbose", False, "Show tracebacks for errors.",
                      module_name=cli.flag_module(__name__), **fv)


def _dataset_classes(data_dir):
    """Class names from `data_dir/dataset.json` (pgan-prepare output), or None."""
    path = os.path.join(data_dir, "dataset.json") if data_dir else ""
    if not path or not os.path.isfile(path):
        return None
    try:
        with open(path, encoding="utf-8") as f:
            return list(json.load(f)["classes"])
    except (OSError, ValueError, KeyError) as err:
        raise UserError(f"--data_dir: cannot read classes from {path}: {err}") from None


def config_from_flags(flag_values=FLAGS):
    """Build the frozen config from parsed flags; warnings (ignored attention stages) go to stderr."""
    kwargs = flagconfig.read(TrainConfig, flag_values)
    classes = _dataset_classes(kwargs["data_dir"])
    if classes is not None:
        kwargs["num_classes"] = len(classes)
    if is_power_of_two(kwargs["resolution"]):  # else TrainConfig refuses --resolution itself
        # "auto" and explicit lists become resolutions here, so config.json (and a resume's
        # architecture check) always holds the resolved stages.
        kwargs["attention_stages"], warnings = resolve_attention_stages(
            kwargs["attention_stages"], kwargs["resolution"])
        for warning in warnings:
            print(f"warning: {warning}", file=sys.stderr)
    return flagconfig.construct(TrainConfig, kwargs)


def config_from_args(args):
    """The config `pgan-train ARGS` would train (flagfiles expanded as the binary does), built on
    a private flag set: other binaries (pgan-reproduce) plan runs without touching their flags."""
    from pgan_tf.flagfiles import expand_flagfiles

    fv = flags.FlagValues()
    define_flags(fv)
    try:
        flagconfig.parse(fv, expand_flagfiles(["pgan-train", *args]))
    except UserError as err:
        raise UserError(f"train flags {' '.join(args)}: {err}") from None
    return config_from_flags(fv)


def main(argv):
    if len(argv) > 1:
        raise UserError(f"unexpected arguments {argv[1:]}; flags look like --name=value")
    config = config_from_flags()
    if FLAGS.dry_run:
        cli.import_tensorflow()
        from pgan_tf.training.builders import parameter_counts
        print(config.to_json(), flush=True)
        g_params, d_params = parameter_counts(config)
        print(f"G parameters: {g_params}")
        print(f"D parameters: {d_params}")
        return 0
    if not config.data_dir or not config.run_dir:
        raise UserError("--data_dir and --run_dir are required (see flags/README.md)")
    fileio.refuse_pattern_characters(config.run_dir, "run_dir")
    if config.heldout_per_class > 0 and os.path.isdir(config.data_dir):
        from pgan_tf.data import heldout
        heldout.plan(config.data_dir, config.heldout_per_class, config.seed)  # refuse before TF
    from pgan_tf.training.stop import StopRequest

    # Installed before TensorFlow loads: a SIGTERM from here on stops without saving anything,
    # exit 0, one line (not 143), and a second signal gives one line, not a traceback.
    with StopRequest() as stop:
        cli.import_tensorflow()
        from pgan_tf import disk
        from pgan_tf.training.loop import run
        with disk.writing("to the run dir", config.run_dir, kept=lambda: _kept(config.run_dir)):
            run(config, stop)  # (a failed checkpoint save has its own message, naming what is kept)
    return 0


def _kept(run_dir):
    """For a failed write's message: the checkpoint a rerun would resume from."""
    import tensorflow as tf

    latest = tf.train.latest_checkpoint(os.path.join(run_dir, "checkpoints"))
    return f"the checkpoint {latest} is intact" if latest else ""


def entry():
    """Console script `pgan-train`."""
    cli.run_binary(define_flags, main)


if __name__ == "__main__":
    entry()
