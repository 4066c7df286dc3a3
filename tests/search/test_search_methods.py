"""Schedulers on made-up results: which trials successive halving and ASHA promote, prune and complete."""

import pytest
from searchutil import tiny_config

from descend.search.driver import record
from descend.search.methods import ASHA, Scheduler, SyncHalving, scheduler
from descend.search.settings import Settings, rung_epochs
from descend.search.trial import COMPLETE, FAILED, PRUNED, RUNNING, Trial


def settings(**kw):
    kw = {"method": "halving", "trials": 9, "mode": "min", "eta": 3, "min_epochs": 1, **kw}
    return Settings(**kw)


def simulate(sched, value, workers=1, fail=()):
    """Run ``sched`` with ``workers`` slots; jobs end in the order they started. ``value(i, rung)`` is trial i's
    metric at a rung; trials in ``fail`` fail. Returns (trials, jobs in start order)."""
    trials, busy, jobs = [], [], []
    while True:
        sched.settle(trials, busy)
        while len(busy) < workers:
            job = sched.next_job(trials, busy)
            if job is None:
                break
            index, rung = job
            if index == len(trials):
                trials.append(Trial(index, {}, 0))
            t = trials[index]
            t.rung = rung
            jobs.append(job)
            busy.append(t)
        if not busy:
            assert sched.finished(trials)
            return trials, jobs
        t = busy.pop(0)
        if t.index in fail:
            t.state = FAILED
        else:
            t.rungs.append(value(t.index, t.rung))


def test_rung_budgets():
    assert rung_epochs(1, 3, 9) == [1, 3, 9]
    assert rung_epochs(1, 3, 10) == [1, 3, 10]
    assert rung_epochs(1, 3, 27) == [1, 3, 9, 27]
    assert rung_epochs(2, 2, 9) == [2, 4, 9]
    assert rung_epochs(1, 3, 3) == [1, 3]


def test_grid_and_random_run_each_trial_once():
    trials, jobs = simulate(Scheduler(settings(method="random", trials=4), 5), lambda i, k: float(i), workers=2)
    assert jobs == [(0, 0), (1, 0), (2, 0), (3, 0)]
    assert [t.state for t in trials] == [COMPLETE] * 4


def test_synchronous_halving_keeps_the_best_third_per_rung():
    # trial i has the metric (i - 4)^2: the order of quality is 4, 3 = 5, 2 = 6, ...
    trials, jobs = simulate(SyncHalving(settings(), 9), lambda i, k: (i - 4) ** 2 + 0.1 * k)
    assert jobs[:9] == [(i, 0) for i in range(9)]
    assert sorted(jobs[9:12]) == [(3, 1), (4, 1), (5, 1)]          # the best 9 // 3 = 3 (tie 3 = 5 kept)
    assert jobs[12:] == [(4, 2)]                                    # the best 3 // 3 = 1
    assert [t.state for t in trials] == [PRUNED] * 4 + [COMPLETE] + [PRUNED] * 4
    assert [len(t.rungs) for t in trials] == [1, 1, 1, 2, 3, 2, 1, 1, 1]


def test_synchronous_halving_is_the_same_on_any_number_of_slots():
    value = lambda i, k: ((7 * i) % 11) / (k + 1)
    one = simulate(SyncHalving(settings(trials=12), 9), value, workers=1)[0]
    three = simulate(SyncHalving(settings(trials=12), 9), value, workers=3)[0]
    assert [(t.state, t.rungs) for t in one] == [(t.state, t.rungs) for t in three]


def test_synchronous_halving_mode_max_and_failures():
    trials, _ = simulate(SyncHalving(settings(mode="max", trials=6), 3), lambda i, k: float(i), fail={5})
    # rung 0: trials 0..4 report (5 failed): keep max(1, 5 // 3) = 1 best, trial 4
    assert [t.state for t in trials] == [PRUNED] * 4 + [COMPLETE, FAILED]


def test_asha_promotes_without_waiting():
    # 4 trials, eta 2, budgets 1, 2, 4, one worker: the trace of Li et al.'s rule by hand
    s = ASHA(settings(trials=4, eta=2), 4)
    assert s.budgets == [1, 2, 4]
    trials, jobs = simulate(s, lambda i, k: float(i))
    assert jobs == [(0, 0), (1, 0), (0, 1), (2, 0), (3, 0), (1, 1), (0, 2)]
    assert [t.state for t in trials] == [COMPLETE, PRUNED, PRUNED, PRUNED]


def test_asha_always_completes_one_trial():
    # 2 trials and eta 3: no rung ever has 3 results, so the best waiting trial is carried to the top
    trials, jobs = simulate(ASHA(settings(trials=2, eta=3), 3), lambda i, k: 1.0 - i)
    assert jobs == [(0, 0), (1, 0), (1, 1)]
    assert [t.state for t in trials] == [PRUNED, COMPLETE]


def test_asha_on_several_workers_finishes_every_trial():
    trials, jobs = simulate(ASHA(settings(trials=20), 9), lambda i, k: ((13 * i) % 17) + k, workers=4)
    assert {t.state for t in trials} <= {COMPLETE, PRUNED} and any(t.state == COMPLETE for t in trials)
    assert len([j for j in jobs if j[1] == 0]) == 20
    for t in trials:   # a trial reaches rung k only after a result at rung k - 1
        assert len(t.rungs) == t.rung + 1


def test_scheduler_choice():
    assert type(scheduler(settings(), 9, 1)) is SyncHalving
    assert type(scheduler(settings(), 9, 2)) is ASHA
    assert type(scheduler(settings(method="grid"), 9, 4)) is Scheduler


def result(metrics, **summary):
    return {"seconds": 1.0, "finished": 0.0, "metrics": metrics, "summary": {"epochs": len(metrics), **summary}}


ROWS = [{"epoch": 1, "loss": 1.0, "val_loss": 0.9}, {"epoch": 2, "loss": 0.5, "val_loss": 0.4},
        {"epoch": 3, "loss": 0.3, "val_loss": 0.6}]


def test_record_takes_the_metric_of_the_model_the_run_keeps():
    config = tiny_config()                             # early stopping with restore_best_weights (the default)
    t = Trial(0, {}, 0)
    record(t, result(ROWS, best_epoch=2), config, "val_loss")
    assert t.rungs == [0.4] and t.state == RUNNING and t.epochs == 3
    config["training"]["early_stopping"]["enabled"] = False
    t = Trial(0, {}, 0)
    record(t, result(ROWS, best_epoch=2), config, "loss")
    assert t.rungs == [0.3]


@pytest.mark.parametrize("res, message", [
    ({"seconds": 1.0, "finished": 0.0, "metrics": [], "error": "ValueError: boom"}, "ValueError: boom"),
    (result(ROWS[:1], stop_reason="TerminateOnNaN: the loss became nan at step 6"), "diverged: TerminateOnNaN"),
    (result([{"epoch": 1, "loss": None, "val_loss": None}]), "diverged"),
    (result([{"epoch": 1, "loss": 1.0, "val_loss": None}]), "val_loss is not finite"),
    (result([{"epoch": 1, "loss": 1.0}]), "did not log 'val_loss'"),
])
def test_record_fails_what_raised_or_diverged(res, message):
    t = Trial(0, {}, 0)
    assert record(t, res, tiny_config(), "val_loss")
    assert t.state == FAILED and message in t.error and t.rungs == []


def test_record_retries_a_trial_whose_worker_died_once():
    t = Trial(0, {}, 0)
    assert not record(t, {"died": "its worker process died (exit code -9)"}, tiny_config(), "val_loss")
    assert t.state == RUNNING
    assert record(t, {"died": "its worker process died (exit code -9)"}, tiny_config(), "val_loss")
    assert t.state == FAILED and "2 times" in t.error
