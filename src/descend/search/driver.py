"""Running a study: ``run`` starts one, ``resume`` continues a killed one; both end with the protocol's
single look at the test split.

The driver alone writes the study database: after each round of finished jobs, the results, the
scheduler's decisions and the newly started trials, in one transaction. A killed driver loses at most the
epochs since each running trial's last checkpoint: on resume, finished trials are kept as they are,
running ones continue from their checkpoints (a finished run whose result was not yet written is only
re-evaluated), and the trials not yet started are drawn exactly as they would have been.
"""

import contextlib
import json
import os
import sys
import time

from ..train.config import ConfigError, validate
from ..train.run import evaluate_run
from . import report
from .executors import DaskExecutor, LocalExecutor, cores
from .methods import scheduler, trial_params, trial_seed
from .settings import SearchError, Settings, resolve
from .space import from_spec, to_toml
from .storage import FILE, Storage
from .study import Study
from .trial import FAILED, RUNNING, Trial, trial_config
from .worker import run_job

try:
    import fcntl
except ImportError:  # pragma: no cover - not on POSIX
    fcntl = None

#: a trial whose worker process dies this many times is FAILED
MAX_ATTEMPTS = 2


@contextlib.contextmanager
def _study_lock(directory):
    """Hold ``directory/study.lock``; SearchError if another driver holds it."""
    if fcntl is None:
        yield
        return
    f = open(os.path.join(directory, "study.lock"), "a+")
    try:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            f.seek(0)
            raise SearchError(f"the study in {directory} is being run by another driver (pid "
                              f"{f.read().strip() or '?'})") from None
        f.truncate(0)
        f.write(str(os.getpid()))
        f.flush()
        yield
    finally:
        f.close()


def _executor(executor, workers, address, timeout, trials):
    """The executor object for ``executor`` = "local", "dask" or a ``distributed.Client``; a new pool has
    ``workers`` processes (default: one per core), never more than the ``trials`` that can run at once."""
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise SearchError(f"workers = {workers!r}: expected a positive integer")
    n = min(workers or cores(), trials)
    if executor == "local":
        if address is not None:
            raise SearchError("address is for executor='dask'")
        return LocalExecutor(n)
    if executor == "dask":
        return DaskExecutor(address=address, workers=n, timeout=timeout)
    if type(executor).__name__ == "Client":
        return DaskExecutor(client=executor)
    raise SearchError(f"executor = {executor!r}: expected 'local', 'dask' or a distributed.Client")


def default_directory(config):
    """``<output.dir>/search-<date-time>``."""
    return os.path.join(config["output"]["dir"], "search-" + time.strftime("%Y%m%d-%H%M%S"))


def _new_directory(out, config):
    out = out or default_directory(config)
    if os.path.exists(os.path.join(out, FILE)):
        raise SearchError(f"{out} already holds a study: continue it with `descend search --resume {out}`, or "
                          f"choose another --out")
    if os.path.isfile(out) or (os.path.isdir(out) and os.listdir(out)):
        raise SearchError(f"{out} exists and is not empty: choose another --out")
    return out


def run(config, space, method="random", trials=None, workers=None, executor="local", out=None, metric="val_loss",
        mode=None, seed=0, eta=3, min_epochs=1, retrain=False, address=None, timeout=10, verbose=True):
    """Search the hyperparameters of the run ``config`` (a config dict, e.g. from
    ``descend.train.config.load_config``) over ``space`` ({config path: distribution}); return the Study.

    ``method``: "grid", "random" or "halving"; ``trials``: how many (random and halving; default 10; grid runs
    its product); ``metric``/``mode``: what selects (a validation metric the runs log; mode defaults to min
    for losses, max for accuracies); ``seed``: the study seed (trial i's hyperparameters and training seed
    derive from (seed, i)); ``eta``, ``min_epochs``: successive halving's reduction factor and first budget;
    ``retrain``: retrain the best configuration on train + validation before its test. ``executor``:
    "local" (``workers`` processes, default one per core), "dask" (the scheduler at ``address``, or a new
    LocalCluster of ``workers`` processes) or a ``distributed.Client``. ``out``: the study directory (new or
    empty; default ``<output.dir>/search-<time>``). Everything is checked before anything is created.
    """
    if not isinstance(config, dict):
        raise TypeError(f"search.run: config must be a run configuration dict (descend.train.config.load_config), "
                        f"got {type(config).__name__}; for a search file use search.load_file(path)")
    settings = Settings(method=method, trials=trials, metric=metric, mode=mode, seed=seed, eta=eta,
                        min_epochs=min_epochs, retrain=retrain)
    config, settings = resolve(settings, config, space)
    directory = _new_directory(out, config)
    ex = _executor(executor, workers, address, timeout, settings.trials)
    created = not os.path.exists(directory)
    try:
        os.makedirs(directory, exist_ok=True)
        if isinstance(ex, DaskExecutor):
            ex.check_shared(directory)
        storage = Storage.create(directory, {"settings": settings.to_dict(), "space": to_toml(space),
                                             "config": config, "asynchronous": ex.slots > 1})
    except BaseException:
        ex.close()
        if created and os.path.isdir(directory) and not os.listdir(directory):
            os.rmdir(directory)
        raise
    return _drive(storage, ex, verbose)


def resume(directory, workers=None, executor="local", address=None, timeout=10, verbose=True):
    """Continue the study in ``directory`` (after a kill, or to see a finished one): finished trials are
    kept, running ones continue from their last checkpoints. Returns the Study."""
    storage = Storage.open(directory)                   # closed while the workers start (they may fork)
    finished, trials = storage.get("final") is not None, storage.get("settings")["trials"]
    storage.close()
    ex = None if finished else _executor(executor, workers, address, timeout, trials)
    try:
        if isinstance(ex, DaskExecutor):
            ex.check_shared(directory)
        storage = Storage.open(directory)
    except BaseException:
        if ex is not None:
            ex.close()
        raise
    return _drive(storage, ex, verbose)


def _kept_epoch(config, summary):
    """The epoch whose weights the run keeps: the best one under early stopping with restore_best_weights,
    else the last."""
    es = config["training"]["early_stopping"]
    if es["enabled"] and es["restore_best_weights"] and summary.get("best_epoch"):
        return summary["best_epoch"]
    return summary["epochs"]


def record(trial, result, config, metric):
    """Update ``trial`` with the ``result`` of its job: the metric of the model its run keeps is appended to
    its rungs, or it is FAILED (the run raised, diverged, or does not log the metric). Returns False if the
    job must run again (its worker process died)."""
    if "died" in result:
        trial.attempts += 1
        if trial.attempts < MAX_ATTEMPTS:
            return False
        trial.state, trial.error = FAILED, f"{result['died']}, {trial.attempts} times"
        return True
    trial.seconds += result["seconds"]
    trial.finished = result["finished"]
    trial.metrics = result["metrics"]
    trial.epochs = len(trial.metrics)
    if "error" in result:
        trial.state, trial.error = FAILED, result["error"]
        return True
    summary = result["summary"]
    reason = summary.get("stop_reason") or ""
    if "NaN" in reason or any(r.get("loss") is None for r in trial.metrics):
        trial.state, trial.error = FAILED, f"diverged: {reason or 'the training loss is not finite'}"
        return True
    epoch = _kept_epoch(config, summary)
    row = next((r for r in trial.metrics if r["epoch"] == epoch), {})
    value = row.get(metric)
    if value is None:
        trial.state = FAILED
        trial.error = (f"diverged: {metric} is not finite at epoch {epoch}" if metric in row else
                       f"the run did not log {metric!r} at epoch {epoch}")
        return True
    trial.rungs.append(value)
    return True


class _Printer:
    """The progress bar over trials (stderr) and the lines printed above it (stdout)."""

    def __init__(self, total, verbose):
        self.bar = None
        self.verbose = verbose
        if verbose:
            try:
                from tqdm.auto import tqdm
                self.bar = tqdm(total=total, desc="trials", unit="trial", file=sys.stderr, dynamic_ncols=True)
            except ImportError:
                pass

    def line(self, text):
        if not self.verbose:
            return
        if self.bar is not None:
            self.bar.write(text, file=sys.stdout)
        else:
            print(text, flush=True)

    def progress(self, done):
        if self.bar is not None and done != self.bar.n:
            self.bar.update(done - self.bar.n)

    def close(self):
        if self.bar is not None:
            self.bar.close()


def _job(config, run_dir, evaluate_test=False):
    """The job that trains ``config`` in ``run_dir`` (see :func:`descend.search.worker.run_job`)."""
    return {"config": config, "run_dir": run_dir, "lock": run_dir + ".lock", "evaluate_test": evaluate_test,
            "threads": None}


def _search(study, storage, ex, printer):
    """Run jobs until the scheduler has nothing left. The database is written once per round, in one
    transaction, after the round's new jobs were handed out (the workers do not wait for the disk): a
    driver killed before the write loses no work, since a trial's index fixes its hyperparameters and its
    run directory holds its checkpoints."""
    settings = study.settings
    sched = scheduler(settings, study.config["training"]["epochs"], 2 if storage.get("asynchronous") else 1)
    trials = study.trials
    interrupted = [t for t in trials if t.state == RUNNING and len(t.rungs) == t.rung]
    busy, finished = {}, []
    while True:
        changed = dict.fromkeys(finished + sched.settle(trials, busy))
        while len(busy) < ex.slots:
            if interrupted:
                t = interrupted.pop(0)
            else:
                job = sched.next_job(trials, busy)
                if job is None:
                    break
                index, rung = job
                if index == len(trials):
                    trials.append(Trial(index, trial_params(study.space, settings.method, settings.seed, index),
                                        trial_seed(settings.seed, index),
                                        run_dir=os.path.join(study.directory, Trial.dirname(index))))
                t = trials[index]
                t.rung = rung
            t.state, t.started = RUNNING, t.started or time.time()
            changed[t] = None
            job = _job(trial_config(study.config, t, sched.budgets[t.rung]), t.run_dir)
            try:
                validate(job["config"])
            except ConfigError as e:
                t.state, t.error = FAILED, str(e)
                finished.append(t)
                continue
            ex.submit(t.index, job)
            busy[t.index] = t
        storage.save(*changed)
        for t in finished:
            printer.line(report.trial_line(study, t, sched.budgets))
        printer.progress(sum(t.state != RUNNING for t in trials))
        if not busy:
            if sched.finished(trials):
                return
            raise RuntimeError(f"search: nothing to run, yet the study is not finished ({study!r})")
        finished = []
        for index, result in ex.wait():
            t = busy.pop(index)
            if record(t, result, study.config, settings.metric):
                finished.append(t)
            else:
                interrupted.append(t)


def final_test(study):
    """The protocol's one look at the test split: the best trial's model on the test split, or (with
    ``retrain``) the best configuration retrained on train + validation for the best trial's kept number of
    epochs, then tested. Returns the dict stored as the study's ``final``."""
    best = study.best
    if not study.settings.retrain:
        metrics = evaluate_run(best.run_dir, out=lambda *a: None)
        return {"trial": best.index, "retrained": False, "run_dir": os.path.relpath(best.run_dir, study.directory),
                "test": {k[5:]: v for k, v in metrics.items() if k.startswith("test_")}}
    with open(os.path.join(best.run_dir, "summary.json")) as f:
        epochs = _kept_epoch(study.config, json.load(f))
    config = trial_config(study.config, best, epochs)
    config["data"]["val"] = 0.0
    config["training"]["early_stopping"]["enabled"] = False
    config["output"]["plots"] = study.config["output"]["plots"]
    run_dir = os.path.join(study.directory, "final")
    result = run_job(_job(config, run_dir, evaluate_test=True))
    if "error" in result:
        raise RuntimeError(f"retraining the best configuration on train + validation failed: {result['error']} "
                           f"(see {run_dir}.log)")
    s = result["summary"]
    return {"trial": best.index, "retrained": True, "run_dir": "final", "epochs": epochs,
            "test": {k[5:]: v for k, v in s.items() if k.startswith("test_")}}


def _drive(storage, ex, verbose):
    directory = storage.directory
    settings = Settings(**storage.get("settings"))
    study = Study(directory, storage.get("config"), from_spec(storage.get("space")), settings, storage.trials(),
                  storage.get("final"))
    try:
        with _study_lock(directory):
            if ex is not None:
                printer = _Printer(settings.trials, verbose)
                printer.line(f"{settings.method} search: {settings.trials} trials selected on {study.metric} "
                             f"({study.mode}); {ex.describe()}; study directory {directory}")
                try:
                    _search(study, storage, ex, printer)
                finally:
                    ex.close()
                    printer.close()
                study.final = final_test(study) if study.completed else {"trial": None, "test": None}
                storage.put("final", study.final)
            report.write_csv(study)
            if study.completed:
                report.write_best(study)
            if study.config["output"]["plots"]:
                from .plots import plot_study
                plot_study(study)
    finally:
        if ex is not None:
            ex.close()
        storage.close()
    return study
