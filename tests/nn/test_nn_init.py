"""nn.init: ranges and standard deviations (tight statistical bounds), gains against torch, seeding."""

import math

import numpy as np
import pytest

import descend as dc
import descend.nn as nn
from descend.nn import init


def fresh(*shape):
    return nn.Parameter(np.zeros(shape, dtype=np.float64))


# (function, kwargs, expected bound or None, expected std); shape (out, in) = (400, 600)
FAN_IN, FAN_OUT = 600, 400
UNIFORM_CASES = [
    (init.xavier_uniform_, {}, math.sqrt(6 / (FAN_IN + FAN_OUT))),
    (init.xavier_uniform_, {"gain": 2.0}, 2 * math.sqrt(6 / (FAN_IN + FAN_OUT))),
    (init.kaiming_uniform_, {}, math.sqrt(3) * math.sqrt(2 / (1 + 0.0 ** 2)) / math.sqrt(FAN_IN)),
    (init.kaiming_uniform_, {"a": math.sqrt(5)}, 1 / math.sqrt(FAN_IN)),
    (init.kaiming_uniform_, {"mode": "fan_out", "nonlinearity": "relu"}, math.sqrt(6 / FAN_OUT)),
    (init.lecun_uniform_, {}, math.sqrt(3 / FAN_IN)),
    (init.efficient_backprop_uniform_, {}, 1 / math.sqrt(FAN_IN)),
    (init.tanh_uniform_, {}, math.sqrt(3) / math.sqrt(FAN_IN)),
    (init.tanh_uniform_, {"mode": "fan_out"}, math.sqrt(3) / math.sqrt(FAN_OUT)),
]


@pytest.mark.parametrize("fn,kw,bound", UNIFORM_CASES)
def test_uniform_inits_range_and_std(fn, kw, bound):
    dc.manual_seed(0)
    w = fn(fresh(FAN_OUT, FAN_IN), **kw).numpy()
    assert np.abs(w).max() <= bound
    assert np.abs(w).max() > 0.999 * bound
    # 240000 draws: the sample std of U(-b, b) has relative sd ≈ 0.0013
    assert abs(w.std() / (bound / math.sqrt(3)) - 1) < 0.006
    assert abs(w.mean()) < 0.006 * bound


NORMAL_CASES = [
    (init.xavier_normal_, {}, math.sqrt(2 / (FAN_IN + FAN_OUT))),
    (init.kaiming_normal_, {"nonlinearity": "relu"}, math.sqrt(2 / FAN_IN)),
    (init.kaiming_normal_, {"mode": "fan_out", "nonlinearity": "tanh"}, (5 / 3) / math.sqrt(FAN_OUT)),
    (init.lecun_normal_, {}, math.sqrt(1 / FAN_IN)),
    (init.normal_, {"mean": 0.0, "std": 0.3}, 0.3),
]


@pytest.mark.parametrize("fn,kw,std", NORMAL_CASES)
def test_normal_inits_std(fn, kw, std):
    dc.manual_seed(1)
    w = fn(fresh(FAN_OUT, FAN_IN), **kw).numpy()
    assert abs(w.std() / std - 1) < 0.006
    assert abs(w.mean()) < 0.006 * std


def test_lecun_normal_is_truncated_at_two_sigma():
    dc.manual_seed(2)
    w = init.lecun_normal_(fresh(FAN_OUT, FAN_IN)).numpy()
    sigma = math.sqrt(1 / FAN_IN) / 0.87962566103423978
    assert np.abs(w).max() <= 2 * sigma
    assert np.abs(w).max() > 1.99 * sigma


def test_conv_fans_use_receptive_field():
    dc.manual_seed(0)
    w = init.xavier_uniform_(fresh(64, 32, 3, 3)).numpy()
    assert np.abs(w).max() <= math.sqrt(6 / (32 * 9 + 64 * 9))
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        init.xavier_uniform_(fresh(5))


def test_constants_and_uniform():
    w = fresh(3, 4)
    assert np.all(init.ones_(w).numpy() == 1)
    assert np.all(init.zeros_(w).numpy() == 0)
    assert np.all(init.constant_(w, 2.5).numpy() == 2.5)
    dc.manual_seed(0)
    u = init.uniform_(fresh(1000, 100), -0.2, 0.7).numpy()
    assert u.min() >= -0.2 and u.max() < 0.7 and abs(u.mean() - 0.25) < 0.002


@pytest.mark.parametrize("shape", [(30, 50), (50, 30), (8, 4, 3, 3)])
def test_orthogonal(shape):
    dc.manual_seed(0)
    w = init.orthogonal_(fresh(*shape), gain=2.0).numpy().reshape(shape[0], -1)
    r, c = w.shape
    gram = w @ w.T if r <= c else w.T @ w
    np.testing.assert_allclose(gram, 4.0 * np.eye(min(r, c)), atol=1e-12)


def test_seeding_repeats_and_init_bumps_version():
    dc.manual_seed(7)
    a = init.kaiming_normal_(fresh(10, 10)).numpy().copy()
    dc.manual_seed(7)
    w = fresh(10, 10)
    v = w._version
    np.testing.assert_array_equal(init.kaiming_normal_(w).numpy(), a)
    assert w._version > v


def test_calculate_gain_matches_torch():
    torch = pytest.importorskip("torch")
    for name in ["linear", "conv2d", "sigmoid", "tanh", "relu", "selu"]:
        assert init.calculate_gain(name) == pytest.approx(torch.nn.init.calculate_gain(name), rel=1e-15)
    for a in (None, 0.2, 0.0, 1):
        assert init.calculate_gain("leaky_relu", a) == pytest.approx(torch.nn.init.calculate_gain("leaky_relu", a))
    with pytest.raises(ValueError, match="unsupported nonlinearity"):
        init.calculate_gain("swish")
