"""Launch two training workers on localhost under MultiWorkerMirroredStrategy (TF_CONFIG) and
wait for both. Usage: `python -m tests.multiworker_check DATA_DIR RUN_DIR TOTAL_KIMG TMPDIR`;
exit code 0 if both workers exit 0. Non-chief checkpoint copies go under TMPDIR."""
import json
import socket
import subprocess
import sys

from tests.train_helpers import REPO, train_command, train_env


def _free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def start_workers(data_dir, run_dir, total_kimg, tmpdir, *extra):
    """Two `pgan_tf.train --strategy=multi_worker [extra flags]` processes on localhost
    (stdout/stderr piped)."""
    workers = [f"127.0.0.1:{p}" for p in _free_ports(2)]
    procs = []
    for index in range(2):
        tf_config = {"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}}
        env = train_env(TF_CONFIG=json.dumps(tf_config), TMPDIR=tmpdir)
        cmd = train_command(data_dir, run_dir, "--strategy=multi_worker",
                            f"--total_kimg={total_kimg}", *extra)
        procs.append(subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True))
    return procs


def main(data_dir, run_dir, total_kimg, tmpdir):
    procs = start_workers(data_dir, run_dir, total_kimg, tmpdir)
    codes = []
    for index, proc in enumerate(procs):
        out, err = proc.communicate(timeout=400)
        codes.append(proc.returncode)
        print(f"--- worker {index} exit {proc.returncode}\n{out[-2000:]}\n{err[-3000:]}")
    return 0 if codes == [0, 0] else 1


if __name__ == "__main__":
    sys.path.insert(0, REPO)
    sys.exit(main(*sys.argv[1:5]))
