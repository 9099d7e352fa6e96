"""One writer per results folder: an advisory lock (flock) on `<results>/.writer.lock`.

The lock dies with its process, so a killed run never leaves a stale lock behind. The file
says who holds it, so a second run can name the first. A tool that starts asv hands its
lock to the asv process (`inherit_env`), whose checkpoint plugin takes the same lock again.
"""

import contextlib
import fcntl
import os
import shlex
import sys
import time

from .cli import ToolError

LOCK_FILE = ".writer.lock"
# An inherited lock: the descriptor number of the parent's open lock file.
FD_ENV = "MLX_TORCH_BENCH_LOCK_FD"


def _same_file(fd, path):
    try:
        a, b = os.fstat(fd), os.stat(path)
    except OSError:
        return False
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def _holder(fd):
    """Who holds the lock, as the holder wrote it: just after taking the lock, so a run that
    started at the same instant may find the file empty for a moment."""
    for _ in range(40):
        text = os.pread(fd, 4096, 0).decode(errors="replace").strip()
        if text:
            return text
        time.sleep(0.025)
    return "another process"


def hold(results_dir, what=None):
    """Take the lock of `results_dir` (created if missing) for this process; returns the
    open descriptor, which holds the lock until it is closed or the process ends."""
    path = os.path.join(results_dir, LOCK_FILE)
    inherited = os.environ.get(FD_ENV, "")
    if inherited.isdigit() and _same_file(int(inherited), path):
        return int(inherited)  # the tool that started this asv holds it for us
    try:
        os.makedirs(results_dir, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
    except OSError as exc:
        raise ToolError(f"cannot lock {results_dir} ({exc.strerror}); fix its permissions or choose another folder") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = _holder(fd)
        os.close(fd)
        raise ToolError(f"{results_dir} is being written by {holder}; wait for it to finish "
                        "or write into another results folder") from None
    command = what or shlex.join([os.path.basename(sys.executable)] + sys.argv)
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"pid {os.getpid()} ({command[:200]})".encode(), 0)
    return fd


def inherit_env(fd, env):
    """`env` for a child process that keeps using the lock held through `fd`."""
    os.set_inheritable(fd, True)
    return dict(env, **{FD_ENV: str(fd)})


@contextlib.contextmanager
def held(results_dir, what=None):
    """The lock of `results_dir` for the duration of a `with` block; yields the descriptor."""
    fd = hold(results_dir, what)
    try:
        yield fd
    finally:
        if str(fd) != os.environ.get(FD_ENV):
            os.close(fd)
