"""The ``descend`` command: train / evaluate / predict / info / config, one-line user errors with exit status 2 and
nothing created, existing runs and locks, divergence, Ctrl-C and closed pipes."""

import json
import os
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from descend import data as D
from descend.cli import main
from descend.train import load_checkpoint
from descend.train.config import load_config
from descend.train.files import finite_or_none, strict_json
from descend.train.registry import DATASETS
from descend.train.run import load_run_config, load_splits, predict_run, run
from descend.train.rundir import RunLock
from descend.train.spec import resolve

SMALL = ["--set", "model.hidden=[16]", "--set", "training.epochs=2", "--set", "output.progress=false",
         "--set", "output.plots=false", "--set", "model.dropout=0.0", "--set", "optimizer.lr=0.01"]
ENV = dict(os.environ, PYTHONPATH=os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src"))


def _reject(name):
    raise ValueError(f"{name} is not strict JSON")


def strict(text):
    """Parse ``text`` as RFC 8259 JSON (no NaN / Infinity)."""
    return json.loads(text, parse_constant=_reject)


def assert_strict_json_files(run_dir):
    for root, _, files in os.walk(run_dir):
        for name in files:
            path = os.path.join(root, name)
            if name.endswith((".json", ".jsonl")):
                with open(path) as f:
                    text = f.read()
                for doc in [text] if name.endswith(".json") else text.splitlines():
                    strict(doc)


def one_error_line(capsys, *phrases):
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    for p in phrases:
        assert p in lines[0], (p, lines[0])
    return lines[0]


def descend(*args, **kw):
    return subprocess.run([sys.executable, "-m", "descend.cli", *args], env=ENV, capture_output=True, text=True,
                          timeout=kw.pop("timeout", 120), **kw)


# ---------------------------------------------------------------------------- user errors
@pytest.mark.parametrize("overrides, phrase", [
    (["optimizer.lr=nan"], "'optimizer.lr' = nan: expected a finite number"),
    (["optimizer.lr=inf"], "'optimizer.lr' = inf: expected a finite number"),
    (["optimizer.name=SGD", "optimizer.momentum=-1"], "SGD(lr=0.001, momentum=-1): Invalid momentum=-1"),
    (["optimizer.betas=[0.9, 1.5]"], "Invalid betas[1] (beta2)=1.5"),
    (["schedule.name=StepLR"], "'schedule.step_size' is missing: StepLR requires it"),
    (["training.seed=4294967296"], "'training.seed' = 4294967296"),
    (["training.early_stopping.monitor=val_acc"], "'val_acc': not a metric the run logs"),
    (["schedule.name=ReduceLROnPlateau", "schedule.monitor=val_los"], "did you mean 'val_loss'"),
    (["data.name=two_moons", "data.augment.rotate=10"], "needs image data, and 'two_moons' is not images"),
    (["output.name=../../x"], "'output.name' = '../../x'"),
    (["output.name=/tmp/elsewhere"], "'output.name' = '/tmp/elsewhere'"),
    (["optimizer.lrr=0.1"], "did you mean 'optimizer.lr'"),
    (["data.name=mnist", "data.path=."], "train-images-idx3-ubyte[.gz] not found"),
    (["model.batchnorm=true", "data.batch_size=37"], "set data.drop_last = true"),
])
def test_user_errors_are_one_line_exit_2_and_create_nothing(tmp_path, monkeypatch, capsys, overrides, phrase):
    monkeypatch.chdir(tmp_path)
    assert main(["train"] + [a for o in overrides for a in ("--set", o)]) == 2
    one_error_line(capsys, "descend train: error:", phrase)
    assert os.listdir(tmp_path) == []


def test_command_line_misuse_is_one_line(tmp_path, capsys):
    for argv, phrase in ((["train", "--bogus"], "unrecognized arguments: --bogus"),
                         (["predict", str(tmp_path)], "the following arguments are required: input")):
        with pytest.raises(SystemExit) as e:
            main(argv)
        assert e.value.code == 2
        one_error_line(capsys, phrase)
    for argv, phrase in ((["train", str(tmp_path / "missing.toml")], "missing.toml does not exist"),
                         (["train", "--resume", str(tmp_path), "--set", "a.b=1"], "do not pass CONFIG, --set"),
                         (["evaluate", str(tmp_path / "nothing")], "does not exist"),
                         (["info", str(tmp_path)], "is not a descend run directory (no config.toml)")):
        assert main(argv) == 2
        one_error_line(capsys, phrase)


# ---------------------------------------------------------------------------- the run directory
def test_train_evaluate_info_write_the_run_directory(tmp_path, capsys):
    run_dir = tmp_path / "run"
    assert main(["train", "--out", str(run_dir)] + SMALL + ["--set", "output.plots=true"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"run directory: {run_dir}\n") and out.endswith(f"run directory: {run_dir}\n")
    assert "val_loss" in out
    for name in ("config.toml", "metrics.jsonl", "layers.jsonl", "summary.json", "model.safetensors",
                 "checkpoints/last.safetensors", "plots/loss.png", "plots/accuracy.png", "plots/layers.png"):
        assert (run_dir / name).exists(), name
    assert not [n for n in os.listdir(run_dir) + os.listdir(run_dir / "plots") if n.endswith(".tmp")]
    rows = [strict(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [1, 2] and rows[1]["loss"] < rows[0]["loss"]
    summary = strict((run_dir / "summary.json").read_text())
    assert summary["parameters"] == 64 * 16 + 16 + 16 * 10 + 10
    assert 0.8 < summary["test_accuracy"] <= 1 and summary["epochs"] == 2 and summary["diverged"] is False
    assert (run_dir / "plots/loss.png").read_bytes()[:4] == b"\x89PNG"
    assert_strict_json_files(run_dir)
    assert main(["evaluate", str(run_dir)]) == 0
    assert f"{summary['test_accuracy']:9.4f}" in capsys.readouterr().out
    assert main(["info", str(run_dir)]) == 0
    info = capsys.readouterr().out
    assert "epochs done: 2 of 2" in info and "checkpoint last: epoch 2" in info
    assert main(["config"]) == 0
    assert capsys.readouterr().out.startswith("# descend's default run")


def test_schedules_from_the_config_really_step(tmp_path):
    args = SMALL + ["--set", "optimizer.name=SGD", "--set", "optimizer.momentum=0.9", "--set", "optimizer.lr=0.05",
                    "--set", "schedule.name=StepLR", "--set", "schedule.step_size=1", "--set", "schedule.gamma=0.5",
                    "--set", "training.epochs=3"]
    assert main(["train", "--out", str(tmp_path / "r")] + args) == 0
    rows = [json.loads(line) for line in (tmp_path / "r" / "metrics.jsonl").read_text().splitlines()]
    assert [r["lr"] for r in rows] == [0.05, 0.025, 0.0125]
    args = SMALL + ["--set", "schedule.name=ReduceLROnPlateau", "--set", "schedule.patience=0", "--set",
                    "schedule.factor=0.5", "--set", "schedule.monitor=val_accuracy", "--set", "schedule.mode=max",
                    "--set", "schedule.threshold=10", "--set", "training.epochs=3"]
    assert main(["train", "--out", str(tmp_path / "p")] + args) == 0
    rows = [json.loads(line) for line in (tmp_path / "p" / "metrics.jsonl").read_text().splitlines()]
    assert [r["lr"] for r in rows] == [0.01, 0.01, 0.005]   # epoch 2 is not 10x better: halved after it


def test_plots_skipped_without_matplotlib(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    assert main(["train", "--out", str(tmp_path / "r")] + SMALL + ["--set", "output.plots=true"]) == 0
    out = capsys.readouterr().out
    assert out.count("plots skipped: matplotlib is not installed") == 1
    assert not (tmp_path / "r" / "plots").exists() and (tmp_path / "r" / "summary.json").exists()


def _idx_files(directory, n_train=150, n_test=40):
    rng = np.random.default_rng(0)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        D.write_idx(directory / f"{prefix}-images-idx3-ubyte", rng.integers(0, 256, (n, 28, 28), dtype=np.uint8))
        D.write_idx(directory / f"{prefix}-labels-idx1-ubyte.gz", (np.arange(n) % 10).astype(np.uint8))


@pytest.mark.parametrize("name", [name for name, d in DATASETS.items() if not d.file])
def test_the_defaults_train_every_data_set(tmp_path, capsys, name):
    args = ["--set", f"data.name={name}", "--set", "training.epochs=2", "--set", "output.progress=false",
            "--set", "output.plots=false", "--set", "model.hidden=[8]"]
    if name in ("mnist", "fashion_mnist"):
        _idx_files(tmp_path)
        args += ["--set", f"data.path={tmp_path}"]
    assert main(["train", "--out", str(tmp_path / "run")] + args) == 0, capsys.readouterr().err
    summary = strict((tmp_path / "run" / "summary.json").read_text())
    assert summary["epochs"] == 2 and 0 <= summary["test_accuracy"] <= 1
    assert main(["evaluate", str(tmp_path / "run")]) == 0


def test_an_existing_run_is_refused_unless_overwrite(tmp_path, capsys):
    r = tmp_path / "r"
    assert main(["train", "--out", str(r)] + SMALL) == 0
    metrics, ckpt = (r / "metrics.jsonl").read_bytes(), (r / "checkpoints/last.safetensors").read_bytes()
    capsys.readouterr()
    assert main(["train", "--out", str(r)] + SMALL) == 2
    one_error_line(capsys, f"{r} already holds a run", f"descend train --resume {r}", "--overwrite")
    assert (r / "metrics.jsonl").read_bytes() == metrics
    assert (r / "checkpoints/last.safetensors").read_bytes() == ckpt
    assert main(["train", "--out", str(r), "--overwrite"] + SMALL + ["--set", "training.epochs=3"]) == 0
    assert len((r / "metrics.jsonl").read_text().splitlines()) == 3
    assert sorted(os.listdir(tmp_path)) == ["r"]           # the replaced run is gone, nothing left beside it
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    capsys.readouterr()
    assert main(["train", "--out", str(tmp_path / "other"), "--overwrite"] + SMALL) == 2
    one_error_line(capsys, "is not empty and is not a descend run")
    assert (tmp_path / "other" / "notes.txt").read_text() == "mine"
    (tmp_path / "empty").mkdir()
    assert main(["train", "--out", str(tmp_path / "empty")] + SMALL) == 0


def test_named_runs_stay_inside_output_dir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["train", "--set", "output.dir=out", "--set", "output.name=exp1"] + SMALL) == 0
    assert (tmp_path / "out" / "exp1" / "summary.json").exists()
    assert main(["train", "--set", "output.dir=out", "--set", "output.name=exp1"] + SMALL) == 2


def test_a_locked_run_is_refused_naming_the_holder(tmp_path, capsys):
    r = tmp_path / "r"
    assert main(["train", "--out", str(r)] + SMALL) == 0
    (r / "summary.json").unlink()
    capsys.readouterr()
    with RunLock(r):
        assert main(["train", "--resume", str(r)]) == 2
        one_error_line(capsys, f"run directory {r} is in use by process {os.getpid()}")
        assert main(["train", "--out", str(r), "--overwrite"] + SMALL) == 2
        one_error_line(capsys, f"in use by process {os.getpid()}")
        assert main(["info", str(r)]) == 0
        assert f"status: training now (process {os.getpid()})" in capsys.readouterr().out
    assert main(["train", "--resume", str(r)]) == 0


def test_two_processes_on_one_run_directory(tmp_path):
    r = tmp_path / "r"
    first = subprocess.Popen([sys.executable, "-m", "descend.cli", "train", "--out", str(r)] + SMALL +
                             ["--set", "training.epochs=100000", "--set", "training.early_stopping.enabled=false"],
                             env=ENV, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        for line in first.stdout:
            if line.startswith("    1 "):
                break
        second = descend("train", "--resume", str(r))
        assert second.returncode == 2
        assert second.stderr.strip() == (f"descend train: error: run directory {r} is in use by process {first.pid} "
                                         f"(a descend train writing to it); wait for it to end or stop it")
    finally:
        first.kill()
        first.wait()
    with RunLock(r):   # the OS released the killed process's lock
        pass


def test_temporary_leftovers_are_removed_on_the_next_start(tmp_path):
    r = tmp_path / "runs" / "r"
    assert main(["train", "--out", str(r)] + SMALL) == 0
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    pid = int(dead.stdout)
    (r / "checkpoints" / f".last.safetensors.{pid}.tmp").write_bytes(b"half")
    (r / f".metrics.jsonl.{pid}.tmp").write_bytes(b"half")
    from descend.train.rundir import _host
    stale = tmp_path / "runs" / f".descend-new-{pid}-{_host()}-x"
    stale.mkdir()
    (r / "summary.json").unlink()
    assert main(["train", "--resume", str(r)]) == 0
    assert not [n for n in os.listdir(r) + os.listdir(r / "checkpoints") if n.endswith(".tmp")]
    assert stale.exists()            # only a new run's start looks beside runs
    assert main(["train", "--out", str(tmp_path / "runs" / "s")] + SMALL) == 0
    assert sorted(os.listdir(tmp_path / "runs")) == ["r", "s"]


# ---------------------------------------------------------------------------- divergence, strict JSON
@pytest.mark.filterwarnings("ignore::RuntimeWarning")   # NumPy's overflow warnings on the way to NaN are expected
def test_a_diverged_run_exits_1_and_says_what_was_kept(tmp_path, capsys):
    r = tmp_path / "r"
    assert main(["train", "--out", str(r)] + SMALL + ["--set", "optimizer.lr=1e30"]) == 1
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("descend")]
    assert len(err) == 1 and re.fullmatch(
        r"descend train: error: training diverged: the loss became non-finite at step \d+ \(epoch 1\); no checkpoint "
        r"had been written yet, and no final model was written. Lower optimizer.lr and train again", err[0]), err
    assert not (r / "model.safetensors").exists() and not (r / "checkpoints").exists()
    summary = strict((r / "summary.json").read_text())
    assert summary["diverged"] is True and "no checkpoint" in summary["stop_reason"]
    assert_strict_json_files(r)
    assert main(["evaluate", str(r)]) == 2
    one_error_line(capsys, "has neither a final model nor a checkpoint")
    s = tmp_path / "s"
    args = SMALL + ["--set", "schedule.name=ExponentialLR", "--set", "schedule.gamma=1e30",
                    "--set", "training.epochs=3"]
    assert main(["train", "--out", str(s)] + args) == 1
    err = capsys.readouterr().err
    assert f"the checkpoint after epoch 1 is kept ({s}/checkpoints/last.safetensors); no final model was written" in err
    assert load_checkpoint(s / "checkpoints" / "last")["epoch"] == 1
    assert_strict_json_files(s)
    assert main(["predict", str(s), str(tmp_path / "x.csv")]) == 2
    one_error_line(capsys, "has no final model", "training diverged")
    assert main(["evaluate", str(s)]) == 0


def test_strict_json_writes_no_nan():
    assert strict_json({"a": float("nan"), "b": [float("inf"), 1.5], "c": np.float32("-inf")}) == \
        '{"a": null, "b": [null, 1.5], "c": null}'
    assert finite_or_none((1.0, {"x": np.float64("nan")})) == [1.0, {"x": None}]


# ---------------------------------------------------------------------------- predict
def test_predict_reproduces_evaluate_on_the_test_split(tmp_path, capsys):
    r = tmp_path / "r"
    assert main(["train", "--out", str(r)] + SMALL + ["--set", "training.epochs=3"]) == 0
    capsys.readouterr()
    result = {}
    assert main(["evaluate", str(r)]) == 0
    for line in capsys.readouterr().out.splitlines()[1:]:
        split, _, acc = line.split()
        result[split] = float(acc)
    spec = resolve(load_run_config(r))
    _, _, test, _ = load_splits(spec)
    x, t = test.arrays
    accuracy = float(np.sum(predict_run(r, _npy(tmp_path, x), out=lambda s: None) == t) / len(t))
    summary = strict((r / "summary.json").read_text())
    assert accuracy == summary["test_accuracy"] and round(accuracy, 4) == result["test"]
    np.savetxt(tmp_path / "x.csv", x, fmt="%.9g", delimiter=",", header=",".join(f"p{i}" for i in range(64)),
               comments="")
    assert main(["predict", str(r), str(tmp_path / "x.csv"), "--out", str(tmp_path / "classes.txt")]) == 0
    classes = np.array([int(c) for c in (tmp_path / "classes.txt").read_text().split()])
    assert float(np.sum(classes == t) / len(t)) == summary["test_accuracy"]
    assert main(["predict", str(r), str(tmp_path / "x.csv"), "--out", str(tmp_path / "classes.npy")]) == 0
    np.testing.assert_array_equal(np.load(tmp_path / "classes.npy"), classes)
    assert main(["predict", str(r), str(tmp_path / "x.csv")]) == 0
    assert [int(c) for c in capsys.readouterr().out.split()] == list(classes)
    for bad, phrase in ((x[:, :5], "rows of 5 values; the model takes 64 inputs per row"),
                        (np.where(np.arange(64) == 3, np.nan, x[:2]), "row 1 (index 0) holds NaN or infinite values")):
        assert main(["predict", str(r), _npy(tmp_path, bad)]) == 2
        one_error_line(capsys, phrase)
    (tmp_path / "words.csv").write_text(",".join(["a"] * 64) + "\n" + ",".join(["b"] * 64) + "\n")
    assert main(["predict", str(r), str(tmp_path / "words.csv")]) == 2
    one_error_line(capsys, "words.csv, line 1, column 1: 'a' is not a number")


def _npy(tmp_path, x):
    path = tmp_path / "input.npy"
    np.save(path, x)
    return str(path)


def test_the_model_file_keeps_the_standardization(tmp_path):
    r = tmp_path / "r"
    assert main(["train", "--out", str(r)] + SMALL) == 0
    state = load_checkpoint(r / "model")
    train, _, _, _ = load_splits(resolve(load_run_config(r)))
    x = train.arrays[0].astype(np.float64)
    np.testing.assert_array_equal(state["standardize"]["mean"], x.mean(axis=0))
    assert state["n_in"] == 64 and state["n_classes"] == 10 and state["input_dtype"] == "float32"


# ---------------------------------------------------------------------------- BatchNorm runs, evaluate_test
def test_batchnorm_runs_evaluate_and_resume(tmp_path, capsys):
    r = tmp_path / "r"
    assert main(["train", "--out", str(r)] + SMALL + ["--set", "model.batchnorm=true"]) == 0
    assert main(["evaluate", str(r)]) == 0
    (r / "summary.json").unlink()          # as if killed after the last checkpoint
    assert main(["train", "--resume", str(r)]) == 0
    assert "resuming" in capsys.readouterr().out
    assert main(["train", "--out", str(tmp_path / "d")] + SMALL + ["--set", "model.batchnorm=true", "--set",
                                                                     "data.batch_size=37", "--set",
                                                                     "data.drop_last=true"]) == 0


def test_evaluate_test_false_never_touches_the_test_split(tmp_path):
    lines = []
    config = load_config(None, ["model.hidden=[8]", "training.epochs=1", "output.progress=false",
                                "output.plots=false"])
    summary = run(config, run_dir=tmp_path / "r", out=lines.append, evaluate_test=False)
    assert not [k for k in summary if k.startswith("test")] and "val_accuracy" in summary
    assert lines and not [line for line in lines if "test accuracy" in line or " test examples" in line]
    assert not [k for k in strict((tmp_path / "r" / "summary.json").read_text()) if k.startswith("test")]


# ---------------------------------------------------------------------------- Ctrl-C, closed pipes
def test_ctrl_c_says_how_to_resume_and_exits_130(tmp_path):
    r = tmp_path / "r"
    child = subprocess.Popen([sys.executable, "-m", "descend.cli", "train", "--out", str(r)] + SMALL +
                             ["--set", "training.epochs=100000", "--set", "training.early_stopping.enabled=false"],
                             env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for line in child.stdout:
            if line.startswith("    2 "):
                break
        child.send_signal(signal.SIGINT)
        _, err = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == 130
    assert err.strip() == f"interrupted; continue with `descend train --resume {r}`"
    assert load_checkpoint(r / "checkpoints" / "last")["epoch"] >= 1


@pytest.mark.parametrize("command", ["info", "evaluate", "predict", "config"])
def test_a_closed_pipe_ends_quietly(tmp_path, command):
    r = tmp_path / "r"
    assert main(["train", "--out", str(r)] + SMALL) == 0
    args = {"info": ["info", str(r)], "evaluate": ["evaluate", str(r)], "config": ["config"],
            "predict": ["predict", str(r), _npy(tmp_path, np.zeros((20000, 64)))]}[command]
    child = subprocess.Popen([sys.executable, "-m", "descend.cli", *args], env=ENV, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
    child.stdout.close()             # the reader is gone before the first line is written
    err = child.stderr.read().decode()
    child.wait(timeout=60)
    assert child.returncode == 0 and err == ""


def test_default_run_reaches_97_percent_on_digits(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    t0 = time.perf_counter()
    assert main(["train", "--set", "output.progress=false", "--set", "output.plots=false"]) == 0
    elapsed = time.perf_counter() - t0
    out = capsys.readouterr().out
    run_dir = out.strip().splitlines()[-1].split("run directory: ")[1]
    assert run_dir.startswith(str(tmp_path / "runs"))
    with open(os.path.join(run_dir, "summary.json")) as f:
        summary = json.load(f)
    assert summary["test_accuracy"] >= 0.97, (summary, elapsed)
