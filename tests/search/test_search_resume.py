"""A killed driver loses nothing: SIGKILL it in the middle of a study, resume, and get the study an
uninterrupted driver gets, without running a finished trial again."""

import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest
from searchutil import tiny_config, without_time, write_search

from descend import search
from descend.train.config import load_config

fcntl = pytest.importorskip("fcntl")
SRC = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "src")
BODY = """[search]
method = "random"
trials = 4
seed = 11
[search.space]
"optimizer.lr" = { loguniform = [1e-3, 1e-1] }
"""
OVERRIDES = ["training.epochs=6", "model.hidden=[32]", "training.early_stopping.patience=100"]


def snapshot(path):
    """(trial, state, finished, seconds) of every row, read while the driver writes."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    try:
        return db.execute("SELECT trial, state, finished, seconds FROM trials ORDER BY trial").fetchall()
    except sqlite3.OperationalError:
        return []
    finally:
        db.close()


def epochs_logged(run_dir):
    p = os.path.join(run_dir, "metrics.jsonl")
    return sum(1 for _ in open(p)) if os.path.exists(p) else 0


def test_sigkill_the_driver_then_resume(tmp_path):
    path = write_search(tmp_path / "s.toml", BODY)
    overrides = sum((["--set", o] for o in OVERRIDES), [])
    env = dict(os.environ, PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""))
    killed = tmp_path / "killed"
    child = subprocess.Popen([sys.executable, "-m", "descend.cli", "search", path, "--out", str(killed),
                              "--workers", "1"] + overrides, env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    victim = None
    try:
        deadline = time.time() + 120
        while victim is None and time.time() < deadline and child.poll() is None:
            rows = snapshot(killed / "study.sqlite") if (killed / "study.sqlite").exists() else []
            running = [r[0] for r in rows if r[1] == "RUNNING"]
            if any(r[1] == "COMPLETE" for r in rows) and running:
                run_dir = killed / "trials" / f"{running[0]:04d}"
                if 2 <= epochs_logged(run_dir) < 6:
                    victim = running[0]
                    break
            time.sleep(0.01)
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
    assert victim is not None, "the study ended before it could be killed in the middle of a trial"
    before = snapshot(killed / "study.sqlite")
    done = [r for r in before if r[1] == "COMPLETE"]
    assert done and dict((r[0], r[1]) for r in before)[victim] == "RUNNING"
    mtimes = {r[0]: os.path.getmtime(killed / "trials" / f"{r[0]:04d}" / "metrics.jsonl") for r in done}
    lock = open(killed / "trials" / f"{victim:04d}.lock", "a")
    for _ in range(50):        # the orphaned worker notices its driver's death and stops within 0.2 s
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except OSError:
            time.sleep(0.1)
    else:
        pytest.fail("the worker of the killed driver still holds its trial")
    fcntl.flock(lock, fcntl.LOCK_UN)
    lock.close()

    r = subprocess.run([sys.executable, "-m", "descend.cli", "search", "--resume", str(killed), "--workers", "2"],
                       env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    after = snapshot(killed / "study.sqlite")
    assert [r for r in after if r[0] in mtimes] == done               # finished trials kept as they were ...
    for i, m in mtimes.items():                                       # ... and not run again
        assert os.path.getmtime(killed / "trials" / f"{i:04d}" / "metrics.jsonl") == m
    log = (killed / "trials" / f"{victim:04d}.log").read_text()
    # the killed trial went on from its checkpoint (or, if its worker finished it in the instant before it
    # noticed the driver's death, the resumed study finds it finished and runs nothing again)
    assert ("resuming" in log and "after epoch" in log) or "already finished" in log

    config, space, settings = search.load_file(path, OVERRIDES)
    reference = search.run(config, space, out=str(tmp_path / "reference"), workers=2, verbose=False,
                           **settings.to_dict())
    study = search.load(str(killed))
    assert [(t.params, t.seed, t.state, t.value, without_time(t.metrics)) for t in study.trials] == \
        [(t.params, t.seed, t.state, t.value, without_time(t.metrics)) for t in reference.trials]
    assert study.test_metrics == reference.test_metrics
    assert load_config(killed / "best.toml") == load_config(tmp_path / "reference" / "best.toml")


def test_a_second_driver_on_the_same_study_is_refused(tmp_path):
    out = tmp_path / "s"
    search.run(tiny_config(), {"optimizer.lr": search.grid([0.01])}, method="grid", workers=1, out=str(out),
               verbose=False)
    lock = open(out / "study.lock", "a")
    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)          # as a running driver holds it
    try:
        with pytest.raises(search.SearchError, match="being run by another driver"):
            search.resume(str(out), workers=1, verbose=False)
    finally:
        lock.close()


def test_ctrl_c_stops_the_study_with_the_resume_command(tmp_path):
    path = write_search(tmp_path / "s.toml", BODY.replace("trials = 4", "trials = 2"))
    overrides = sum((["--set", o] for o in OVERRIDES), [])
    env = dict(os.environ, PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = tmp_path / "study"
    child = subprocess.Popen([sys.executable, "-m", "descend.cli", "search", path, "--out", str(out), "--workers",
                              "1"] + overrides, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 120
        while time.time() < deadline and epochs_logged(out / "trials" / "0000") < 1:
            time.sleep(0.01)
        child.send_signal(signal.SIGINT)
        err = child.communicate(timeout=60)[1]
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == 130
    assert err.strip().splitlines()[-1] == f"descend search: interrupted; continue with `descend search --resume {out}`"
    assert "Traceback" not in err
    study = search.resume(str(out), workers=1, verbose=False)
    assert [t.state for t in study.trials] == ["COMPLETE", "COMPLETE"]


def test_a_worker_killed_under_a_trial_is_replaced_and_the_trial_rerun(tmp_path):
    path = write_search(tmp_path / "s.toml", BODY.replace("trials = 4", "trials = 2"))
    overrides = sum((["--set", o] for o in OVERRIDES), [])
    env = dict(os.environ, PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = tmp_path / "study"
    child = subprocess.Popen([sys.executable, "-m", "descend.cli", "search", path, "--out", str(out), "--workers",
                              "1"] + overrides, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        deadline = time.time() + 120
        while time.time() < deadline and epochs_logged(out / "trials" / "0000") < 2:
            time.sleep(0.01)
        with open(f"/proc/{child.pid}/task/{child.pid}/children") as f:
            workers = [int(p) for p in f.read().split()]
        assert len(workers) == 1
        os.kill(workers[0], signal.SIGKILL)
        text = child.communicate(timeout=120)[0]
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == 0
    db = sqlite3.connect(out / "study.sqlite")
    rows = db.execute("SELECT trial, state, attempts FROM trials").fetchall()
    assert rows == [(0, "COMPLETE", 1), (1, "COMPLETE", 0)]
    assert "resuming" in (out / "trials" / "0000.log").read_text() and "best: trial" in text
