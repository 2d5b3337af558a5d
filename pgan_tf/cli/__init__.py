"""The binaries (console scripts `pgan-*`, `python -m pgan_tf.cli.<name>`) and their shared start-up.

Each module of this package is one binary: flags (defined in a function, never at import time),
one frozen config, then a call into the library. `tools/*.py` and `python -m pgan_tf.train` are
thin wrappers kept so older commands work. What several binaries share lives here: the start-up
(`run_binary`: their flags plus `--verbose`, listed by `--help`; absl's errors as one line, exit
2). Each binary's flags come from its config dataclass (`pgan_tf/flagconfig.py`).

Stops: a `UserError` is one line, exit 2 (74 for a full or read-only disk); Ctrl-C, and SIGTERM
(turned into an exception, so staged writes and `finally` blocks clean up; not in pgan-train and
pgan-reproduce, see `_OWN_SIGTERM`) are one line too, exit 130 / 143.

Start-up side effects (quiet TensorFlow logging, filtered import chatter, the stage-retracing log
filter) happen here, in the binaries' `run`, never when the library is imported.
Imports nothing heavy, so a binary can validate its flags before TensorFlow is loaded.
"""
import atexit
import gc
import logging
import os
import signal
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
        if _module_name(main) not in _OWN_SIGTERM and \
                signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
            _MAIN_PID[:] = [os.getpid()]
            signal.signal(signal.SIGTERM, _raise_terminated)
        try:
            try:
                return main(argv)
            except ModuleNotFoundError as err:
                raise missing_tensorflow(err) from err
        except UserError as err:
            if "verbose" in flags.FLAGS and flags.FLAGS["verbose"].value:
                raise
            print_error(err)
            sys.exit(getattr(err, "exit_code", 2))  # 2 = bad input; disk.WriteError: 74
        except (KeyboardInterrupt, _Terminated) as err:
            if "verbose" in flags.FLAGS and flags.FLAGS["verbose"].value:
                raise
            what = "SIGTERM" if isinstance(err, _Terminated) else "Ctrl-C"
            print(f"error: stopped by {what} before finishing; its temporary files were removed "
                  "and earlier outputs are untouched; rerun the command to finish",
                  file=sys.stderr)
            sys.exit(143 if isinstance(err, _Terminated) else 130)  # 128 + signal number

    app.run(_wrapped, flags_parser=_parse_flags)


def print_error(err):
    """A UserError on stderr: one `error:` line per line of it (one per bad flag)."""
    for line in str(err).splitlines() or [type(err).__name__]:
        print(f"error: {line}", file=sys.stderr)


def _parse_flags(argv):
    """absl's parser with its errors (unknown flag, bad enum, illegal or missing value) as one
    line and exit 2, the code of every other bad input (absl's own exits 1 with a usage hint)."""
    from absl import flags

    from pgan_tf import flagconfig

    try:
        return flagconfig.parse(flags.FLAGS, argv)
    except UserError as err:
        print_error(err)
        sys.exit(2)


# Binaries whose library turns SIGTERM into a graceful stop of its own (the trainer's loop saves
# a checkpoint first), or that wait on such a binary (pgan-reproduce: an exception while waiting
# would SIGKILL the child in the middle of its stop): the start-up leaves their SIGTERM alone.
_OWN_SIGTERM = ("pgan_tf.cli.train", "pgan_tf.cli.reproduce")


def _module_name(fn):
    """The importable name of `fn`'s module, also when it runs as `python -m` (`__main__`)."""
    spec = getattr(sys.modules.get(fn.__module__), "__spec__", None)
    return spec.name if spec is not None and spec.name else fn.__module__


class _Terminated(BaseException):
    """SIGTERM, raised in the main thread so `finally` blocks and staged writes clean up (the
    default action kills at once, leaving temporary folders behind). Not an Exception: no
    `except Exception` swallows it."""


_MAIN_PID = []  # the binary's process: forked workers inherit the handler, not this role


def _raise_terminated(signum, frame):
    if _MAIN_PID and os.getpid() != _MAIN_PID[0]:  # a forked worker: die as by default, quietly
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)
        return
    raise _Terminated()


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
    define_binary_flags(define_flags, flags.FLAGS, flag_module(main.__module__))
    run(main)


def define_binary_flags(define_flags, flag_values, module_name, main_module=None):
    """Define a binary's flags (`define_flags(flag_values)`) and the shared `--verbose` into
    `flag_values`, and make every one of them a key flag of the main module (`sys.argv[0]`):
    absl's `--help`/`--helpshort` list only the main module's key flags, and a console script's
    flags are defined under `pgan_tf.cli.<name>`. Returns the names of the binary's flags."""
    from absl import flags

    before = set(flag_values)
    define_flags(flag_values)
    if "verbose" not in flag_values:
        flags.DEFINE_bool("verbose", False, "Keep tracebacks of user errors (debugging).",
                          flag_values=flag_values, module_name=module_name)
    names = sorted(set(flag_values) - before)
    main_module = main_module or sys.argv[0]
    for name in names:
        flag_values.register_key_flag_for_module(main_module, flag_values[name])
    return names


def flag_module(name):
    """The module name absl files a flag under when module `name` defines it (the main module:
    its file, `sys.argv[0]`), so `--helpfull` lists shared flags with the binary's own."""
    return sys.argv[0] if name == "__main__" else name


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
