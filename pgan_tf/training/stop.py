"""SIGTERM / Ctrl-C during `pgan-train`: what each signal does depends on where the run is.

* **setup** (flags checked, TensorFlow loading, models built, checkpoint restored): the signal is
  remembered; the run then stops before its first step, saves nothing, exits 0 (one line).
* **training**: the loop finishes the step under way, closes the tick with a checkpoint, exits 0
  (`loop.train`).
* **export** (the end-of-run SavedModel): the export is abandoned at once (`ExportStopped`), its
  temporary folder removed, exit 0; the next run of the same command writes it.
* **closing** (after the export: summaries closed, lock released): noted, exit 0.

A second signal while the first is being handled stops at once with one line (exit 128 + signal
number, as a shell reports a killed process), never a KeyboardInterrupt traceback. The last
checkpoint written is kept. Imports nothing heavy: the binary installs it before TensorFlow loads.
"""
import signal
import sys

SETUP, TRAINING, EXPORT, CLOSING = "setup", "training", "export", "closing"


class ExportStopped(BaseException):
    """Raised by the handler during the export (BaseException: no `except Exception` keeps the
    export going; `save_generator` removes its temporary folder on the way out)."""


class StopRequest:
    """Context manager holding SIGTERM/SIGINT handlers for the whole run; see module docstring.

    `requested` and `signum` tell the loop which signal asked for a stop; `phase` is set by the
    loop as it moves from setup to training to export."""

    def __init__(self):
        self.requested = False
        self.signum = None
        self.phase = SETUP
        self._previous = {}

    def __enter__(self):
        for sig in (signal.SIGTERM, signal.SIGINT):
            self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def claim(self):
        """Install the handlers again. TensorFlow's MultiWorkerMirroredStrategy installs a C-level
        SIGTERM handler of its own (its preemption notifier) when it starts, behind Python's back:
        Python's handler then never runs. Called once the strategy exists."""
        for sig in self._previous:
            signal.signal(sig, self._handle)

    def _handle(self, signum, frame):
        name = signal.Signals(signum).name
        if self.phase == EXPORT:
            self.requested, self.signum = True, self.signum or signum
            raise ExportStopped(name)
        if self.requested:  # a second signal means now
            print(f"Received {name} again: stopped at once; the last checkpoint written is kept "
                  "(rerun the same command to resume)", file=sys.stderr, flush=True)
            raise SystemExit(128 + signum)
        self.requested, self.signum = True, signum
        if self.phase == SETUP:
            print(f"Received {name} before training started: stopping without saving anything "
                  "(rerun the same command to start or resume)", file=sys.stderr, flush=True)
        elif self.phase == CLOSING:
            print(f"Received {name}: the run's work is saved; exiting", file=sys.stderr,
                  flush=True)
        else:
            print(f"Received {name}: finishing the tick and saving a checkpoint",
                  file=sys.stderr, flush=True)

    def __exit__(self, *exc):
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous = {}
        return False
