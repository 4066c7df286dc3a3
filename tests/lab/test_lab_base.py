"""The lab framework: registry, result.json in strict JSON, the command line."""

import json

import pytest

from descend import lab
from descend.cli import main


def test_linear_collapse_quick_run_confirms_with_its_numbers(tmp_path):
    r = lab.run("linear-collapse", quick=True, seed=0, out=str(tmp_path))
    assert r["confirmed"] is True
    n = r["numbers"]
    assert n["collapse_max_abs_error"] < 1e-9
    assert n["train_loss_deep_linear"] >= n["train_loss_linear_optimum"] - 1e-3
    assert n["train_loss_deep_tanh"] < n["train_loss_linear_optimum"] - 0.05
    saved = json.loads((tmp_path / "linear-collapse" / "result.json").read_text())
    assert set(saved) >= {"name", "claim", "source", "confirmed", "numbers", "figures"}
    assert saved["numbers"] == n and saved["figures"] == ["boundaries.png"]
    assert (tmp_path / "linear-collapse" / "boundaries.png").stat().st_size > 1000


def test_unknown_lab_names_the_closest():
    with pytest.raises(ValueError, match="did you mean 'linear-collapse'"):
        lab.get("linear-colapse")


def test_cli_list_and_usage_errors(capsys):
    assert main(["lab", "list"]) == 0
    assert "linear-collapse" in capsys.readouterr().out
    assert main(["lab", "run", "no-such-lab"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no lab named 'no-such-lab'" in err
    assert main(["lab", "run"]) == 2
    assert "give one lab NAME or --all" in capsys.readouterr().err


def test_strict_json_numbers():
    from descend.lab.base import _plain
    import numpy as np
    assert _plain({"a": np.float32(1.5), "b": float("nan"), "c": np.arange(3), "d": (np.bool_(True),)}) == \
        {"a": 1.5, "b": None, "c": [0, 1, 2], "d": [True]}
