"""Train APGAN+TTUR: `pgan-train --flagfile=flags/apgan_ttur.cfg [--flag=value ...]`
(also `python -m pgan_tf.train`).

Every `TrainConfig` field is a flag of the same name (later values win; command-line flags after
`--flagfile` override it). Flags are validated before TensorFlow is imported, so a typo fails fast.
`--dry_run` prints the resolved config as one JSON object and the parameter counts, then exits.
"""
import dataclasses
import json
import os
import sys

from absl import flags

from pgan_tf import cli, fileio
from pgan_tf.config import (DICT_FIELDS, TrainConfig, is_power_of_two, parse_int_dict,
                            resolve_attention_stages)
from pgan_tf.errors import UserError

FLAGS = flags.FLAGS
_LR_DICTS = ("g_lr_dict", "d_lr_dict")


def define_flags(flag_values=FLAGS):
    """One absl flag per config field (name, default and help text from the dataclass)."""
    fv = dict(flag_values=flag_values)
    for f in dataclasses.fields(TrainConfig):
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        help_text = f.metadata["help"]
        if f.name in DICT_FIELDS:
            text = ",".join(f"{k}:{v}" for k, v in sorted(default.items()))
            flags.DEFINE_string(f.name, text, help_text, **fv)
        elif f.name == "attention_stages":
            flags.DEFINE_list(f.name, [str(s) for s in default], help_text, **fv)
        elif "enum" in f.metadata:
            flags.DEFINE_enum(f.name, default, f.metadata["enum"], help_text, **fv)
        elif isinstance(default, bool):
            flags.DEFINE_bool(f.name, default, help_text, **fv)
        elif isinstance(default, int):
            flags.DEFINE_integer(f.name, default, help_text, **fv)
        elif isinstance(default, float):
            flags.DEFINE_float(f.name, default, help_text, **fv)
        else:
            flags.DEFINE_string(f.name, default, help_text, **fv)
    flags.DEFINE_bool("dry_run", False, "Print the resolved config and parameter counts, then exit.",
                      **fv)
    flags.DEFINE_bool("verbose", False, "Show tracebacks for errors.", **fv)


def _dataset_classes(data_dir):
    """Class names from `data_dir/dataset.json` (prepare_dataset.py output), or None."""
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
    kwargs = {}
    for f in dataclasses.fields(TrainConfig):
        value = flag_values[f.name].value
        if f.name in DICT_FIELDS:
            value = parse_int_dict(value, f.name, float if f.name in _LR_DICTS else int)
        kwargs[f.name] = value
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
    return TrainConfig(**kwargs)


def config_from_args(args):
    """The config `pgan-train ARGS` would train (flagfiles expanded as the binary does), built on
    a private flag set: other binaries (pgan-reproduce) plan runs without touching their flags."""
    from pgan_tf.flagfiles import expand_flagfiles

    fv = flags.FlagValues()
    define_flags(fv)
    try:
        fv(expand_flagfiles(["pgan-train", *args]))
    except flags.Error as err:
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
    """Console script `pgan-train` (also `python -m pgan_tf.train`)."""
    cli.run_binary(define_flags, main)


if __name__ == "__main__":
    entry()
