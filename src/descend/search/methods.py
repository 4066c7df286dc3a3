"""Which trial runs next: grid search, random search, and successive halving (synchronous, or asynchronous
as ASHA).

Trial i's hyperparameters and training seed come from the study seed and i alone
(``numpy.random.SeedSequence(seed, spawn_key=(i, ...))``), never from the order trials finish in, so grid
and random search give the same trials whatever the number of workers or the executor.

Successive halving (Jamieson & Talwalkar, 2016) runs n trials for r_0 epochs, keeps the best ⌊n/η⌋, runs
them up to r_1 = η·r_0 epochs, and so on up to ``training.epochs``: most of the budget goes to the
promising configurations. Synchronous halving waits for a rung to finish before promoting, so its result
is the same on any number of workers. ASHA (Li et al., 2020), used when several workers run, promotes a
trial as soon as it is in the top 1/η of the results its rung has so far, and otherwise starts a new
trial: no worker waits, but which trials are promoted depends on the order they finish.
"""

import itertools

import numpy as np

from .settings import rung_epochs
from .trial import COMPLETE, PRUNED, RUNNING


def trial_seed(study_seed, index):
    """Trial ``index``'s training seed (an integer < 2**32) from the study seed."""
    return int(np.random.SeedSequence(study_seed, spawn_key=(index, 1)).generate_state(1)[0])


def trial_params(space, method, study_seed, index):
    """Trial ``index``'s hyperparameters ``{path: value}``: grid search walks the product of the grid axes
    (the first axis slowest) and draws the other axes; random search and halving draw every axis."""
    rng = np.random.default_rng(np.random.SeedSequence(study_seed, spawn_key=(index, 0)))
    point = {}
    if method == "grid":
        axes = [(p, d.values) for p, d in space.items() if d.kind == "grid"]
        values = next(itertools.islice(itertools.product(*(v for _, v in axes)), index, None))
        point = dict(zip((p for p, _ in axes), values))
    return {p: point[p] if p in point else d.sample(rng) for p, d in space.items()}


def ranked(trials, rung, mode):
    """The trials with a result at ``rung`` (also those that failed later), best first; ties go to the lower
    index."""
    done = [t for t in trials if len(t.rungs) > rung]
    sign = 1 if mode == "min" else -1
    return sorted(done, key=lambda t: (sign * t.rungs[rung], t.index))


def waiting(t, rung=None):
    """True if trial ``t`` finished its current rung (``rung`` if given) and awaits promotion or pruning."""
    return t.state == RUNNING and len(t.rungs) > t.rung and (rung is None or t.rung == rung)


class Scheduler:
    """Grid and random search: each trial is one job, trained for ``training.epochs``.

    A job is ``(trial index, rung)``; rung k trains the trial up to ``budgets[k]`` epochs. Trial records
    carry ``state``, ``rung`` (their current job's rung) and ``rungs`` (their metric after each finished
    rung). ``next_job(trials, busy)`` returns the job to start now, or None; ``settle(trials, busy)``
    decides the trials whose fate is known (COMPLETE, PRUNED) and returns them.
    """

    def __init__(self, settings, epochs):
        self.n, self.mode, self.eta = settings.trials, settings.mode, settings.eta
        self.budgets = rung_epochs(settings.min_epochs, settings.eta, epochs) if settings.method == "halving" \
            else [epochs]
        self.last = len(self.budgets) - 1

    def new_trial(self, trials):
        """The job of the next new trial, if trials remain to be started."""
        return (len(trials), 0) if len(trials) < self.n else None

    def next_job(self, trials, busy):
        return self.new_trial(trials)

    def settle(self, trials, busy):
        changed = [t for t in trials if waiting(t, self.last)]
        for t in changed:
            t.state = COMPLETE
        return changed

    def finished(self, trials):
        """True when every trial has been started and none is RUNNING."""
        return len(trials) == self.n and all(t.state != RUNNING for t in trials)


class SyncHalving(Scheduler):
    """Successive halving rung by rung: once every trial of rung k has finished, the best
    max(1, ⌊n_k/η⌋) of its n_k results go on to rung k+1 and the others are PRUNED."""

    def _kept(self, trials, k):
        """The indices promoted from rung k, or None while rung k can still change."""
        if len(trials) < self.n:
            return None
        if k > 0:
            before = self._kept(trials, k - 1)
            if before is None or any(waiting(t, k - 1) and t.index in before for t in trials):
                return None
        if any(t.state == RUNNING and t.rung == k and not waiting(t) for t in trials):
            return None
        best = ranked(trials, k, self.mode)
        return {t.index for t in best[:max(1, len(best) // self.eta)]}

    def next_job(self, trials, busy):
        job = self.new_trial(trials)
        for k in range(self.last):
            kept = self._kept(trials, k) if job is None else None
            if kept is None:
                break
            job = next(((t.index, k + 1) for t in trials if waiting(t, k) and t.index in kept), None)
        return job

    def settle(self, trials, busy):
        changed = super().settle(trials, busy)
        for k in range(self.last):
            kept = self._kept(trials, k)
            if kept is None:
                break
            for t in trials:
                if waiting(t, k) and t.index not in kept:
                    t.state = PRUNED
                    changed.append(t)
        return changed


class ASHA(Scheduler):
    """Asynchronous successive halving: a free worker promotes the best waiting trial of the highest rung
    k that is in the top ⌊n_k/η⌋ of the n_k results rung k has so far, or else starts a new trial. When
    nothing runs, nothing is left to start or promote and no trial reached the last rung, the best waiting
    trial of the highest rung goes on; then the trials still waiting are PRUNED."""

    def _promotable(self, trials):
        for k in range(self.last - 1, -1, -1):
            best = ranked(trials, k, self.mode)
            t = next((t for t in best[:len(best) // self.eta] if waiting(t, k)), None)
            if t is not None:
                return t
        return None

    def _stuck(self, trials, busy):
        return not busy and len(trials) == self.n and self._promotable(trials) is None

    def next_job(self, trials, busy):
        t = self._promotable(trials)
        if t is None:
            job = self.new_trial(trials)
            if job is not None or not self._stuck(trials, busy) or any(t.state == COMPLETE for t in trials):
                return job
            t = next((t for k in range(self.last - 1, -1, -1) for t in ranked(trials, k, self.mode)
                      if waiting(t, k)), None)
            if t is None:
                return None
        return t.index, t.rung + 1

    def settle(self, trials, busy):
        changed = super().settle(trials, busy)
        if self._stuck(trials, busy) and any(t.state == COMPLETE for t in trials):
            for t in trials:
                if waiting(t):
                    t.state = PRUNED
                    changed.append(t)
        return changed


def scheduler(settings, epochs, workers):
    """The scheduler of ``settings.method``: ASHA for halving on more than one worker."""
    if settings.method != "halving":
        return Scheduler(settings, epochs)
    return ASHA(settings, epochs) if workers > 1 else SyncHalving(settings, epochs)
