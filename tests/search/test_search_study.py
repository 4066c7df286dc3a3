"""Studies on real worker processes: the protocol, reproducibility, failures, files, and halving."""

import json
import os

import numpy as np
import pytest
from searchutil import read_jsonl, strict_json, tiny_config, without_time

from descend import search
from descend.cli import main
from descend.search import driver
from descend.search.trial import COMPLETE, FAILED, PRUNED
from descend.train.checkpoint import load_checkpoint
from descend.train.config import load_config
from descend.train.run import build_data, run
from descend.train.spec import resolve

SPACE = {"optimizer.lr": search.loguniform(1e-3, 1e-1), "model.hidden": search.choice([[8], [16]])}


def results(study):
    """What must not depend on the executor: each trial's hyperparameters, seed, state, metric and logs."""
    return [(t.index, t.params, t.seed, t.state, t.value, without_time(t.metrics)) for t in study.trials]


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory):
    out = tmp_path_factory.mktemp("study") / "two"
    calls = []
    with pytest.MonkeyPatch.context() as mp:
        evaluate = driver.evaluate_run
        mp.setattr(driver, "evaluate_run", lambda *a, **k: calls.append(a) or evaluate(*a, **k))
        study = search.run(tiny_config("output.plots=true"), SPACE, trials=4, workers=2, out=str(out), seed=5,
                           verbose=False)
        again = search.resume(str(out), workers=1, verbose=False)
    return study, again, calls


def test_every_trial_completes_with_its_logs(two_workers):
    study = two_workers[0]
    assert [t.state for t in study.trials] == [COMPLETE] * 4
    for t in study.trials:
        assert t.epochs == 2 and [r["epoch"] for r in t.metrics] == [1, 2]
        assert t.value == t.metrics[-1]["val_loss"] or t.value == min(r["val_loss"] for r in t.metrics)
        assert t.run_dir == os.path.join(study.directory, "trials", f"{t.index:04d}")
        assert t.seconds > 0 and t.finished >= t.started
    sign = 1 if study.mode == "min" else -1
    assert study.best is min(study.trials, key=lambda t: sign * t.value)


def test_the_same_results_on_one_worker(two_workers, tmp_path):
    one = search.run(tiny_config(), SPACE, trials=4, workers=1, out=str(tmp_path / "one"), seed=5, verbose=False)
    assert results(one) == results(two_workers[0])
    assert one.test_metrics == two_workers[0].test_metrics


def test_the_test_split_is_touched_once_at_the_end(two_workers):
    study, again, calls = two_workers
    assert len(calls) == 1 and calls[0][0] == study.best.run_dir        # resuming a finished study: no new look
    assert again.test_metrics == study.test_metrics and set(study.test_metrics) == {"loss", "accuracy"}
    for t in study.trials:
        summary = strict_json(os.path.join(t.run_dir, "summary.json"))
        assert not [k for k in summary if k.startswith("test")]
        with open(t.run_dir + ".log") as f:
            log = f.read()
        assert "test loss" not in log and "test accuracy" not in log
    best = strict_json(os.path.join(study.directory, "best.json"))
    assert best["test"] == study.test_metrics and best["retrained"] is False


def test_a_trial_reruns_bit_identically_from_its_saved_config(two_workers, tmp_path, capsys):
    t = two_workers[0].trials[1]
    assert main(["train", os.path.join(t.run_dir, "config.toml"), "--out", str(tmp_path / "rerun")]) == 0
    assert without_time(read_jsonl(tmp_path / "rerun" / "metrics.jsonl")) == without_time(t.metrics)
    a = load_checkpoint(tmp_path / "rerun" / "model")["model"]
    b = load_checkpoint(os.path.join(t.run_dir, "model"))["model"]
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])


def test_every_trial_shares_one_split():
    a, b = tiny_config("training.seed=1", "data.seed=0"), tiny_config("training.seed=2", "data.seed=0")
    da, db = build_data(resolve(a)), build_data(resolve(b))
    for x, y in ((da.train, db.train), (da.val, db.val), (da.test, db.test)):
        for u, v in zip(x.arrays, y.arrays):
            np.testing.assert_array_equal(u, v)


def test_retraining_keeps_the_test_split():
    """Train + validation after the search: the test examples are the same ones as during the search."""
    def test_rows(val):
        cfg = tiny_config("data.standardize=false", f"data.val={val}", "data.seed=3",
                          "training.early_stopping.enabled=false")
        x, t = build_data(resolve(cfg)).test.arrays
        return sorted(map(tuple, np.column_stack([x, t]).tolist()))
    assert test_rows(0.1) == test_rows(0.0)


def test_study_files(two_workers):
    study = two_workers[0]
    d = study.directory
    with open(os.path.join(d, "results.csv")) as f:
        lines = f.read().splitlines()
    assert lines[0] == "trial,state,val_loss,optimizer.lr,model.hidden,seed,epochs,rungs,seconds,error,run_dir"
    assert len(lines) == 5 and lines[1].startswith("0,COMPLETE,")
    best = strict_json(os.path.join(d, "best.json"))
    assert best["trial"] == study.best.index and best["params"] == study.best.params
    config = load_config(os.path.join(d, "best.toml"))
    assert config == study.best_config() and config["training"]["seed"] == study.best.seed
    assert config["output"]["plots"] is True             # the study's own output settings, not the trials'
    assert sorted(os.listdir(os.path.join(d, "plots"))) == ["learning_curves.png", "metric_vs_params.png"]
    table = study.table().splitlines()
    assert table[0].split() == ["rank", "trial", "state", "val_loss", "lr", "hidden", "epochs", "seconds"]
    assert table[1].split()[:3] == ["1", str(study.best.index), "COMPLETE"]
    loaded = search.load(d)
    assert results(loaded) == results(study) and loaded.test_metrics == study.test_metrics


def test_the_database_holds_one_row_per_trial(two_workers):
    import sqlite3
    db = sqlite3.connect(os.path.join(two_workers[0].directory, "study.sqlite"))
    rows = db.execute("SELECT trial, state, params, metrics, error, run_dir FROM trials ORDER BY trial").fetchall()
    assert [(r[0], r[1], r[4], r[5]) for r in rows] == [(i, "COMPLETE", None, f"trials/{i:04d}") for i in range(4)]
    assert json.loads(rows[0][2]) == two_workers[0].trials[0].params
    assert len(json.loads(rows[0][3])) == 2


def test_failed_trials_are_kept_and_the_study_goes_on(tmp_path):
    bad = tmp_path / "bad_mnist"
    bad.mkdir()
    (bad / "train-images-idx3-ubyte").write_bytes(b"not an IDX file")
    (bad / "train-labels-idx1-ubyte").write_bytes(b"not an IDX file")
    config = tiny_config('optimizer.name="SGD"', "training.epochs=1", f'data.path="{bad}"')
    space = {"data.name": search.grid(["digits", "mnist"]), "optimizer.lr": search.grid([0.05, 1e4])}
    study = search.run(config, space, method="grid", workers=2, out=str(tmp_path / "s"), verbose=False)
    states = {(t.params["data.name"], t.params["optimizer.lr"]): t for t in study.trials}
    assert states["digits", 0.05].state == COMPLETE
    diverged = states["digits", 1e4]
    assert diverged.state == FAILED and diverged.error.startswith("diverged: the loss became non-finite")
    for lr in (0.05, 1e4):
        t = states["mnist", lr]
        assert t.state == FAILED and "RunError" in t.error and "corrupted" in t.error
    assert study.best is states["digits", 0.05]
    with open(os.path.join(study.directory, "results.csv")) as f:
        assert f.read().count("FAILED") == 3


def test_successive_halving_prunes_and_completes(tmp_path):
    config = tiny_config("training.epochs=3", "output.plots=true")
    study = search.run(config, {"optimizer.lr": search.loguniform(1e-4, 1e-1)}, method="halving", trials=6,
                       workers=1, out=str(tmp_path / "h"), seed=1, verbose=False)
    done = [t for t in study.trials if t.state == COMPLETE]
    assert len(done) == 2 and all(t.epochs == 3 and len(t.rungs) == 2 for t in done)
    assert all(t.state == PRUNED and t.epochs == 1 and len(t.rungs) == 1 for t in study.trials if t not in done)
    assert sorted(t.index for t in done) == sorted(t.index for t in sorted(study.trials, key=lambda t: t.rungs[0])[:2])
    assert os.path.exists(os.path.join(study.directory, "plots", "rungs.png"))
    # a promoted trial trained 1 epoch, was resumed from its checkpoint up to 3: the same as 3 epochs at once
    t = study.best
    cfg = load_config(os.path.join(t.run_dir, "config.toml"))
    assert cfg["training"]["epochs"] == 3
    run(cfg, run_dir=str(tmp_path / "rerun"), out=lambda *a: None)
    assert without_time(read_jsonl(tmp_path / "rerun" / "metrics.jsonl")) == without_time(t.metrics)


def test_retrain_on_train_and_validation(tmp_path):
    config = tiny_config("training.early_stopping.enabled=false")
    study = search.run(config, {"optimizer.lr": search.grid([0.003, 0.03])}, method="grid", workers=2,
                       out=str(tmp_path / "r"), retrain=True, verbose=False)
    final = load_config(os.path.join(study.directory, "final", "config.toml"))
    assert final["data"]["val"] == 0.0 and final["training"]["early_stopping"]["enabled"] is False
    assert final["training"]["epochs"] == 2 and final["optimizer"]["lr"] == study.best.params["optimizer.lr"]
    summary = strict_json(os.path.join(study.directory, "final", "summary.json"))
    assert study.test_metrics == {"loss": summary["test_loss"], "accuracy": summary["test_accuracy"]}
    assert strict_json(os.path.join(study.directory, "best.json"))["retrained"] is True


def test_a_dask_local_cluster_gives_the_same_trials(two_workers, tmp_path):
    pytest.importorskip("distributed")
    study = search.run(tiny_config("output.plots=true"), SPACE, trials=2, executor="dask", workers=2, seed=5,
                       out=str(tmp_path / "dask"), verbose=False)
    assert results(study) == results(two_workers[0])[:2]


def test_a_dask_scheduler_address_gives_the_same_trials(two_workers, tmp_path):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster:
        study = search.run(tiny_config(), SPACE, trials=2, executor="dask", address=cluster.scheduler_address,
                           seed=5, out=str(tmp_path / "dask"), verbose=False)
        assert len(cluster.scheduler.workers) == 2            # the cluster is the user's: left running
    assert results(study)[1] == results(two_workers[0])[1]


def test_workers_start_from_a_fork_server_when_the_driver_has_threads(two_workers, tmp_path):
    import threading

    from descend.search.executors import LocalExecutor
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        ex = LocalExecutor(1)
        assert ex.context.get_start_method() == "forkserver"
        ex.close()
        study = search.run(tiny_config(), SPACE, trials=1, workers=1, out=str(tmp_path / "fs"), seed=5, verbose=False)
    finally:
        stop.set()
        other.join()
    assert results(study) == results(two_workers[0])[:1]
