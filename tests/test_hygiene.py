"""Library hygiene: importing pgan_tf's modules and loading a generator change no global
state beyond what `import tensorflow` does — no environment variables, no logging filters,
handlers or levels, no file-descriptor redirection, no warning filters, no Keras/TF global settings.
Checked in a fresh interpreter, with TF_CPP_MIN_LOG_LEVEL set and unset beforehand. (The binaries
do set such state, in `pgan_tf.cli`; their quiet start-up is tested in test_train/test_bad_input.)
"""
import json
import os
import subprocess
import sys

import pytest

from tests.eval_fixtures import tiny_run

MODULES = ("pgan_tf", "pgan_tf.model.networks", "pgan_tf.training.step", "pgan_tf.training.loop",
           "pgan_tf.data.pipeline")

# Runs in the child: snapshot after `import tensorflow` (and the third-party modules whose import
# has side effects of its own), then import the library and load a generator with os.dup/os.dup2
# wrapped (any fd redirection is recorded), snapshot again.
CHILD = r"""
import json, logging, os, sys, warnings
import tensorflow as tf
import keras
import scipy.ndimage  # adds scipy.special's own 'always' warning filter: the dependency's, not ours
from absl import logging as absl_logging

def snapshot():
    loggers = {}
    for name in ("root", "tensorflow", "absl"):
        logger = logging.getLogger(None if name == "root" else name)
        loggers[name] = {"filters": [repr(f) for f in logger.filters],
                         "handlers": [repr(h) for h in logger.handlers] + [
                             repr(f) for h in logger.handlers for f in h.filters],
                         "level": logger.level, "propagate": logger.propagate,
                         "disabled": logger.disabled}
    fd2 = os.fstat(2)
    return {"environ": dict(os.environ), "loggers": loggers, "fd2": [fd2.st_ino, fd2.st_dev],
            "streams": [id(sys.stdout), id(sys.stderr)],
            "absl_verbosity": absl_logging.get_verbosity(),
            "warnings": [repr(f) for f in warnings.filters],
            "keras_policy": keras.mixed_precision.global_policy().name,
            "tf_optimizer": repr(sorted(tf.config.optimizer.get_experimental_options().items()))}

before = snapshot()
redirections = []
real_dup, real_dup2 = os.dup, os.dup2
os.dup = lambda *a: redirections.append(("dup", a)) or real_dup(*a)
os.dup2 = lambda *a, **k: redirections.append(("dup2", a)) or real_dup2(*a, **k)
import importlib
for name in sys.argv[2:]:
    importlib.import_module(name)
import pgan_tf
generate = pgan_tf.load_generator(sys.argv[1])
os.dup, os.dup2 = real_dup, real_dup2
after = snapshot()
changed = {k: [before[k], after[k]] for k in before if before[k] != after[k]}
if "environ" in changed:
    b, a = changed["environ"]
    changed["environ"] = {k: [b.get(k), a.get(k)] for k in set(b) | set(a) if b.get(k) != a.get(k)}
print(json.dumps({"changed": changed, "redirections": [str(r) for r in redirections]}))
"""


@pytest.mark.parametrize("log_level", ["2", None], ids=["TF_CPP_MIN_LOG_LEVEL=2", "unset"])
def test_importing_and_loading_change_no_global_state(tmp_path_factory, log_level):
    run_dir, _, _ = tiny_run(tmp_path_factory)
    assert os.path.isdir(os.path.join(run_dir, "export", "generator"))
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    if log_level is not None:
        env["TF_CPP_MIN_LOG_LEVEL"] = log_level
    out = subprocess.run([sys.executable, "-c", CHILD, run_dir, *MODULES], env=env,
                         capture_output=True, text=True, timeout=300,
                         cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report == {"changed": {}, "redirections": []}
