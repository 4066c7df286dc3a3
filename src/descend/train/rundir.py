"""Run directories: created whole or not at all, and locked while a process trains in them.

- :func:`create_run` prepares a new run in a hidden temporary directory beside the target (its files
  written, its lock taken) and publishes it with one rename: a kill leaves either no run or a
  complete one. ``overwrite=True`` moves an existing run aside first and deletes it after the new
  one is published; without it an existing run is refused.
- :class:`RunLock` is an exclusive ``fcntl.flock`` on ``<run>/.lock``, which holds the owner's pid.
  The OS releases it when the process ends, however it ends, so a killed run never stays locked;
  a second process trying to train in the same directory gets a :class:`RunError` naming the pid.
- Leftovers of killed processes (temporary directories beside runs, temporary files inside them)
  are removed by the next process that starts there (:func:`remove_stale`, :func:`clean_run`).
"""

import errno
import fcntl
import hashlib
import os
import shutil
import socket
import time

from .files import process_alive, fsync_directory, kill_point, remove_temporaries

LOCK = ".lock"
TEMP_PREFIX = ".descend-"
MARKERS = ("config.toml", "metrics.jsonl", "checkpoints", "summary.json")   # what makes a directory a run
STALE_SECONDS = 60


class RunError(ValueError):
    """A run directory that cannot be used as asked (in use, already a run, not a run, unfinished)."""


class RunLock:
    """Hold ``<directory>/.lock`` exclusively; raises RunError naming the holder's pid if another process has it."""

    def __init__(self, directory):
        self.directory = os.fspath(directory)
        path = os.path.join(self.directory, LOCK)
        try:
            self.fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except FileNotFoundError:
            raise RunError(f"{self.directory} does not exist") from None
        except NotADirectoryError:
            raise RunError(f"{self.directory} is not a directory") from None
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_pid(self.fd)
            os.close(self.fd)
            who = f"process {holder}" if holder else "another process"
            raise RunError(f"run directory {self.directory} is in use by {who} (a descend train writing to it); "
                           f"wait for it to end or stop it") from None
        if os.fstat(self.fd).st_ino != _inode(path):   # the directory was replaced while we waited
            os.close(self.fd)
            raise RunError(f"run directory {self.directory} changed while it was being opened; try again")
        os.ftruncate(self.fd, 0)
        os.write(self.fd, f"{os.getpid()}\n".encode())

    def release(self):
        """Release the lock (also done by the OS when the process ends)."""
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.release()


def _read_pid(fd):
    try:
        text = os.pread(fd, 32, 0).decode().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def _inode(path):
    try:
        return os.stat(path).st_ino
    except FileNotFoundError:
        return None


def holder(directory):
    """The pid of the process training in ``directory`` (None if no process holds its lock)."""
    path = os.path.join(directory, LOCK)
    if not os.path.exists(path):
        return None
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return _read_pid(fd) or -1
    finally:
        os.close(fd)
    return None


def is_run(directory):
    """True if ``directory`` holds a descend run (or what is left of one)."""
    return any(os.path.exists(os.path.join(directory, m)) for m in MARKERS)


def _host():
    return hashlib.sha256(socket.gethostname().encode()).hexdigest()[:8]


def _temp_name(kind, name):
    return f"{TEMP_PREFIX}{kind}-{os.getpid()}-{_host()}-{name}"


def _stale(path, name):
    """A temporary directory is stale when its process (on this host) is gone, or when no process holds its lock
    and it is older than a minute (another host's, or a reused pid)."""
    parts = name[len(TEMP_PREFIX):].split("-", 3)
    if len(parts) == 4 and parts[1].isdigit() and parts[2] == _host() and not process_alive(int(parts[1])):
        return True
    if holder(path) is not None:
        return False
    return time.time() - os.path.getmtime(path) > STALE_SECONDS


def remove_stale(parent):
    """Delete the temporary directories that killed processes left in ``parent``; those of live processes stay."""
    if not os.path.isdir(parent):
        return
    for name in os.listdir(parent):
        p = os.path.join(parent, name)
        try:
            if name.startswith(TEMP_PREFIX) and os.path.isdir(p) and _stale(p, name):
                shutil.rmtree(p, ignore_errors=True)
        except FileNotFoundError:  # another process published (renamed) it meanwhile
            continue


def clean_run(run_dir):
    """Delete the temporary files interrupted writes left in ``run_dir`` (call it holding the run's lock)."""
    for sub in ("", "checkpoints", "plots"):
        remove_temporaries(os.path.join(run_dir, sub))


def create_run(run_dir, files, overwrite=False):
    """Create the run directory ``run_dir`` holding ``files`` ({name: bytes}) in one rename; returns its RunLock.

    An existing run is refused unless ``overwrite``; an existing empty directory is used; anything else raises.
    """
    run_dir = os.path.abspath(os.fspath(run_dir))
    parent, name = os.path.split(run_dir)
    os.makedirs(parent, exist_ok=True)
    remove_stale(parent)
    old = None
    if os.path.lexists(run_dir):
        if not os.path.isdir(run_dir):
            raise RunError(f"{run_dir} exists and is not a directory")
        if is_run(run_dir):
            if not overwrite:
                raise RunError(f"{run_dir} already holds a run: continue it with `descend train --resume {run_dir}`, "
                               f"or replace it with `descend train --overwrite --out {run_dir}`")
            old = RunLock(run_dir)
        elif os.listdir(run_dir):
            raise RunError(f"{run_dir} is not empty and is not a descend run; choose another directory")
    tmp = os.path.join(parent, _temp_name("new", name))
    trash = os.path.join(parent, _temp_name("old", name))
    os.mkdir(tmp)
    lock = None
    try:
        lock = RunLock(tmp)
        for fname, data in files.items():
            with open(os.path.join(tmp, fname), "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
        fsync_directory(tmp)
        if old is not None:
            os.rename(run_dir, trash)
        kill_point("run:publish")
        try:
            os.rename(tmp, run_dir)
        except OSError as e:
            if e.errno not in (errno.EEXIST, errno.ENOTEMPTY):
                raise
            if old is not None:
                os.rename(trash, run_dir)
            raise RunError(f"{run_dir} was created by another process meanwhile; choose another directory") from None
    except BaseException:
        if lock is not None:
            lock.release()
        shutil.rmtree(tmp, ignore_errors=True)
        if old is not None:
            old.release()
        raise
    fsync_directory(parent)
    lock.directory = run_dir
    if old is not None:
        shutil.rmtree(trash, ignore_errors=True)
        old.release()
    return lock
