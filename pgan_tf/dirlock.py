"""One writer per folder: a lock file naming the host and process that writes a run dir (or an
export folder), so a second trainer or exporter on it refuses in one line instead of interleaving
checkpoints, logs and exports.

The lock file is JSON `{"host", "pid", "boot_id", "token", "started", "command", "flock"}`: it
names the holder in messages (a lock without `"flock"`, from an older pgan_tf, is judged by the
PID rules). Whether the holder still runs is decided by the kernel where it can be:

- Local and network file systems: created atomically with `os.open(O_CREAT | O_EXCL)` (of two
  processes starting together, exactly one gets it), then held with `fcntl.flock` on that open
  file until release. The kernel drops the flock when the process dies, however it dies and
  whatever its PID, so "no process holds the flock" is the liveness test: a container restarted
  after an OOM kill (same hostname and boot id, often the same PID, even PID 1) takes its own old
  lock over. On a network file system (NFS, CIFS, ...) a flock taken on another host may not be
  seen, so there it decides only for locks of this host.
- Where no flock can be taken (a file system without it): the lock is stale when its PID is not
  running, the machine rebooted since (another boot id), the PID now runs a program that is not a
  pgan_tf binary, or the PID is this very process's but not a lock it holds (a restarted
  container). An empty or unparsable lock is stale when no process holds its flock or, where none
  can be taken, once older than a minute; a younger one is a lock being written.
- A lock file that could not be written (disk full: an empty `.lock`) is removed again, and the
  start fails in one line (`disk.WriteError`, exit 74).
- Object stores (`gs://`, `s3://`) and `ram://` have no exclusive create and no flock. Best
  effort: when no lock exists, write one with a random token and read it back; a process that
  reads another token lost. Two processes starting within the same second or so may both pass;
  start multi-worker jobs once. Staleness there follows the PID rules above.
- A lock from ANOTHER host that the kernel cannot judge is never taken over automatically (no
  heartbeat is kept): refused, with the command that removes it once the user has checked that the
  other process is gone.

`in_use(path)` asks the same question without taking the lock: readers (export, evaluate) leave
a live trainer's checkpoints where they are (`training/generator.py`).

Released on normal exit, on a graceful stop (SIGTERM / Ctrl-C: the loop returns normally) and on
errors (`with` / try-finally, and at interpreter exit as a last resort); a SIGKILL or a crash
leaves the file, and the next start takes it over.
"""
import atexit
import datetime
import json
import os
import platform
import sys
import time
import uuid

try:
    import fcntl
except ImportError:  # not POSIX: no kernel lock, the PID rules decide
    fcntl = None

from pgan_tf import disk, fileio
from pgan_tf.errors import UserError

LOCK_FILE = ".lock"
_BOOT_ID = "/proc/sys/kernel/random/boot_id"
# An empty or unparsable lock nobody can be seen holding is "being written" this long, then stale
# (the creator writes its JSON microseconds after creating the file; a minute is generous).
UNPARSABLE_GRACE_S = 60.0
# Younger than this, an empty lock is taken for one being written even when its flock is free:
# the creator takes the flock just after creating the file.
FRESH_S = 2.0
# File systems where a flock taken on another host may be invisible here.
_NETWORK_FS = ("nfs", "nfs4", "cifs", "smb3", "smbfs", "ceph", "glusterfs", "lustre", "gpfs",
               "9p", "afs", "beegfs", "fuse.sshfs", "fuse.s3fs", "fuse.gcsfuse", "fuse.glusterfs")
_HELD = set()  # tokens of the locks this process holds now


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


def _runs_pgan_tf(pid, command):
    """False when `pid` now runs a program that is neither a pgan_tf binary nor the program named
    in the lock (`command`, its argv); True when it does or when that cannot be read (no /proc)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            text = f.read().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return True
    if "pgan" in text:
        return True
    first = str(command[0]) if isinstance(command, list) and command else ""
    program = os.path.basename(first)
    if program == "__main__.py":  # `python -m package`: the package is the program
        program = os.path.basename(os.path.dirname(first))
    return bool(program) and program in text


def _network_fs(path):
    """True when `path` lies on a network file system (/proc/self/mountinfo); False if unknown."""
    try:
        with open("/proc/self/mountinfo", encoding="utf-8") as f:
            lines = f.read().splitlines()
    except OSError:
        return False
    real, best, kind = os.path.realpath(path), "", ""
    for line in lines:
        fields, _, tail = line.partition(" - ")
        point = fields.split(" ")[4].replace("\\040", " ") if len(fields.split(" ")) > 4 else ""
        if point and (real == point or real.startswith(point.rstrip("/") + "/")) and \
                len(point) >= len(best):
            best, kind = point, (tail.split(" ") or [""])[0]
    return kind in _NETWORK_FS


def _take_flock(fd, tries=100):
    """Hold the flock of the new lock file `fd` (module docstring). Another starter judging the
    file holds it for microseconds: retried for up to a second. Without flock support the PID
    rules decide."""
    if fcntl is None:
        return
    for _ in range(tries):
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            time.sleep(0.01)
        except OSError:  # not supported on this file system
            return


def _describe(holder, path):
    return (f"pid {holder.get('pid')} on host {holder.get('host')} since {holder.get('started')} "
            f"(lock file {path})")


def in_use(path):
    """True when a live process holds the lock file `path` (a trainer writing its run dir), by
    the same rules as `acquire`; False when there is none or it is stale. Reads only."""
    probe = DirLock(path, "probe")
    holder = probe._read()
    return holder is not None and probe._stale_reason(holder) is None


class DirLock:
    """Exclusive writer lock held in the file `path`: `with DirLock(path, "training"): ...` or
    `acquire()` / `release()`. `what` names the activity, `target` the protected folder (default:
    the lock file's folder) in messages."""

    def __init__(self, path, what, target=None):
        self.path, self.what = str(path), what
        self.target = target or os.path.dirname(self.path)  # what the lock protects (messages)
        self.held = False
        self._fd = None  # the open lock file whose flock this process holds (local paths)
        self.record = {"host": platform.node(), "pid": os.getpid(), "boot_id": _boot_id(),
                       "token": uuid.uuid4().hex, "command": sys.argv, "flock": True,
                       "started": datetime.datetime.now(datetime.timezone.utc)
                       .isoformat(timespec="seconds")}

    def acquire(self):
        """Take the lock; UserError naming the holder when another live process has it."""
        if self._try_create():
            return self._hold()
        holder = self._read()
        reason = None if holder is None else self._stale_reason(holder)
        if holder is not None and reason is None:
            if holder.get("host") == platform.node():
                raise UserError(f"{self.what} refused: {self.target} is in use by "
                                f"{_describe(holder, self.path)}; wait for it or stop it")
            raise UserError(f"{self.what} refused: {self.target} is in use by "
                            f"{_describe(holder, self.path)}; if that process is gone, delete "
                            f"{self.path} and start again")
        if holder is not None:
            print(f"warning: taking over the stale lock of {_describe(holder, self.path)}: "
                  f"{reason}", file=sys.stderr, flush=True)
            if (self._read() or {}).get("token") == holder.get("token"):
                fileio.remove(self.path)  # still the stale one (narrows the race of two takeovers)
        if not self._try_create():  # another process took it over in between
            holder = self._read() or {}
            raise UserError(f"{self.what} refused: {self.target} was just taken "
                            f"by {_describe(holder, self.path)}")
        return self._hold()

    def _hold(self):
        self.held = True
        _HELD.add(self.record["token"])
        atexit.register(self.release)  # an error escaping before the owner's `finally`
        return self

    def release(self):
        """Remove the lock file if it is still ours, then drop its flock (idempotent)."""
        if not self.held:
            return
        self.held = False
        atexit.unregister(self.release)
        _HELD.discard(self.record["token"])
        try:
            holder = self._read()
            if holder is not None and holder.get("token") == self.record["token"]:
                fileio.remove(self.path)
        finally:
            if self._fd is not None:
                os.close(self._fd)  # after the removal: a new lock is never judged by our flock
                self._fd = None

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()
        return False

    def _try_create(self):
        """Create the lock file exclusively; False when one exists (see module docstring)."""
        data = (json.dumps(self.record, indent=2) + "\n").encode("utf-8")
        if fileio.is_remote(self.path):
            if fileio.exists(self.path):  # object store: write, then read back (best effort)
                return False
            fileio.write_atomic(self.path, data)
            holder = self._read()
            return holder is not None and holder.get("token") == self.record["token"]
        try:
            fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            return False
        try:
            _take_flock(fd)  # before the JSON: a judge sees a young empty file or a held flock
            with disk.writing("the lock file", self.path, point="lock"):  # full disk: exit 74
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view):]
        except BaseException:
            os.close(fd)
            os.remove(self.path)  # an empty or half lock would refuse later starts
            raise
        self._fd = fd
        return True

    def _read(self):
        """The lock's JSON, None when it is gone; an empty or unparsable one: a dict marked
        `unparsable` (a lock being written this very moment, or the rest of a failed write)."""
        try:
            holder = json.loads(fileio.read_text(self.path))
        except fileio.not_found_errors():
            return None
        except ValueError:
            holder = None
        if isinstance(holder, dict):
            return holder
        return {"host": "?", "pid": "?", "started": "? (lock file empty or unreadable)",
                "unparsable": True}

    def _kernel_free(self):
        """True when no process holds the lock file's flock, False when one does, None when
        that cannot be told (object stores, no flock support)."""
        if fcntl is None or fileio.is_remote(self.path):
            return None
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            return True
        except OSError:
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        except OSError:
            return None
        finally:
            os.close(fd)  # also drops a flock taken just now
        return True

    def _age(self):
        """Seconds since the lock file was last written (local paths), None if unknown."""
        try:
            return time.time() - os.stat(self.path).st_mtime
        except (OSError, ValueError):
            return None

    def _stale_reason(self, holder):
        """Why `holder`'s lock is stale (module docstring), or None when it may be in use."""
        kernel = self._kernel_free()
        if kernel is False:
            return None
        unparsable = holder.get("unparsable", False)
        age = None if fileio.is_remote(self.path) else self._age()
        if kernel and unparsable and age is not None and age < FRESH_S:
            return None  # being created this moment: its flock comes next
        # A lock written before flocks were taken ("flock" absent) is judged by its PID.
        if kernel and (unparsable or holder.get("flock")) and (
                holder.get("host") == platform.node() or not _network_fs(self.path)):
            return "no process holds it (the kernel lock is free)"
        if unparsable:
            if age is not None and age > UNPARSABLE_GRACE_S:
                return f"it is empty or unreadable and {age:.0f} s old"
            return None
        return self._pid_reason(holder)

    def _pid_reason(self, holder):
        """Staleness by the PID rules (no kernel lock to ask), or None."""
        if holder.get("host") != platform.node():
            return None
        if holder.get("boot_id") and self.record["boot_id"] and \
                holder["boot_id"] != self.record["boot_id"]:
            return "the machine rebooted since"
        pid = holder.get("pid")
        if not isinstance(pid, int):
            return None
        if pid == os.getpid():
            return None if holder.get("token") in _HELD else \
                "its pid is this process's, which does not hold it (a restarted container)"
        if not _pid_alive(pid):
            return "that process is no longer running"
        if not _runs_pgan_tf(pid, holder.get("command")):
            return f"pid {pid} now runs another program, not a pgan_tf binary"
        return None
