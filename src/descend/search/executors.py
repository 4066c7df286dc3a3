"""Where jobs run: worker processes on this machine, or a Dask cluster.

Both offer ``slots`` (how many jobs run at once), ``submit(tag, job)``, ``wait()`` (blocks until at least
one job finished; returns ``[(tag, result)]``) and ``close()``. A result is the dict of
:func:`descend.search.worker.run_job`; a worker that dies under a job gives ``{"died": ...}``.
"""

import multiprocessing
import os
import socket
import sys
import threading
from multiprocessing.connection import wait as wait_any
from urllib.parse import urlsplit

from . import worker
from .settings import SearchError


def cores():
    """The number of cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


class _Process:
    def __init__(self, context):
        self.conn, child = context.Pipe()
        self.process = context.Process(target=worker.serve, args=(child,), daemon=True,
                                       name="descend-search-worker")
        self.process.start()
        child.close()
        self.tag = None


def _context():
    """How a worker process starts, decided when it starts. On Linux, from a driver with no other Python
    thread: forked from it ("fork", as PyTorch's DataLoader workers; OpenBLAS restarts its threads in the
    child), so that it starts at once with descend imported. Otherwise on Linux: forked from a clean server
    process that imported descend once ("forkserver"). Elsewhere (macOS's Accelerate is not fork-safe):
    "spawn"."""
    if sys.platform.startswith("linux"):
        if threading.active_count() == 1:
            return multiprocessing.get_context("fork")
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["descend.search.worker"])
        return context
    return multiprocessing.get_context("spawn")


class LocalExecutor:
    """``workers`` processes, each running one job at a time with ``threads = max(1, cores // workers)`` BLAS
    threads, so that workers × threads ≤ cores."""

    def __init__(self, workers):
        self.context = _context()
        self.threads = max(1, cores() // workers)
        self.processes = [_Process(self.context) for _ in range(workers)]

    @property
    def slots(self):
        return len(self.processes)

    def describe(self):
        """One line saying where the jobs run."""
        n = len(self.processes)
        return f"{n} local worker{'s' * (n > 1)} × {self.threads} BLAS thread{'s' * (self.threads > 1)}"

    def submit(self, tag, job):
        """Start ``job`` on an idle worker."""
        p = next(p for p in self.processes if p.tag is None)
        p.conn.send(dict(job, threads=self.threads))
        p.tag = tag

    def wait(self):
        busy = [p for p in self.processes if p.tag is not None]
        ready = set(wait_any([p.conn for p in busy] + [p.process.sentinel for p in busy]))
        done = []
        for i, p in enumerate(self.processes):
            if p.tag is None or (p.conn not in ready and p.process.sentinel not in ready):
                continue
            try:
                result = p.conn.recv() if p.conn.poll() else None
            except (EOFError, OSError):
                result = None
            if result is None:
                p.process.join(5)
                result = {"died": f"its worker process died (exit code {p.process.exitcode}; killed, or out of "
                                  f"memory?)"}
                p.conn.close()
                self.processes[i] = _Process(_context())      # the driver has threads by now (progress bar)
            done.append((p.tag, result))
            p.tag = None
        return done

    def close(self):
        """Stop the workers (a running job is abandoned: its trial resumes from its checkpoint next time)."""
        for p in self.processes:
            if p.tag is None:
                try:
                    p.conn.send(None)
                except OSError:
                    pass
            else:
                p.process.terminate()
        for p in self.processes:
            p.process.join(5)
            if p.process.is_alive():
                p.process.kill()
                p.process.join()
            p.conn.close()
        self.processes = []


def check_address(address, timeout):
    """Raise SearchError at once if a ``tcp://host:port`` scheduler address is malformed or refuses
    connections (Dask itself would retry until its timeout)."""
    parts = urlsplit(address if "://" in address else "tcp://" + address)
    try:
        port = parts.port
    except ValueError:
        port = None
    if parts.scheme != "tcp":
        return
    if not parts.hostname or port is None:
        raise SearchError(f"--dask {address!r}: expected a scheduler address like tcp://host:8786")
    try:
        socket.create_connection((parts.hostname, port), timeout=timeout).close()
    except OSError as e:
        raise SearchError(f"cannot reach the Dask scheduler at {address} ({e.strerror or e})") from None


class DaskExecutor:
    """Jobs on a Dask cluster: the scheduler at ``address`` (``tcp://host:8786``), an existing
    ``distributed.Client``, or a new ``LocalCluster`` of ``workers`` single-threaded worker processes.
    One job runs at a time per Dask worker process, with as many BLAS threads as that worker has threads."""

    def __init__(self, address=None, workers=None, client=None, timeout=10):
        try:
            import distributed
        except ImportError:
            raise SearchError("the Dask executor needs dask.distributed: pip install 'descend[dask]'") from None
        self.distributed, self.cluster = distributed, None
        if client is not None:
            self.client = client
            self.owns_client = False
        elif address is not None:
            check_address(address, timeout)
            try:
                self.client = distributed.Client(address, timeout=timeout)
            except (OSError, TimeoutError) as e:
                raise SearchError(f"cannot reach the Dask scheduler at {address} ({e})") from None
            self.owns_client = True
        else:
            self.cluster = distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                                    dashboard_address=None)
            self.client = distributed.Client(self.cluster)
            self.owns_client = True
        self.futures = {}

    @property
    def slots(self):
        return max(1, len(self.client.scheduler_info()["workers"]))

    def describe(self):
        """One line saying where the jobs run."""
        where = ("a local Dask cluster" if self.cluster is not None
                 else f"the Dask cluster at {self.client.scheduler.address}")
        return f"{self.slots} Dask workers on {where}"

    def check_shared(self, directory):
        """Raise SearchError naming the workers that do not see ``directory``."""
        seen = self.client.run(worker.sees, os.path.abspath(directory))
        blind = sorted(w for w, ok in seen.items() if not ok)
        if blind:
            raise SearchError(
                f"Dask worker{'s' * (len(blind) > 1)} {', '.join(blind)} cannot see the study "
                f"directory {os.path.abspath(directory)}: put it on a filesystem every worker shares"
            )

    def submit(self, tag, job):
        """Submit ``job`` to the cluster."""
        future = self.client.submit(worker.dask_job, job, pure=False)
        self.futures[future] = tag

    def wait(self):
        done, _ = self.distributed.wait(list(self.futures), return_when="FIRST_COMPLETED")
        out = []
        for f in done:
            tag = self.futures.pop(f)
            try:
                out.append((tag, f.result()))
            except Exception as e:  # the job never ran to its end on the cluster (e.g. KilledWorker)
                out.append((tag, {"error": f"on the Dask cluster: {type(e).__name__}: {e}"}))
        return out

    def close(self):
        """Cancel what is left and disconnect (closing the LocalCluster this executor started)."""
        if self.client is None:
            return
        if self.futures:
            self.client.cancel(list(self.futures))
            self.futures = {}
        if self.owns_client:
            self.client.close()
        if self.cluster is not None:
            self.cluster.close()
        self.client = None
