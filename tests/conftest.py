"""Shared pytest set-up: quiet TensorFlow, import it once with its start-up chatter filtered."""
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO not in sys.path:
    sys.path.insert(0, REPO)


def pytest_configure(config):
    # `make test` runs `-m "not slow"`; `make test-slow` (also in .ci/run) runs the slow end-to-end
    # checks: wheel install, multi-worker preemption, real full-disk mounts, reproduce end to end.
    config.addinivalue_line("markers", "slow: end-to-end checks run by `make test-slow`")
    config.addinivalue_line("markers", "soak: the SIGKILL soak, run by `make soak` only")
    # Keras 3.15 with NumPy 2.4 warns from its own internals (model.get_weights): not our code.
    config.addinivalue_line("filterwarnings", "ignore:.*__array__.*copy keyword:DeprecationWarning")
