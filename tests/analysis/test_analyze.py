"""`descend train` keeps the per-epoch weight trajectory; `descend analyze` writes its JSON and figures."""

import json
import os

import numpy as np
import pytest

from descend.analyze import _initial_weights
from descend.cli import main
from descend.train.callbacks.trajectory import WeightTrajectory, list_snapshots, load_snapshot, snapshot_path

SMALL = ["--set", "model.hidden=[16]", "--set", "training.epochs=3", "--set", "output.progress=false",
         "--set", "model.dropout=0.0", "--set", "data.augment.rotate=0.0", "--set", "optimizer.lr=0.01",
         "--set", "output.plots=false"]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("runs") / "tiny")
    assert main(["train", *SMALL, "--out", path]) == 0
    return path


def _strict(text):
    def bad(name):
        raise ValueError(f"non-strict JSON constant {name}")
    return json.loads(text, parse_constant=bad)


def test_train_keeps_a_float32_trajectory_per_epoch(run_dir):
    snaps = list_snapshots(os.path.join(run_dir, "trajectory"))
    assert [e for e, _ in snaps] == [0, 1, 2, 3]
    first, last = load_snapshot(snaps[0][1]), load_snapshot(snaps[-1][1])
    assert sorted(first) == ["0.bias", "0.weight", "2.bias", "2.weight"]
    assert first["0.weight"].shape == (16, 64) and first["0.weight"].dtype == np.float32
    assert not np.array_equal(first["0.weight"], last["0.weight"])
    assert not any(".tmp" in name for name in os.listdir(os.path.join(run_dir, "trajectory")))


def test_no_trajectory_above_the_size_limit(tmp_path):
    path = str(tmp_path / "big")
    assert main(["train", *SMALL, "--set", "training.epochs=1", "--set", "output.trajectory_max_parameters=100",
                 "--out", path]) == 0
    assert list_snapshots(os.path.join(path, "trajectory")) == []


class _Trainer:
    def __init__(self, epoch, model):
        self.epoch, self.model, self.nan_step = epoch, model, None


def test_resume_drops_snapshots_after_the_checkpoint(tmp_path):
    from descend import nn
    model = nn.Linear(3, 2)
    cb = WeightTrajectory(tmp_path, max_parameters=100)
    cb.on_fit_start(_Trainer(0, model))
    for e in (1, 2, 3):
        cb.on_epoch_end(_Trainer(e, model), e, {})
    cb2 = WeightTrajectory(tmp_path, max_parameters=100)
    cb2.on_fit_start(_Trainer(2, model))  # resumed from the checkpoint of epoch 2
    assert [e for e, _ in list_snapshots(tmp_path)] == [0, 1, 2]
    assert os.path.exists(snapshot_path(tmp_path, 2))
    with pytest.raises(ValueError, match="max_parameters=-1"):
        WeightTrajectory(tmp_path, max_parameters=-1)


def test_analyze_writes_json_and_figures(run_dir, capsys):
    assert main(["analyze", run_dir, "--batch", "200", "--k", "3"]) == 0
    printed = capsys.readouterr().out
    assert "Hessian: top 3 eigenvalues" in printed and "trajectory: 4 snapshots" in printed
    d = os.path.join(run_dir, "analysis")
    with open(os.path.join(d, "analysis.json")) as f:
        r = _strict(f.read())
    top = r["hessian"]["top_eigenvalues"]
    assert len(top) == 3 and top == sorted(top, reverse=True) and top[0] > 0
    assert r["batch"] == 200 and r["parameters"] == 64 * 16 + 16 + 16 * 10 + 10
    assert r["hessian"]["trace_standard_error"] > 0
    assert abs(np.trapezoid(r["density"]["density"], r["density"]["grid"]) - 1) < 1e-6
    alphas, line = np.array(r["interpolation"]["alphas"]), np.array(r["interpolation"]["loss"])
    assert r["interpolation"]["initial_weights"] == "trajectory/epoch-0000.npz"
    assert line[np.argmin(abs(alphas - 1))] == pytest.approx(r["loss"], rel=1e-12)  # α = 1: the final weights
    assert np.array(r["surface"]["loss"]).shape == (21, 21)
    assert r["surface"]["loss"][10][10] == pytest.approx(r["loss"], rel=1e-12)  # the centre: the final weights
    tr = r["trajectory"]
    assert tr["epochs"] == [0, 1, 2, 3] and np.array(tr["coordinates"]).shape[1] == 2
    for name in ("density.png", "interpolation.png", "surface.png", "trajectory.png", "graph.png"):
        with open(os.path.join(d, name), "rb") as f:
            assert f.read(8) == b"\x89PNG\r\n\x1a\n", name
    assert sorted(r["figures"]) == sorted(["density.png", "interpolation.png", "surface.png", "trajectory.png",
                                           "graph.png"])


def test_initial_weights_rebuilt_from_the_seed_equal_the_kept_ones(run_dir):
    from descend.train.run import load_run_config
    from descend.train.spec import resolve
    spec = resolve(load_run_config(run_dir))
    model = spec.model.build(64, 10)
    rebuilt, origin = _initial_weights(spec, model, [], 64, 10)
    assert origin.startswith("rebuilt")
    kept = load_snapshot(snapshot_path(os.path.join(run_dir, "trajectory"), 0))
    for (name, _), a in zip(model.named_parameters(), rebuilt):
        np.testing.assert_array_equal(a.astype(np.float32), kept[name])


def test_analyze_user_errors_are_one_line(tmp_path, capsys):
    assert main(["analyze", str(tmp_path / "nothing")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "does not exist or is not a directory" in err[0]
    assert main(["analyze", str(tmp_path), "--k", "0"]) == 2
    assert "--k 0" in capsys.readouterr().err
