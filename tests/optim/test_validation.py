"""Bad parameters and hyperparameters raise ValueError/TypeError naming the thing, the value and the
range, when the value enters: at construction, by add_param_group, when a group is written, when a
state_dict is loaded; step() re-checks lr. Hyperparameters are declared once and public."""


import inspect
import re

import numpy as np
import pytest

import descend as dc
from descend import optim


def param():
    return dc.zeros(3, requires_grad=True, dtype=dc.float64)


NAN = float("nan")

BAD = [
    (optim.SGD, dict(lr=-0.1), "lr"),
    (optim.SGD, dict(lr=NAN), "lr"),
    (optim.SGD, dict(momentum=-0.5), "momentum"),
    (optim.SGD, dict(weight_decay=-1e-3), "weight_decay"),
    (optim.SGD, dict(nesterov=True), "Nesterov"),
    (optim.SGD, dict(nesterov=True, momentum=0.9, dampening=0.1), "Nesterov"),
    (optim.SGD, dict(nesterov="yes", momentum=0.9), "nesterov"),
    (optim.Adam, dict(lr=-1.0), "lr"),
    (optim.Adam, dict(betas=(1.0, 0.999)), "betas\\[0\\]"),
    (optim.Adam, dict(betas=(0.9, -0.1)), "betas\\[1\\]"),
    (optim.Adam, dict(betas=(0.9, NAN)), "betas\\[1\\]"),
    (optim.Adam, dict(betas=0.9), "betas"),
    (optim.Adam, dict(eps=0.0), "eps"),
    (optim.Adam, dict(eps=-1e-8), "eps"),
    (optim.Adam, dict(weight_decay=-0.1), "weight_decay"),
    (optim.AdamW, dict(betas=(0.9, 1.5)), "betas\\[1\\]"),
    (optim.AdamW, dict(weight_decay=-0.01), "weight_decay"),
    (optim.RMSprop, dict(alpha=1.5), "alpha"),
    (optim.RMSprop, dict(eps=0), "eps"),
    (optim.RMSprop, dict(momentum=-0.1), "momentum"),
    (optim.RMSprop, dict(nesterov=True), "Nesterov"),
    (optim.RMSprop, dict(weight_decay=-1.0), "weight_decay"),
    (optim.Adagrad, dict(lr_decay=-0.1), "lr_decay"),
    (optim.Adagrad, dict(initial_accumulator_value=-1.0), "initial_accumulator_value"),
    (optim.Adagrad, dict(eps=0.0), "eps"),
    (optim.Adadelta, dict(rho=1.1), "rho"),
    (optim.Adadelta, dict(rho=-0.1), "rho"),
    (optim.Adadelta, dict(eps=0.0), "eps"),
    (optim.Adadelta, dict(lr=-1.0), "lr"),
    (optim.Rprop, dict(etas=(1.2, 0.5)), "etaminus"),
    (optim.Rprop, dict(etas=(0.5, 1.0)), "etaplus"),
    (optim.Rprop, dict(etas=(0.5,)), "etas"),
    (optim.Rprop, dict(step_sizes=(-1.0, 1.0)), "step_sizes\\[0\\]"),
    (optim.Rprop, dict(step_sizes=(1.0, 0.5)), "step_sizes\\[1\\]"),
    (optim.Rprop, dict(variant="rprop-"), "variant"),
    (optim.ASGD, dict(lambd=-1.0), "lambd"),
    (optim.ASGD, dict(alpha=-1.0), "alpha"),
    (optim.ASGD, dict(t0=-1.0), "t0"),
]


@pytest.mark.parametrize("cls,kw,match", BAD, ids=[f"{c.__name__}-{k}" for c, k, _ in BAD])
def test_bad_hyperparameter_at_construction(cls, kw, match):
    with pytest.raises(ValueError, match=match) as info:
        cls([param()], **kw)
    msg = str(info.value)
    if "Nesterov" not in match:
        assert "expected" in msg   # the range is named


@pytest.mark.parametrize("cls,kw,match", BAD, ids=[f"{c.__name__}-{k}" for c, k, _ in BAD])
def test_bad_hyperparameter_written_into_a_group_is_refused_at_the_write(cls, kw, match):
    p = param()
    opt = cls([p])
    group = opt.param_groups[0]
    before = dict(group)
    with pytest.raises(ValueError, match=match):
        group.update(kw)
    assert dict(group) == before                     # nothing written
    if len(kw) == 1:
        (key, value), = kw.items()
        with pytest.raises(ValueError, match=match):
            group[key] = value
        assert dict(group) == before
    p.grad = dc.ones(3, dtype=dc.float64)
    opt.step()                                       # the group still works


@pytest.mark.parametrize("cls,kw,match", BAD, ids=[f"{c.__name__}-{k}" for c, k, _ in BAD])
def test_bad_hyperparameter_in_add_param_group(cls, kw, match):
    opt = cls([param()])
    with pytest.raises(ValueError, match=match):
        opt.add_param_group({"params": [param()], **kw})
    assert len(opt.param_groups) == 1


def test_error_message_names_value_and_range():
    with pytest.raises(ValueError, match=r"Invalid learning rate lr=-0\.1 for SGD: expected a finite number >= 0$"):
        optim.SGD([param()], lr=-0.1)
    with pytest.raises(ValueError, match=r"Invalid betas\[0\] \(beta1\)=1\.0 for Adam: expected a finite number "
                                         r"in \[0, 1\)$"):
        optim.Adam([param()], betas=(1.0, 0.9))


OPTIMIZERS = [optim.SGD, optim.Adam, optim.AdamW, optim.RMSprop, optim.Adagrad, optim.Adadelta, optim.Rprop,
              optim.ASGD, optim.LBFGS, optim.BFGS, optim.ConjugateGradient, optim.Newton, optim.HessianFree]


def _numbers(cls):
    """(argument name, a valid value with ``bad`` put where a number is expected) for every number."""
    from descend.optim.hyperparameters import Number, Pair
    for spec in cls.hyperparameters:
        if not spec.argument:
            continue
        if isinstance(spec, Number):
            yield spec.name, spec.label, lambda bad: bad
        elif isinstance(spec, Pair):
            d = spec.default
            yield spec.name, spec.first.label, lambda bad, d=d: (bad, d[1])
            yield spec.name, spec.second.label, lambda bad, d=d: (d[0], bad)


NON_FINITE = [(cls, name, label, value) for cls in OPTIMIZERS for name, label, make in _numbers(cls)
              for value in (make(float("inf")), make(float("nan")), make(-float("inf")))]


@pytest.mark.parametrize("cls,name,label,value", NON_FINITE,
                         ids=[f"{c.__name__}-{lab}-{v}" for c, _, lab, v in NON_FINITE])
def test_every_hyperparameter_of_every_optimizer_rejects_non_finite_values(cls, name, label, value):
    # the issue: Adam(params, lr=inf) was accepted and the first step made every parameter non-finite
    bad = value if not isinstance(value, tuple) else next(v for v in value if not np.isfinite(v))
    message = re.escape(f"Invalid {label}={bad!r} for {cls.__name__}: expected ")
    with pytest.raises(ValueError, match=message):
        cls([param()], **{name: value})
    opt = cls([param()])
    with pytest.raises(ValueError, match=message):
        opt.param_groups[0][name] = value
    with pytest.raises(ValueError, match=message):
        cls.hyperparameters.validate({name: value}, cls.__name__)


def test_adam_lr_inf_is_refused_and_nothing_moves():
    p = param()
    with pytest.raises(ValueError, match="lr=inf"):
        optim.Adam([p], lr=float("inf"))
    opt = optim.Adam([p])
    p.grad = dc.ones(3, dtype=dc.float64)
    dict.__setitem__(opt.param_groups[0], "lr", float("inf"))   # behind the group's back
    with pytest.raises(ValueError, match=r"learning rate lr=inf for Adam"):
        opt.step()                                                # step() re-checks lr
    np.testing.assert_array_equal(p.data, 0.0)
    assert not opt.state[p]


def test_lr_checked_at_step_for_every_group_and_plain_dict_groups():
    a, b = param(), param()
    opt = optim.SGD([a], lr=0.1)
    opt.param_groups.append({"params": [b], "lr": -1.0, "momentum": 0.0, "dampening": 0.0, "weight_decay": 0.0,
                             "nesterov": False, "maximize": False})
    a.grad = b.grad = dc.ones(3, dtype=dc.float64)
    with pytest.raises(ValueError, match=r"lr=-1\.0 for SGD: expected a finite number >= 0"):
        opt.step()
    np.testing.assert_array_equal(a.data, 0.0)                   # checked before anything moved


def test_load_state_dict_with_a_bad_value_changes_nothing():
    p = param()
    opt = optim.Adam([p], lr=0.1)
    p.grad = dc.ones(3, dtype=dc.float64)
    opt.step()
    sd = opt.state_dict()
    sd["param_groups"][0]["lr"] = float("nan")
    sd["state"][0]["step"] = 99
    with pytest.raises(ValueError, match="lr=nan"):
        opt.load_state_dict(sd)
    assert opt.param_groups[0]["lr"] == 0.1 and opt.state[p]["step"] == 1


def test_hyperparameters_are_declared_once_and_public():
    from descend.optim.hyperparameters import Hyperparameters
    for cls in OPTIMIZERS:
        assert isinstance(cls.hyperparameters, Hyperparameters)
        sig = inspect.signature(cls)
        args = [s.name for s in cls.hyperparameters if s.argument]
        assert list(sig.parameters) == ["params"] + args
        opt = cls([param()])
        assert set(opt.defaults) == {s.name for s in cls.hyperparameters}
    assert optim.Adam.hyperparameters["lr"].default == 1e-3
    # the command line checks a configuration without building a model
    full = optim.SGD.hyperparameters.validate({"lr": 0.1, "momentum": 0.9}, "SGD")
    assert full == {"lr": 0.1, "momentum": 0.9, "dampening": 0.0, "weight_decay": 0.0, "nesterov": False,
                    "maximize": False}
    assert optim.LBFGS.hyperparameters.validate({"max_iter": 8})["max_eval"] == 10   # derived: max_iter·5//4
    with pytest.raises(TypeError, match="did you mean 'momentum'"):
        optim.SGD.hyperparameters.validate({"momentun": 0.9}, "SGD")
    with pytest.raises(ValueError, match="Nesterov"):
        optim.SGD.hyperparameters.validate({"nesterov": True}, "SGD")
    with pytest.raises(TypeError, match="decoupled_weight_decay"):   # fixed in AdamW, not an argument
        optim.AdamW.hyperparameters.validate({"decoupled_weight_decay": False}, "AdamW")
    assert optim.AdamW([param()]).param_groups[0]["decoupled_weight_decay"] is True


def test_signatures_and_defaults_are_pytorchs():
    torch = pytest.importorskip("torch")
    P = inspect.Parameter
    for cls in OPTIMIZERS:
        ref = getattr(torch.optim, cls.__name__, None)
        if ref is None:
            continue
        ours, theirs = inspect.signature(cls).parameters, inspect.signature(ref).parameters
        positional = [n for n, q in ours.items() if q.kind == P.POSITIONAL_OR_KEYWORD]
        their_positional = [n for n, q in theirs.items() if q.kind == P.POSITIONAL_OR_KEYWORD]
        # the same positional arguments in the same places (keyword-only where torch has ones we lack before them)
        assert positional == their_positional[:len(positional)], cls.__name__
        for name, q in ours.items():
            if name != "params" and name in theirs:
                assert q.default == theirs[name].default, (cls.__name__, name, q.default, theirs[name].default)


def test_unknown_and_missing_arguments_raise_type_error():
    with pytest.raises(TypeError, match=r"SGD\(\): got an unexpected keyword argument 'momentun'; did you mean "
                                        r"'momentum'\?"):
        optim.SGD([param()], momentun=0.9)
    with pytest.raises(TypeError, match="too many positional"):
        optim.SGD([param()], 0.1, 0.9, 0.0, 0.0, False, False)

def test_empty_parameter_list():
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.SGD([])


def test_consumed_generator_is_named():
    ps = [param()]
    gen = (p for p in ps)
    optim.SGD(gen, lr=0.1)
    with pytest.raises(ValueError, match="consumed"):
        optim.Adam(gen)


def test_duplicate_parameter():
    p = param()
    with pytest.raises(ValueError, match="twice"):
        optim.SGD([p, p], lr=0.1)
    with pytest.raises(ValueError, match="more than one parameter group"):
        optim.SGD([{"params": [p]}, {"params": [p]}], lr=0.1)
    opt = optim.SGD([p], lr=0.1)
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [p]})


def test_non_leaf_and_integer_tensors():
    p = param()
    with pytest.raises(ValueError, match="non-leaf"):
        optim.SGD([p * 2], lr=0.1)
    with pytest.raises(ValueError, match="int64"):
        optim.SGD([dc.tensor(np.arange(3))], lr=0.1)
    with pytest.raises(TypeError, match="Tensors"):
        optim.SGD([np.zeros(3)], lr=0.1)
    with pytest.raises(TypeError, match="iterable"):
        optim.SGD(p, lr=0.1)
    with pytest.raises(TypeError, match="sets"):
        optim.SGD([{"params": {p}}], lr=0.1)


def test_add_param_group_and_defaults():
    a, b = param(), param()
    opt = optim.SGD([a], lr=0.1, momentum=0.9)
    opt.add_param_group({"params": b, "lr": 0.01})
    assert opt.param_groups[1]["lr"] == 0.01 and opt.param_groups[1]["momentum"] == 0.9
    with pytest.raises(ValueError, match="lr"):
        opt.add_param_group({"params": [param()], "lr": -1})


def test_zero_grad_modes_and_repr():
    p = param()
    opt = optim.Adam([p], lr=0.1)
    p.grad = dc.ones(3, dtype=dc.float64)
    g = p.grad
    opt.zero_grad(set_to_none=False)
    assert p.grad is g and np.all(g.data == 0)
    opt.zero_grad()
    assert p.grad is None
    r = repr(opt)
    assert "Adam" in r and "lr: 0.1" in r and "betas: (0.9, 0.999)" in r


def test_parameters_without_grad_are_skipped_and_closure_is_returned():
    a, b = param(), param()
    opt = optim.SGD([a, b], lr=0.5)

    def closure():
        loss = (a * 1.0).sum()
        loss.backward()
        return loss
    loss = opt.step(closure)
    assert float(loss) == 0.0
    np.testing.assert_array_equal(a.data, -0.5)
    np.testing.assert_array_equal(b.data, 0.0)
    assert b not in opt.state or not opt.state[b]


def test_step_never_builds_graph():
    p = param()
    opt = optim.Adam([p], lr=0.1)
    p.grad = dc.ones(3, dtype=dc.float64)
    opt.step()
    assert p.is_leaf and p.grad_fn is None


def test_copied_and_pickled_optimizers_keep_checking_their_groups():
    import copy
    import pickle
    p = param()
    opt = optim.Adam([p], lr=0.1)
    for other in (copy.deepcopy(opt), pickle.loads(pickle.dumps(opt))):
        assert other.param_groups[0]["lr"] == 0.1 and other.param_groups[0]["betas"] == (0.9, 0.999)
        with pytest.raises(ValueError, match="lr=nan for Adam"):
            other.param_groups[0]["lr"] = float("nan")
    shallow = copy.copy(opt.param_groups[0])
    with pytest.raises(ValueError, match="eps"):
        shallow["eps"] = 0.0
    assert opt.state_dict()["param_groups"][0].__class__ is dict   # state_dict holds plain dicts
