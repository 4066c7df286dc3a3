"""Search spaces: the distributions, their TOML form, and the checks against the run config."""

import math

import numpy as np
import pytest
from searchutil import tiny_config

from descend import search
from descend.search import space as S
from descend.search.methods import trial_params, trial_seed
from descend.train.config import ConfigError

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib


@pytest.mark.parametrize("make, message", [
    (lambda: search.choice([]), "at least one value"),
    (lambda: search.grid([]), "at least one value"),
    (lambda: search.loguniform(0, 1), "> 0"),
    (lambda: search.loguniform(-1e-3, 1), "> 0"),
    (lambda: search.uniform(1, 1), "a < b"),
    (lambda: search.uniform(2, 1), "a < b"),
    (lambda: search.randint(5, 5), "a < b"),
    (lambda: search.loguniform(1e-1, 1e-4), "a < b"),
])
def test_bad_distributions_raise_value_errors(make, message):
    with pytest.raises(ValueError, match=message):
        make()


@pytest.mark.parametrize("make", [lambda: search.uniform("a", 1), lambda: search.uniform(0, float("nan")),
                                  lambda: search.randint(0, 2.5), lambda: search.choice(3),
                                  lambda: search.choice([object()]), lambda: search.grid("abc")])
def test_bad_types_raise_type_errors(make):
    with pytest.raises(TypeError):
        make()


def draws(dist, n=3000):
    return [dist.sample(np.random.default_rng(np.random.SeedSequence(7, spawn_key=(i,)))) for i in range(n)]


def test_loguniform_gives_every_decade_the_same_share():
    xs = np.array(draws(search.loguniform(1e-4, 1e-1)))
    assert xs.min() >= 1e-4 and xs.max() < 1e-1
    shares = np.histogram(np.log10(xs), bins=[-4, -3, -2, -1])[0] / len(xs)
    np.testing.assert_allclose(shares, 1 / 3, atol=0.03)      # 3 sigma of a binomial share of 3000 draws
    assert abs(np.mean(np.log10(xs)) + 2.5) < 0.05            # E[log10 x] = midpoint of [-4, -1]


def test_uniform_and_randint_ranges():
    xs = np.array(draws(search.uniform(-1.0, 3.0)))
    assert xs.min() >= -1 and xs.max() < 3 and abs(xs.mean() - 1.0) < 0.07   # sd of the mean = 4/sqrt(12*3000)
    ks = draws(search.randint(2, 6))
    assert set(ks) == {2, 3, 4, 5} and all(type(k) is int for k in ks)


def test_choice_draws_each_value_including_lists():
    vals = draws(search.choice([[64], [256, 128], "x"]), 600)
    assert {str(v) for v in vals} == {"[64]", "[256, 128]", "x"}
    counts = [sum(str(v) == s for v in vals) for s in ("[64]", "[256, 128]", "x")]
    assert min(counts) > 150


def test_toml_form_quoted_and_nested_paths():
    text = """
    "optimizer.lr" = { loguniform = [1e-4, 1e-1] }
    model.hidden = { choice = [[64], [256, 128]] }
    [training]
    epochs = { randint = [2, 5] }
    """
    space = S.from_toml(tomllib.loads(text))
    assert space == {"optimizer.lr": search.loguniform(1e-4, 1e-1), "model.hidden": search.choice([[64], [256, 128]]),
                     "training.epochs": search.randint(2, 5)}
    assert S.from_spec(S.to_toml(space)) == space


@pytest.mark.parametrize("text, message", [
    ('"optimizer.lr" = { loguniform = [0, 1] }', "bounds must be > 0"),
    ('"optimizer.lr" = { uniform = [0.1, 0.01] }', "expected a < b"),
    ('"model.hidden" = { choice = [] }', "at least one value"),
    ('"model.hidden" = { grid = [] }', "at least one value"),
    ('"optimizer.lr" = { loguniform = [1e-3] }', "two bounds"),
    ('"optimizer.lr" = { log_uniform = [1e-3, 1] }', "did you mean 'loguniform'"),
    ('"optimizer.lr" = [0.1, 0.01]', "expected a distribution"),
    ('"optimizer.lr" = { grid = [0.1], choice = [0.2] }', "give one distribution"),
])
def test_toml_errors_name_the_path(text, message):
    with pytest.raises(ConfigError, match=message) as e:
        S.from_toml(tomllib.loads(text))
    assert "optimizer.lr" in str(e.value) or "model.hidden" in str(e.value)


@pytest.mark.parametrize("space, message", [
    ({"optimizer.lrr": search.grid([0.1])}, "did you mean 'optimizer.lr'"),
    ({"modle.hidden": search.grid([[8]])}, "unknown config path 'modle.hidden'; did you mean 'model.hidden'"),
    ({"training.epoch": search.grid([2])}, "did you mean 'training.epochs'"),
    ({"model": search.grid([[8]])}, "is a table"),
    ({"training.seed": search.randint(0, 9)}, "set by the study"),
    ({"data.seed": search.randint(0, 9)}, "set by the study"),
    ({"model.dropout": search.uniform(0.0, 1.5)}, "model.dropout"),
    ({"data.batch_size": search.uniform(16, 64)}, "expected an integer"),
    ({"model.hidden": search.choice([[16], [0]])}, "positive integers"),
    ({"model.activation": search.choice(["relu", "tanhh"])}, "did you mean 'tanh'"),
    ({}, "search.space is empty"),
])
def test_space_checked_against_the_config(space, message):
    with pytest.raises(ConfigError, match=message):
        S.check(space, tiny_config())


def test_space_accepts_optimizer_arguments_of_the_chosen_optimizer():
    S.check({"optimizer.momentum": search.uniform(0.0, 0.99)}, tiny_config('optimizer.name="SGD"'))
    with pytest.raises(ConfigError, match="momentum"):
        S.check({"optimizer.momentum": search.uniform(0.0, 0.99)}, tiny_config())   # Adam has no momentum


def test_python_space_values_must_be_distributions():
    with pytest.raises(TypeError, match="expected search.grid"):
        S.check({"optimizer.lr": [0.1, 0.01]}, tiny_config())


def test_trial_params_depend_on_the_seed_and_index_only():
    space = {"optimizer.lr": search.loguniform(1e-4, 1e-1), "model.hidden": search.choice([[8], [16]])}
    forward = [trial_params(space, "random", 3, i) for i in range(6)]
    backward = [trial_params(space, "random", 3, i) for i in reversed(range(6))][::-1]
    assert forward == backward
    assert len({p["optimizer.lr"] for p in forward}) == 6
    assert trial_params(space, "random", 4, 0) != forward[0]
    seeds = [trial_seed(3, i) for i in range(6)]
    assert len(set(seeds)) == 6 and all(0 <= s < 2 ** 32 for s in seeds)
    assert seeds == [trial_seed(3, i) for i in range(6)]


def test_grid_walks_the_product_first_axis_slowest_and_draws_the_rest():
    space = {"a": search.grid([1, 2]), "b": search.grid(["x", "y", "z"]), "c": search.uniform(0.0, 1.0)}
    points = [trial_params(space, "grid", 0, i) for i in range(6)]
    assert [(p["a"], p["b"]) for p in points] == [(1, "x"), (1, "y"), (1, "z"), (2, "x"), (2, "y"), (2, "z")]
    assert all(0 <= p["c"] < 1 for p in points) and len({p["c"] for p in points}) == 6


def test_random_search_draws_grid_axes_uniformly():
    space = {"a": search.grid([1, 2, 3])}
    values = [trial_params(space, "random", 0, i)["a"] for i in range(300)]
    assert all(abs(values.count(v) - 100) < 30 for v in (1, 2, 3))


def test_repr_is_the_constructor():
    assert repr(search.loguniform(1e-4, 0.1)) == "loguniform(0.0001, 0.1)"
    assert repr(search.randint(1, 4)) == "randint(1, 4)"
    assert repr(search.grid([1, 2])) == "grid([1, 2])"
    assert math.isclose(search.uniform(0, 1).a, 0.0)
