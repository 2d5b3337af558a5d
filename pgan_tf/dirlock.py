"""One writer per folder: a lock file naming the host and process that writes a run dir (or an
export folder), so a second trainer or exporter on it refuses in one line instead of interleaving
checkpoints, logs and exports.

The lock file is JSON `{"host", "pid", "boot_id", "token", "started", "command"}`.

- Local and network file systems (NFS v3+ included): created atomically with
  `os.open(O_CREAT | O_EXCL)`: of two processes starting together, exactly one gets it.
- Object stores (`gs://`, `s3://`) and `ram://` have no exclusive create. Best effort: when no lock
  exists, write one with a random token and read it back; a process that reads another token lost.
  Two processes starting within the same second or so may both pass; start multi-worker jobs once.
- A lock left by a killed process on THIS host (its pid is not running, or the machine rebooted
  since: another boot id) is stale: it is taken over with one warning.
- A lock from ANOTHER host is never taken over automatically (we cannot see whether that process
  still runs, and no heartbeat is kept): refused, with the command that removes it once the user
  has checked that the other process is gone.

Released on normal exit, on a graceful stop (SIGTERM / Ctrl-C: the loop returns normally) and on
errors (`with` / try-finally, and at interpreter exit as a last resort); only a SIGKILL or a crash
of the machine leaves a stale lock.
"""
import atexit
import datetime
import json
import os
import platform
import sys
import uuid

from pgan_tf import fileio
from pgan_tf.errors import UserError

LOCK_FILE = ".lock"
_BOOT_ID = "/proc/sys/kernel/random/boot_id"


def _boot_id():
    try:
        with open(_BOOT_ID, encoding="ascii") as f:
            return f.read().strip()
    except OSError:
        return None


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by another user
        return True
    return True


def _describe(holder, path):
    return (f"pid {holder.get('pid')} on host {holder.get('host')} since {holder.get('started')} "
            f"(lock file {path})")


class DirLock:
    """Exclusive writer lock held in the file `path`: `with DirLock(path, "training"): ...` or
    `acquire()` / `release()`. `what` names the activity, `target` the protected folder (default:
    the lock file's folder) in messages."""

    def __init__(self, path, what, target=None):
        self.path, self.what = str(path), what
        self.target = target or os.path.dirname(self.path)  # what the lock protects (messages)
        self.held = False
        self.record = {"host": platform.node(), "pid": os.getpid(), "boot_id": _boot_id(),
                       "token": uuid.uuid4().hex, "command": sys.argv,
                       "started": datetime.datetime.now(datetime.timezone.utc)
                       .isoformat(timespec="seconds")}

    def acquire(self):
        """Take the lock; UserError naming the holder when another live process has it."""
        if self._try_create():
            return self._hold()
        holder = self._read()
        if holder is not None and not self._stale(holder):
            if holder.get("host") == platform.node():
                raise UserError(f"{self.what} refused: {self.target} is in use by "
                                f"{_describe(holder, self.path)}; wait for it or stop it")
            raise UserError(f"{self.what} refused: {self.target} is in use by "
                            f"{_describe(holder, self.path)}; if that process is gone, delete "
                            f"{self.path} and start again")
        if holder is not None:
            print(f"warning: taking over the stale lock of {_describe(holder, self.path)}: that "
                  "process is no longer running", file=sys.stderr, flush=True)
            if (self._read() or {}).get("token") == holder.get("token"):
                fileio.remove(self.path)  # still the stale one (narrows the race of two takeovers)
        if not self._try_create():  # another process took it over in between
            holder = self._read() or {}
            raise UserError(f"{self.what} refused: {self.target} was just taken "
                            f"by {_describe(holder, self.path)}")
        return self._hold()

    def _hold(self):
        self.held = True
        atexit.register(self.release)  # an error escaping before the owner's `finally`
        return self

    def release(self):
        """Remove the lock file if it is still ours (idempotent)."""
        if not self.held:
            return
        self.held = False
        atexit.unregister(self.release)
        holder = self._read()
        if holder is not None and holder.get("token") == self.record["token"]:
            fileio.remove(self.path)

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()
        return False

    def _try_create(self):
        """Create the lock file exclusively; False when one exists (see module docstring)."""
        data = json.dumps(self.record, indent=2) + "\n"
        if not fileio.is_remote(self.path):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                return False
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(data)
            return True
        if fileio.exists(self.path):  # object store: write, then read back (best effort)
            return False
        fileio.write_atomic(self.path, data)
        holder = self._read()
        return holder is not None and holder.get("token") == self.record["token"]

    def _read(self):
        """The lock's JSON, None when it is gone; an unreadable one counts as a foreign holder
        (a lock being written this very moment)."""
        try:
            return json.loads(fileio.read_text(self.path))
        except fileio.not_found_errors():
            return None
        except ValueError:
            return {"host": "?", "pid": "?", "started": "? (lock file being written)"}

    def _stale(self, holder):
        """True when the holder ran on this host and is gone (dead pid or rebooted since)."""
        if holder.get("host") != platform.node():
            return False
        if holder.get("boot_id") and self.record["boot_id"] and \
                holder["boot_id"] != self.record["boot_id"]:
            return True
        pid = holder.get("pid")
        return isinstance(pid, int) and pid != os.getpid() and not _pid_alive(pid)
