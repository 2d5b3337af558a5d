"""Shared start-up for the binaries (`pgan_tf/train.py`, `tools/*.py`): quiet TF, one-line errors.

Imports nothing heavy, so a binary can validate its flags before TensorFlow is loaded.
"""
import os
import sys

from pgan_tf.errors import UserError

# TF logs CUDA-driver probes on CPU-only machines; users should see our output, not those.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def run(main):
    """Run an absl `main`, turning `UserError` into one stderr line and exit code 2.

    `--verbose` (when the binary defines it) keeps the traceback for debugging.
    """
    from absl import app, flags, logging

    def _wrapped(argv):
        if not flags.FLAGS["verbosity"].present:  # TF's INFO lines (checkpoint sharding...) hide ours
            logging.set_verbosity(logging.WARNING)
        try:
            return main(argv)
        except UserError as err:
            if "verbose" in flags.FLAGS and flags.FLAGS["verbose"].value:
                raise
            print(f"error: {err}", file=sys.stderr)
            sys.exit(2)

    app.run(_wrapped)


def run_with_flagfiles(define_flags, main):
    """Expand nested `--flagfile`s (relative to the including file), define flags, then `run`."""
    from pgan_tf.flagfiles import expand_flagfiles

    try:
        sys.argv = expand_flagfiles(sys.argv)
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
    define_flags()
    run(main)


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


def import_tensorflow():
    """Import TensorFlow with its start-up chatter filtered out of stderr (real errors pass)."""
    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"]
    import tempfile

    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as capture:
        os.dup2(capture.fileno(), 2)
        try:
            import tensorflow as tf
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            for line in capture.read().decode("utf-8", "replace").splitlines():
                if line.strip() and not any(noise in line for noise in _TF_IMPORT_NOISE):
                    print(line, file=sys.stderr)
    return tf
