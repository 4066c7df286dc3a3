"""The ``descend`` command: config validation, train/evaluate/info, and bit-identical resume after SIGKILL."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from descend.cli import main
from descend.train import load_checkpoint
from descend.train.config import ConfigError, apply_override, default_config, load_config

SMALL = ["--set", "model.hidden=[16]", "--set", "training.epochs=3", "--set", "output.progress=false",
         "--set", "model.dropout=0.0", "--set", "data.augment.rotate=0.0", "--set", "optimizer.lr=0.01"]


@pytest.mark.parametrize("override, message", [
    ("model.hiden=[64]", r"unknown config key 'model.hiden'; did you mean 'model.hidden'"),
    ("trainig.epochs=3", r"unknown config key 'trainig'; did you mean 'training'"),
    ("training.early_stopping.patince=3", r"did you mean 'training.early_stopping.patience'"),
    ("training.epochs=abc", r"'training.epochs' = 'abc': expected an integer, got a string"),
    ("training.epochs=2.5", r"expected an integer, got a number"),
    ("model.dropout=1.5", r"'model.dropout' = 1.5: expected a value >= 0.0 and <= 1.0"),
    ("data.mode=minibach", r"expected one of batch, stochastic, online, minibatch; did you mean 'minibatch'"),
    ("model.hidden=[64, -1]", r"expected a list of positive integers"),
    ("optimizer.name=Adamm", r"'optimizer.name' = 'Adamm': no such optimizer; did you mean 'Adam'"),
    ("optimizer.betta=0.9", r"unknown config key 'optimizer.betta' for Adam; did you mean 'optimizer.betas'"),
    ("training.early_stopping.mode=auto", r"expected one of min, max"),
])
def test_config_errors_name_the_key(override, message):
    with pytest.raises(ConfigError, match=message):
        load_config(None, [override])


def test_config_file_and_overrides_merge(tmp_path):
    p = tmp_path / "c.toml"
    p.write_text('[model]\nhidden = [32, 16]\n[optimizer]\nname = "SGD"\nlr = 0.1\nmomentum = 0.9\n')
    c = load_config(p, ["training.epochs=7", "data.name=two_moons"])
    assert c["model"]["hidden"] == [32, 16] and c["optimizer"] == {"name": "SGD", "lr": 0.1, "momentum": 0.9}
    assert c["training"]["epochs"] == 7 and c["data"]["name"] == "two_moons"
    assert c["data"]["batch_size"] == default_config()["data"]["batch_size"]
    (tmp_path / "bad.toml").write_text("[model]\nwidth = 3\n")
    with pytest.raises(ConfigError, match="unknown config key 'model.width'"):
        load_config(tmp_path / "bad.toml")
    cfg = {}
    apply_override(cfg, "a.b=hello")
    assert cfg == {"a": {"b": "hello"}}


def test_cli_reports_config_errors(capsys):
    assert main(["train", "--set", "optimizer.lrr=0.1"]) == 2
    assert "did you mean 'optimizer.lr'" in capsys.readouterr().err


def test_train_evaluate_info_write_the_run_directory(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "--out", str(run)] + SMALL) == 0
    out = capsys.readouterr().out
    assert f"run directory: {run}" in out and "val_loss" in out
    for name in ("config.toml", "metrics.jsonl", "layers.jsonl", "summary.json", "model.npz", "model.json",
                 "checkpoints/last.npz", "checkpoints/last.json", "plots/loss.png", "plots/accuracy.png",
                 "plots/layers.png"):
        assert (run / name).exists(), name
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [1, 2, 3] and rows[2]["loss"] < rows[0]["loss"]
    summary = json.loads((run / "summary.json").read_text())
    assert summary["parameters"] == 64 * 16 + 16 + 16 * 10 + 10
    assert 0.8 < summary["test_accuracy"] <= 1 and summary["epochs"] == 3
    assert (run / "plots/loss.png").read_bytes()[:4] == b"\x89PNG"
    layers = [json.loads(line) for line in (run / "layers.jsonl").read_text().splitlines()]
    assert {r["layer"] for r in layers} >= {"0", "1", "2", "0.weight", "2.weight"}
    assert main(["evaluate", str(run)]) == 0
    ev = capsys.readouterr().out
    assert f"{summary['test_accuracy']:9.4f}" in ev
    assert main(["info", str(run)]) == 0
    info = capsys.readouterr().out
    assert "epochs done: 3 of 3" in info and "checkpoint last: epoch 3" in info
    assert main(["evaluate", str(tmp_path / "nothing")]) == 2


def test_schedule_and_optimizer_from_config(tmp_path, capsys):
    run = tmp_path / "r"
    args = SMALL + ["--set", "optimizer.name=SGD", "--set", "optimizer.momentum=0.9", "--set", "optimizer.lr=0.05",
                    "--set", "schedule.name=StepLR", "--set", "schedule.step_size=1", "--set", "schedule.gamma=0.5",
                    "--set", "output.plots=false"]
    assert main(["train", "--out", str(run)] + args) == 0
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["lr"] for r in rows] == [0.05, 0.025, 0.0125]
    run2 = tmp_path / "r2"
    args2 = SMALL + ["--set", "schedule.name=ReduceLROnPlateau", "--set", "schedule.patience=0",
                     "--set", "schedule.factor=0.5", "--set", "output.plots=false"]
    assert main(["train", "--out", str(run2)] + args2) == 0
    assert main(["train", "--set", "schedule.name=StepLR", "--set", "schedule.step=1"]) == 2
    assert "did you mean 'schedule.step_size'" in capsys.readouterr().err


def test_plots_skipped_without_matplotlib(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    assert main(["train", "--out", str(tmp_path / "r")] + SMALL + ["--set", "training.epochs=1"]) == 0
    out = capsys.readouterr().out
    assert out.count("plots skipped: matplotlib is not installed") == 1
    assert not (tmp_path / "r" / "plots").exists() and (tmp_path / "r" / "summary.json").exists()


CHILD = r"""
import sys, time
from descend.train.callbacks import model_checkpoint as mc
orig = mc.ModelCheckpoint.on_epoch_end
def slow(self, trainer, epoch, logs):
    orig(self, trainer, epoch, logs)
    if epoch == {kill_epoch}:
        print("checkpointed", flush=True)
        time.sleep(120)
mc.ModelCheckpoint.on_epoch_end = slow
from descend.cli import main
sys.exit(main(sys.argv[1:]))
"""

RESUME_ARGS = ["--set", "model.hidden=[24]", "--set", "model.dropout=0.2", "--set", "training.epochs=5",
               "--set", "output.progress=false", "--set", "output.plots=false", "--set", "data.batch_size=64",
               "--set", "data.augment.noise=0.05", "--set", "training.early_stopping.patience=100"]


def test_resume_after_sigkill_is_bit_identical(tmp_path):
    env = dict(os.environ, PYTHONHASHSEED="0")
    full, killed = tmp_path / "full", tmp_path / "killed"
    subprocess.run([sys.executable, "-m", "descend.cli", "train", "--out", str(full)] + RESUME_ARGS, check=True,
                   env=env, capture_output=True, timeout=120)
    child = subprocess.Popen([sys.executable, "-c", CHILD.replace("{kill_epoch}", "2"), "train", "--out",
                              str(killed)] + RESUME_ARGS, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                             text=True)
    try:
        for line in child.stdout:
            if "checkpointed" in line:
                break
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == -signal.SIGKILL
    assert not (killed / "summary.json").exists()
    assert load_checkpoint(killed / "checkpoints" / "last")["epoch"] == 2
    r = subprocess.run([sys.executable, "-m", "descend.cli", "train", "--resume", str(killed)], env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "resuming" in r.stdout
    a = load_checkpoint(full / "model")["model"]
    b = load_checkpoint(killed / "model")["model"]
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])
    ma = (full / "metrics.jsonl").read_text().splitlines()
    mb = (killed / "metrics.jsonl").read_text().splitlines()
    strip = [{k: v for k, v in json.loads(x).items() if k != "time"} for x in ma]
    assert strip == [{k: v for k, v in json.loads(x).items() if k != "time"} for x in mb]


def test_default_run_reaches_97_percent_on_digits(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    t0 = time.perf_counter()
    assert main(["train", "--set", "output.progress=false"]) == 0
    elapsed = time.perf_counter() - t0
    out = capsys.readouterr().out
    run_dir = out.strip().splitlines()[-1].split("run directory: ")[1]
    assert run_dir.startswith(str(tmp_path / "runs"))
    summary = json.loads(open(os.path.join(run_dir, "summary.json")).read())
    assert summary["test_accuracy"] >= 0.97, (summary, elapsed)
