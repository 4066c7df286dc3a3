"""``descend search`` on the command line: user errors are one line and exit 2 with nothing created; a study
where every trial fails exits 1; the examples parse."""

import os

import pytest
from searchutil import tree, write_search

from descend.cli import main
from descend.search.settings import load
from descend.train.config import validate

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GOOD = """[search]
method = "random"
trials = 2
[search.space]
"optimizer.lr" = { loguniform = [1e-3, 1e-1] }
"""


@pytest.mark.parametrize("body, args, message", [
    (GOOD.replace("[1e-3, 1e-1]", "[0, 1e-1]"), [], "search.space 'optimizer.lr': search.loguniform(0, 0.1): bounds "
                                                    "must be > 0"),
    (GOOD.replace("[1e-3, 1e-1]", "[1e-1, 1e-3]"), [], "expected a < b"),
    (GOOD.replace("{ loguniform = [1e-3, 1e-1] }", "{ choice = [] }"), [], "at least one value"),
    (GOOD.replace("{ loguniform = [1e-3, 1e-1] }", "{ grid = [] }"), [], "at least one value"),
    (GOOD.replace('"optimizer.lr"', '"optimizer.lrr"'), [], "did you mean 'optimizer.lr'"),
    (GOOD.replace('"optimizer.lr"', '"optimiser.lr"'), [], "unknown config path 'optimiser.lr'; did you mean "
                                                          "'optimizer.lr'?"),
    (GOOD.replace("trials = 2", 'metric = "val_acc"'), [], "search.metric = 'val_acc': the runs never log it; they "
                                                           "log loss, accuracy, val_loss, val_accuracy; did you mean "
                                                           "'val_accuracy'?"),
    (GOOD, ["--set", "data.val=0", "--set", "training.early_stopping.enabled=false"], "data.val = 0 holds out no "
                                                                                      "validation split"),
    (GOOD.replace("trials = 2", "trials = 0"), [], "search.trials = 0: expected an integer >= 1"),
    (GOOD, ["--set", "search.trials=-3"], "search.trials = -3"),
    (GOOD.replace('method = "random"', 'method = "randon"'), [], "did you mean 'random'"),
    (GOOD.replace("trials = 2", "trails = 2"), [], "unknown config key 'search.trails'; did you mean 'search.trials'"),
    (GOOD.replace('method = "random"', 'method = "halving"'), [], "min_epochs * eta = 3"),
    (GOOD.replace('method = "random"', 'method = "grid"'), [], "needs at least one grid axis"),
    (GOOD, ["--dask", "tcp://127.0.0.1:1"], "cannot reach the Dask scheduler at tcp://127.0.0.1:1"),
    (GOOD, ["--dask", "tcp://127.0.0.1"], "expected a scheduler address like tcp://host:8786"),
    (GOOD, ["--workers", "0"], "--workers 0: expected a positive number"),
    (GOOD, ["--workers", "2", "--dask-local", "2"], "give one of --workers, --dask and --dask-local"),
    ("[optimizer]\nlr = 0.01\n", [], "no [search] table"),
    (GOOD.replace("[search.space]", "[search.space]\n\"training.seed\" = { randint = [0, 9] }"), [],
     "set by the study"),
])
def test_user_errors_are_one_line_exit_2_and_create_nothing(tmp_path, capsys, body, args, message):
    path = write_search(tmp_path / "s.toml", body)
    out = tmp_path / "study"
    assert main(["search", path, "--out", str(out)] + args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("descend search: error: ") and message in err, err
    assert not out.exists() and tree(tmp_path) == ["s.toml"]


def test_invalid_toml_and_missing_file(tmp_path, capsys):
    path = write_search(tmp_path / "s.toml", GOOD + "trials = = 3\n")
    assert main(["search", path, "--out", str(tmp_path / "o")]) == 2
    assert "not valid TOML" in capsys.readouterr().err
    path = write_search(tmp_path / "s.toml", GOOD + "trials = 3\n")
    assert main(["search", path, "--out", str(tmp_path / "o")]) == 2
    assert "'trials' is a search setting; put it above [search.space]" in capsys.readouterr().err
    assert main(["search", str(tmp_path / "nope.toml")]) == 2
    assert "no such file" in capsys.readouterr().err
    assert main(["search"]) == 2
    assert "give a search file" in capsys.readouterr().err


def test_existing_study_and_bad_resume(tmp_path, capsys):
    path = write_search(tmp_path / "s.toml", GOOD)
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("")
    assert main(["search", path, "--out", str(tmp_path / "full")]) == 2
    assert "exists and is not empty" in capsys.readouterr().err
    assert main(["search", "--resume", str(tmp_path / "full")]) == 2
    assert "is not a study directory" in capsys.readouterr().err
    assert main(["search", path, "--resume", str(tmp_path / "full")]) == 2
    assert "do not pass CONFIG" in capsys.readouterr().err


def test_a_study_where_every_trial_fails_exits_1(tmp_path, capsys):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "train-images-idx3-ubyte").write_bytes(b"junk")
    (bad / "train-labels-idx1-ubyte").write_bytes(b"junk")
    path = write_search(tmp_path / "s.toml", GOOD)
    out = tmp_path / "study"
    assert main(["search", path, "--out", str(out), "--workers", "1", "--set", 'data.name="mnist"', "--set",
                 f'data.path="{bad}"']) == 1
    captured = capsys.readouterr()
    assert "no trial of the study" in captured.err and "2 of 2 FAILED" in captured.err and "corrupted" in captured.err
    assert captured.out.count("FAILED") >= 4            # a line per trial, and the table
    assert (out / "results.csv").read_text().count("FAILED") == 2 and not (out / "best.json").exists()


def test_a_small_study_prints_its_table_best_and_test(tmp_path, capsys):
    path = write_search(tmp_path / "s.toml", GOOD)
    out = tmp_path / "study"
    assert main(["search", path, "--out", str(out), "--workers", "1"]) == 0
    text = capsys.readouterr().out
    assert "random search: 2 trials selected on val_loss (min)" in text
    assert text.count(" COMPLETE val_loss ") == 2                         # one line per finished trial
    assert "rank  trial     state  val_loss" in text and "best: trial " in text
    assert "test, measured once on the best configuration" in text and "accuracy" in text
    assert "[optimizer]\nlr = " in text and f"study directory: {out}" in text
    assert main(["search", "--resume", str(out)]) == 0                    # a finished study: shown again
    assert "best: trial " in capsys.readouterr().out


@pytest.mark.parametrize("name", ["search_lr.toml", "search_random.toml"])
def test_examples_parse_and_validate(name):
    config, space, settings = load(os.path.join(ROOT, "examples", name))
    validate(config)
    assert space and settings.trials >= 1
