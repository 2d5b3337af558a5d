"""The binaries (console scripts `pgan-*`, `python -m pgan_tf.cli.<name>`) and their shared start-up.

Each module of this package is one binary: flags (defined in a function, never at import time),
one frozen config, then a call into the library. `tools/*.py` and `python -m pgan_tf.train` are
thin wrappers kept so older commands work. What several binaries share lives here: the start-up
(`run_binary`: their flags plus `--verbose`) and the classifier flags of pgan-evaluate and
pgan-experiment (`define_classifier_flags`, `classifier_config`).

Start-up side effects (quiet TensorFlow logging, filtered import chatter, the stage-retracing log
filter) happen here, in the binaries' `run`, never when the library is imported (issue 10).
Imports nothing heavy, so a binary can validate its flags before TensorFlow is loaded.
"""
import atexit
import gc
import logging
import os
import sys

from pgan_tf.errors import UserError


def run(main):
    """Run an absl `main`, turning `UserError` into one stderr line and exit code 2.

    `--verbose` (when the binary defines it) keeps the traceback for debugging.
    """
    from absl import app, flags
    from absl import logging as absl_logging

    # TF logs CUDA-driver probes on CPU-only machines; users should see our output, not those.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    # At interpreter exit Python runs full cycle collections over every object still alive; with
    # TensorFlow, Keras and traced graphs loaded that took 1.5-2.5 s on an idle 2-core machine
    # (10x more under load), after the work was done and its files closed, which a preempted
    # `pgan-train` may not have (docs/reliability.md). Freezing the heap skips those passes;
    # registered before TensorFlow is imported, it runs after TensorFlow's exit handlers (LIFO).
    # Not os._exit: exit handlers and stream flushing still run; writers are closed explicitly.
    atexit.register(gc.freeze)

    def _wrapped(argv):
        if not flags.FLAGS["verbosity"].present:  # TF's INFO lines (checkpoint sharding...) hide ours
            absl_logging.set_verbosity(absl_logging.WARNING)
        try:
            try:
                return main(argv)
            except ModuleNotFoundError as err:
                raise missing_tensorflow(err) from err
        except UserError as err:
            if "verbose" in flags.FLAGS and flags.FLAGS["verbose"].value:
                raise
            print(f"error: {err}", file=sys.stderr)
            sys.exit(getattr(err, "exit_code", 2))  # 2 = bad input; disk.WriteError: 74

    app.run(_wrapped)


# Modules the base install leaves to an extra: TensorFlow (cpu/gpu extras) and what needs it.
_TENSORFLOW_MODULES = ("tensorflow", "tf_keras", "tensorflow_io_gcs_filesystem")
MISSING_TENSORFLOW = ("TensorFlow is not installed in this Python ({python}): install pgan_tf with "
                      "its extra, pip install 'pgan_tf[cpu]' (or 'pgan_tf[gpu]' with an NVIDIA "
                      "GPU; in a clone: pip install -e '.[cpu]')")


def missing_tensorflow(err):
    """A UserError saying which extra to install when `err` (a ModuleNotFoundError) is about
    TensorFlow; `err` itself otherwise (setup.py names no TensorFlow in the base requirements)."""
    if (getattr(err, "name", None) or "").split(".")[0] not in _TENSORFLOW_MODULES:
        return err
    return UserError(MISSING_TENSORFLOW.format(python=sys.executable))


def run_binary(define_flags, main):
    """A binary's `entry()`: expand nested `--flagfile`s (relative to the including file, so
    `flags/*.cfg` includes of `pgan_tf/flags/` work), define its flags and the shared `--verbose`
    (unless its own flags already have one: pgan-train's config flags do), then `run(main)`."""
    from absl import flags

    _expand_flagfiles_or_exit()
    define_flags()
    if "verbose" not in flags.FLAGS:
        flags.DEFINE_bool("verbose", False, "Keep tracebacks of user errors (debugging).",
                          module_name=_flag_module(main.__module__))
    run(main)


def _flag_module(name):
    """The module name absl files a flag under when module `name` defines it (the main module:
    its file, `sys.argv[0]`), so `--helpfull` lists shared flags with the binary's own."""
    return sys.argv[0] if name == "__main__" else name


def define_classifier_flags(module_name, balanced=False):
    """The classifier flags of `pgan-evaluate` and `pgan-experiment` (defaults: paper §3.3):
    --epochs, --classifier_width, --classifier_batch_size, --classifier_learning_rate,
    --classifier_weights and, with `balanced`, --classifier_balanced. One definition keeps their
    names, defaults and help texts the same in both. `module_name`: the binary's `__name__`."""
    from absl import flags

    own = dict(module_name=_flag_module(module_name))
    flags.DEFINE_integer("epochs", 50, "Classifier epochs (paper §3.3: 50).", **own)
    flags.DEFINE_integer("classifier_width", 64, "ResNet stem width (64 = ResNet-18).", **own)
    flags.DEFINE_integer("classifier_batch_size", 64, "Classifier batch size (paper §3.3: 64).",
                         **own)
    flags.DEFINE_float("classifier_learning_rate", 0.001, "SGD learning rate (paper §3.3: 0.001).",
                       **own)
    if balanced:
        flags.DEFINE_bool("classifier_balanced", False, "Weight the classifier's loss so every "
                          "class counts alike (N / (K * class count) per image); the paper's "
                          "recipe is unweighted.", **own)
    flags.DEFINE_string("classifier_weights", None, "imagenet: fine-tune torchvision's ImageNet "
                        "ResNet-18 (downloaded once into the Keras cache, as the paper); or a "
                        ".weights.h5 path (pgan-convert-weights); default: from scratch "
                        "(docs/evaluation.md).", **own)


def classifier_config(flag_values):
    """The `ClassifierConfig` of those parsed flags, seeded by `--seed` (the classifier seeds of a
    binary are seed .. seed + repeats - 1); without --classifier_balanced the loss is unweighted."""
    from pgan_tf.eval.classifier import ClassifierConfig

    balanced = "classifier_balanced" in flag_values and flag_values.classifier_balanced
    return ClassifierConfig(
        epochs=flag_values.epochs, batch_size=flag_values.classifier_batch_size,
        learning_rate=flag_values.classifier_learning_rate, width=flag_values.classifier_width,
        seed=flag_values.seed, weights_path=flag_values.classifier_weights, balanced=balanced)


def _expand_flagfiles_or_exit():
    """sys.argv with every `--flagfile` expanded (pgan_tf.flagfiles); a bad one: one line, exit 2."""
    from pgan_tf.flagfiles import expand_flagfiles

    try:
        sys.argv = expand_flagfiles(sys.argv)
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)


# Lines TensorFlow's C++ runtime prints at import on CPU machines regardless of
# TF_CPP_MIN_LOG_LEVEL (absl logs before InitializeLog; oneDNN and CPU-feature notices; CUDA probes).
_TF_IMPORT_NOISE = (
    "All log messages before absl::InitializeLog",
    "oneDNN custom operations are on",
    "cpu_feature_guard",
    "This TensorFlow binary is optimized",
    "To enable the following instructions",
    "Unable to register cu",
    "could not find cuda drivers",
    "Could not find cuda drivers",
    "computation placer already registered",
    "failed call to cuInit",
)


class _StageRetracingFilter(logging.Filter):
    """Drop TF's 'triggered tf.function retracing' warning: the trainer traces once per stage by
    design (`training/step.py`)."""

    def filter(self, record):
        return "triggered tf.function retracing" not in record.getMessage()


def import_tensorflow():
    """Binaries only: import TensorFlow with its start-up chatter filtered out of stderr (real
    errors pass) and the stage-retracing warning dropped from its logger. Idempotent."""
    if sys.modules.get("tensorflow") is None:   # None: an import that failed before
        try:
            _quiet_import()
        except ModuleNotFoundError as err:
            raise missing_tensorflow(err) from err
    tf = sys.modules["tensorflow"]
    logger = tf.get_logger()
    if not any(isinstance(f, _StageRetracingFilter) for f in logger.filters):
        logger.addFilter(_StageRetracingFilter())
    return tf


def _quiet_import():
    """`import tensorflow` with file descriptor 2 captured; known notices are dropped."""
    import tempfile

    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as capture:
        os.dup2(capture.fileno(), 2)
        try:
            import tensorflow  # noqa: F401
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            for line in capture.read().decode("utf-8", "replace").splitlines():
                if line.strip() and not any(noise in line for noise in _TF_IMPORT_NOISE):
                    print(line, file=sys.stderr)
