"""Run configuration: every key checked, resolved once into typed objects through one registry per kind."""

import math

import pytest

import descend as dc
from descend import nn, optim
from descend.optim import lr_scheduler
from descend.train.callbacks import LRScheduler
from descend.train.config import CHOICES, DEFAULT_TOML, ConfigError, apply_override, default_config, dumps, \
    load_config, validate
from descend.train.registry import ACTIVATIONS, DATASETS, INITS, OPTIMIZERS, SCHEDULERS
from descend.train.spec import ScheduleSpec, resolve


@pytest.mark.parametrize("override, message", [
    ("model.hiden=[64]", r"unknown config key 'model.hiden'; did you mean 'model.hidden'"),
    ("trainig.epochs=3", r"unknown config key 'trainig'; did you mean 'training'"),
    ("training.early_stopping.patince=3", r"did you mean 'training.early_stopping.patience'"),
    ("training.epochs=abc", r"'training.epochs' = 'abc': expected an integer, got a string"),
    ("training.epochs=2.5", r"expected an integer, got a number"),
    ("model.dropout=1.5", r"'model.dropout' = 1.5: expected a value >= 0.0 and < 1.0"),
    ("model.dropout=1.0", r"'model.dropout' = 1.0: expected a value >= 0.0 and < 1.0"),
    ("data.mode=minibach", r"expected one of batch, stochastic, online, minibatch; did you mean 'minibatch'"),
    ("model.hidden=[64, -1]", r"expected a list of positive integers"),
    ("optimizer.name=Adamm", r"'optimizer.name' = 'Adamm': expected one of .*SGD.*; did you mean 'Adam'"),
    ("optimizer.betta=0.9", r"unknown config key 'optimizer.betta' for Adam; did you mean 'optimizer.betas'"),
    ("training.early_stopping.mode=auto", r"expected one of min, max"),
    ("optimizer.lr=nan", r"'optimizer.lr' = nan: expected a finite number"),
    ("optimizer.lr=inf", r"'optimizer.lr' = inf: expected a finite number"),
    ("optimizer.lr=-1", r"\[optimizer\] Adam\(lr=-1\): Invalid learning rate lr=-1"),
    ("optimizer.betas=[0.9]", r"\[optimizer\] Adam\(lr=0.001, betas=\[0.9\]\): Invalid betas"),
    ("optimizer.betas=[0.9, 1.5]", r"Invalid betas\[1\] \(beta2\)=1.5"),
    ("optimizer.betas=[0.9, nan]", r"'optimizer.betas' = \[0.9, nan\]: expected a finite number"),
    ("training.seed=4294967296", r"'training.seed' = 4294967296: expected a value >= 0 and < 4294967296"),
    ("training.seed=-1", r"'training.seed' = -1: expected a value >= 0"),
    ("training.early_stopping.monitor=val_los", r"'val_los': not a metric the run logs; did you mean 'val_loss'"),
    ("training.early_stopping.min_delta=nan", r"expected a finite number"),
    ("data.augment.rotate=-3", r"'data.augment.rotate' = -3: expected a value >= 0.0 and <= 180.0"),
    ("data.augment.noise=loud", r"'data.augment.noise' = 'loud': expected a number or \"auto\", got a string"),
    ("training.compile=yes", r"'training.compile' = 'yes': expected true, false or \"auto\""),
    ("training.compile=1", r"'training.compile' = 1: expected true, false or \"auto\""),
    ("data.augment.shift=8", r"'data.augment.shift' = 8: expected less than the image size \(8, 8\)"),
    ("output.name=../../x", r"'output.name' = '../../x': expected one directory name inside output.dir"),
    ("output.name=/tmp/x", r"'output.name' = '/tmp/x': expected one directory name"),
    ("output.name=..", r"'output.name' = '..': expected one directory name"),
    ("output.name=.hidden", r"not starting with '.'"),
    ("schedule.name=LambdaLR", r"'schedule.name' = 'LambdaLR': expected one of none, StepLR"),
    ("schedule.interval=hourly", r"expected one of epoch, batch"),
    ("model=3", r"--set model: model is a table; set one of its keys"),
])
def test_config_errors_name_the_key(override, message):
    with pytest.raises(ConfigError, match=message):
        load_config(None, [override])


@pytest.mark.parametrize("overrides, message", [
    (["optimizer.name=SGD", "optimizer.momentum=-1"], r"\[optimizer\] SGD\(lr=0.001, momentum=-1\): Invalid momentum"),
    (["schedule.name=StepLR"], r"config key 'schedule.step_size' is missing: StepLR requires it"),
    (["schedule.name=StepLR", "schedule.step=1"], r"did you mean 'schedule.step_size'"),
    (["schedule.name=StepLR", "schedule.step_size=0"], r"\[schedule\] StepLR\(step_size=0\): Invalid step_size=0"),
    (["schedule.name=OneCycleLR", "schedule.max_lr=0.1"], r"\[schedule\] OneCycleLR\(max_lr=0.1\): You must define"),
    (["schedule.name=ReduceLROnPlateau", "schedule.mode=mn"], r"\[schedule\] ReduceLROnPlateau\(mode='mn'\)"),
    (["schedule.name=ReduceLROnPlateau", "schedule.monitor=val_acc"], r"'schedule.monitor' = 'val_acc': not a metric"),
    (["schedule.name=ReduceLROnPlateau", "schedule.interval=batch"],
     r"'schedule.interval' = 'batch': ReduceLROnPlateau is stepped once per epoch with the monitored metric"),
    (["data.name=two_moons", "data.augment.rotate=5"],
     r"'data.augment.rotate' = 5: needs image data, and 'two_moons' is not images"),
    (["data.name=xor", "data.augment.flip=true"], r"'data.augment.flip' = True: needs image data"),
    (["data.name=spirals", "data.augment.shift=1"], r"'data.augment.shift' = 1: needs image data"),
    (["data.val=0"], r"'training.early_stopping.monitor' = 'val_loss': not a metric the run logs \(no validation"),
    (["data.val=0.5", "data.test=0.5"], r"'data.val' \+ 'data.test' = 1.0: expected < 1"),
    (["model.batchnorm=true", "data.mode=stochastic"], r"'data.mode' = 'stochastic': batches of one example"),
    (["model.batchnorm=true", "data.mode=online"], r"'data.mode' = 'online': batches of one example"),
])
def test_values_only_the_classes_check_are_checked_before_anything_runs(overrides, message):
    with pytest.raises(ConfigError, match=message):
        load_config(None, overrides)


def test_what_is_allowed():
    assert load_config(None, ["data.val=0", "training.early_stopping.enabled=false"])["data"]["val"] == 0
    assert load_config(None, ["data.name=mnist", "data.val=0.5", "data.test=0.5"])  # MNIST has its own test set
    assert load_config(None, ["training.seed=4294967295", "model.hidden=[]", "data.augment.noise=0"])
    assert load_config(None, ["data.name=two_moons", "data.augment.noise=0.1", "output.name=exp-1_a"])
    cfg = load_config(None, ["schedule.name=ReduceLROnPlateau", "training.early_stopping.monitor=val_accuracy",
                             "training.early_stopping.mode=max"])
    assert cfg["schedule"]["name"] == "ReduceLROnPlateau"


def test_defaults_work_for_every_data_set():
    for name, dataset in DATASETS.items():
        path = [f"data.path=x.{name}"] if dataset.file else []   # a file is only read when the run starts
        spec = resolve(load_config(None, [f"data.name={name}"] + path))
        a = spec.data.augment
        assert (a.rotate, a.noise) == ((8.0, 0.3) if dataset.image_shape else (0.0, 0.0)), name


def test_registries_are_the_single_source():
    assert CHOICES["model.activation"] == tuple(ACTIVATIONS) and ACTIVATIONS is nn.mlp.ACTIVATIONS
    assert CHOICES["model.init"] == ("default",) + tuple(INITS)
    assert CHOICES["data.name"] == tuple(DATASETS)
    assert set(OPTIMIZERS) == {"SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Rprop", "ASGD", "LBFGS",
                               "BFGS", "ConjugateGradient", "Newton", "HessianFree"}
    assert all(issubclass(c, optim.Optimizer) for c in OPTIMIZERS.values())
    assert "ReduceLROnPlateau" in SCHEDULERS and "LambdaLR" not in SCHEDULERS and "LRScheduler" not in SCHEDULERS
    for name in ACTIVATIONS:
        assert f"| {name} " in DEFAULT_TOML or f"| {name}\n" in DEFAULT_TOML or f"= \"{name}\"" in DEFAULT_TOML


def test_schedulers_are_stepped_by_what_their_type_takes():
    class Renamed(lr_scheduler.ReduceLROnPlateau):
        """A metric scheduler under another name: recognised by its type."""

    opt = optim.SGD([dc.zeros(1, requires_grad=True)], lr=0.1)
    cb = ScheduleSpec("Renamed", Renamed, {}, "epoch", "loss").callback(opt)
    assert isinstance(cb, LRScheduler) and cb.monitor == "loss" and cb.interval == "epoch"
    plateau = resolve(load_config(None, ["schedule.name=ReduceLROnPlateau"])).schedule
    assert plateau.monitor == "val_loss"
    step = resolve(load_config(None, ["schedule.name=StepLR", "schedule.step_size=2", "schedule.interval=batch"]))
    cb = step.schedule.callback(opt)
    assert step.schedule.monitor is None and cb.monitor is None and cb.interval == "batch"


def test_dumps_reads_back_unchanged(tmp_path):
    cfg = load_config(None, ["optimizer.name=SGD", "optimizer.lr=1e-05", "optimizer.momentum=0.9",
                             "output.name=a\"b\\c é", "model.hidden=[3, 2]", "data.augment.rotate=2.5"])
    (tmp_path / "c.toml").write_text(dumps(cfg), encoding="utf-8")
    assert load_config(tmp_path / "c.toml") == cfg


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
    (tmp_path / "broken.toml").write_text("[model\n")
    with pytest.raises(ConfigError, match="broken.toml: not valid TOML"):
        load_config(tmp_path / "broken.toml")
    with pytest.raises(ConfigError, match="config file .*nothing.toml does not exist"):
        load_config(tmp_path / "nothing.toml")
    cfg = {}
    apply_override(cfg, "a.b=hello")
    assert cfg == {"a": {"b": "hello"}}
    with pytest.raises(ConfigError, match="is not a dotted key"):
        apply_override(cfg, "a..b=1")
    with pytest.raises(ConfigError, match="expected key=value"):
        apply_override(cfg, "a.b")


def test_validate_takes_a_complete_config():
    cfg = default_config()
    assert validate(cfg) is cfg
    del cfg["data"]["val"]
    with pytest.raises(ConfigError, match="config key 'data.val' is missing"):
        validate(cfg)
    assert not math.isnan(default_config()["optimizer"]["lr"])


@pytest.mark.parametrize("value, expected", [(None, "auto"), ("true", True), ("false", False), ("auto", "auto")])
def test_training_compile_is_a_flag_or_auto(value, expected):
    config = load_config(None, [] if value is None else [f"training.compile={value}"])
    assert config["training"]["compile"] == expected
