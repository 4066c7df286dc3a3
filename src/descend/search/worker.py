"""What a worker runs: one job of a trial = one call of ``descend.train.run.run`` on the trial's run
directory, with the test split locked (``evaluate_test=False``).

A job resumes from the run's last checkpoint when there is one (a promoted trial of successive halving,
or a trial whose worker or driver was killed); otherwise it starts the run afresh. A process runs one
job at a time, holding the trial's lock file (so a job left running by a killed driver finishes before
the same trial is resumed), with its BLAS threads limited by threadpoolctl. The run's printed lines go to
``trials/NNNN.log`` beside its run directory, with anything it writes to stdout or stderr (warnings).
"""

import contextlib
import json
import os
import shutil
import signal
import threading
import time
import traceback

from ..train.checkpoint import atomic_write, checkpoint_exists, load_checkpoint
from ..train.config import dumps
from ..train.run import TrainingDiverged, run
from .trial import strict

try:
    import fcntl
except ImportError:  # pragma: no cover - not on POSIX
    fcntl = None

_ONE_JOB_AT_A_TIME = threading.Lock()   # descend's random generators are per process


@contextlib.contextmanager
def _locked(path):
    if fcntl is None:
        yield
        return
    with open(path, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


_BLAS_THREADS = [None]   # the limit this process set (one job at a time: the limit is the process's)


def _limit_blas_threads(n):
    """Limit this process's BLAS libraries to ``n`` threads (threadpoolctl), once per process and limit."""
    if n is not None and n != _BLAS_THREADS[0]:
        from threadpoolctl import threadpool_limits
        threadpool_limits(limits=n, user_api="blas")
        _BLAS_THREADS[0] = n


def log_path(run_dir):
    """Where a trial's output goes: ``trials/NNNN.log`` beside its run directory (which the run creates)."""
    return run_dir.rstrip(os.sep) + ".log"


def read_metrics(run_dir):
    """The per-epoch logs of the run in ``run_dir`` (metrics.jsonl), as a list of dicts."""
    path = os.path.join(run_dir, "metrics.jsonl")
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def _resumable(run_dir):
    """(True, None) if the run in ``run_dir`` has a last checkpoint that loads; (False, why) if it has one that
    does not (a process killed while writing it): the job then starts the run afresh, which gives the same
    run, since a trial's config fixes every seed; (False, None) without a checkpoint."""
    last = os.path.join(run_dir, "checkpoints", "last")
    if not checkpoint_exists(last):
        return False, None
    try:
        load_checkpoint(last)
    except (ValueError, OSError) as e:
        return False, f"search: the last checkpoint cannot be loaded ({e}); the trial starts afresh"
    return True, None


def run_job(job):
    """Run ``job`` = {"config", "run_dir", "lock", "threads", "evaluate_test"}; returns a dict with the run's
    ``summary`` (or ``error``, the exception's text), its per-epoch ``metrics``, ``seconds`` (time in this
    call), ``started``/``finished`` (Unix times) and ``resumed``. Never raises for a failing run."""
    os.makedirs(os.path.dirname(job["lock"]), exist_ok=True)
    with _ONE_JOB_AT_A_TIME, _locked(job["lock"]):
        _limit_blas_threads(job["threads"])
        started, t0 = time.time(), time.perf_counter()
        run_dir, config = job["run_dir"], job["config"]
        resume, note = _resumable(run_dir)
        if not resume and os.path.exists(run_dir):
            shutil.rmtree(run_dir)
        result = {"resumed": resume}
        with open(log_path(run_dir), "a") as log, contextlib.redirect_stdout(log), \
                contextlib.redirect_stderr(log):
            def out(*lines):
                log.write(" ".join(map(str, lines)) + "\n")
            if note:
                out(note)
            try:
                result["summary"] = run(config, run_dir=run_dir, resume=resume, out=out,
                                        evaluate_test=job["evaluate_test"])
                atomic_write(os.path.join(run_dir, "config.toml"), dumps(config).encode())
            except TrainingDiverged as e:
                out(str(e))
                result["error"] = "diverged: " + str(e).removeprefix("training diverged: ")
            except Exception as e:  # a failing trial is a result, not a crash of the study
                out(traceback.format_exc())
                result["error"] = f"{type(e).__name__}: {e}"
        result["metrics"] = read_metrics(run_dir)
        result.update(seconds=time.perf_counter() - t0, started=started, finished=time.time())
        return strict(result)


def dask_job(job):
    """:func:`run_job` on a Dask worker, with as many BLAS threads as the worker has threads."""
    from distributed import get_worker
    return run_job(dict(job, threads=get_worker().state.nthreads))


def sees(path):
    """True if this process sees the directory ``path`` (a Dask worker must share the study's filesystem)."""
    return os.path.isdir(path)


def _watch_parent(parent):
    while True:
        time.sleep(0.2)
        if os.getppid() != parent:
            os._exit(3)   # the driver died: stop at once (its lock is released; the resumed study redoes the job)


def serve(conn):
    """A local worker process: run the jobs received on ``conn`` and send back their results until None,
    or until its parent dies (the driver, or the fork server that ends with the driver), noticed within
    0.2 s. Ctrl-C is the driver's to handle."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_watch_parent, args=(os.getppid(),), daemon=True).start()
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        if job is None:
            return
        try:
            result = run_job(job)
        except Exception as e:  # the study directory itself failed (disk full, permissions): a FAILED trial
            result = {"error": f"{type(e).__name__}: {e}", "metrics": [], "seconds": 0.0, "started": None,
                      "finished": time.time()}
        conn.send(result)
