"""bias_variance's exact decomposition, best_of_inits and nn.Ensemble."""

import numpy as np
import pytest

import descend as dc
import descend.nn.functional as F
from descend import analysis, nn


def _datasets(count, n=20, noise=0.3, seed=0):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        x = rng.uniform(-1, 1, n)
        out.append((x, np.sin(3 * x) + noise * rng.normal(size=n)))
    return out


def _poly_fit(degree):
    def fit(D):
        coef = np.polyfit(D[0], D[1], degree)
        return lambda x: np.polyval(coef, x)
    return fit


def test_decomposition_is_exact_and_shows_the_trade_off():
    x = np.linspace(-0.9, 0.9, 50)
    y = np.sin(3 * x)
    data = _datasets(30)
    rigid = analysis.bias_variance(_poly_fit(1), data, x, y)
    flexible = analysis.bias_variance(_poly_fit(5), data, x, y)
    for r in (rigid, flexible):
        assert r["sum"] == pytest.approx(r["expected_error"], rel=1e-12)
        assert r["predictions"].shape == (30, 50) and r["mean_prediction"].shape == (50,)
    assert rigid["bias_squared"] > 10 * flexible["bias_squared"]  # 0.13 against 0.005
    assert flexible["variance"] > 2 * rigid["variance"]  # 0.084 against 0.029


def test_with_descend_models_and_bad_input():
    rng = np.random.default_rng(1)
    x = dc.tensor(rng.normal(size=(10, 2)))

    def fit(D):
        dc.manual_seed(D)
        model = nn.Linear(2, 1)
        return model

    r = analysis.bias_variance(fit, [0, 1, 2], x, np.zeros((10, 1)))
    assert r["predictions"].shape == (3, 10, 1)
    assert r["sum"] == pytest.approx(r["expected_error"], rel=1e-6)
    with pytest.raises(ValueError, match=r"predicts shape \(10, 1\) at x, but y_true has shape \(10,\)"):
        analysis.bias_variance(fit, [0, 1], x, np.zeros(10))
    with pytest.raises(ValueError, match="at least 2 data sets"):
        analysis.bias_variance(fit, [0], x, np.zeros((10, 1)))


def test_best_of_inits_keeps_the_lowest_validation_loss_and_restores_the_generator():
    rng = np.random.default_rng(2)
    xv = dc.tensor(rng.normal(size=(30, 3)))
    yv = dc.tensor(rng.normal(size=(30, 1)))

    def val_loss(model):
        with dc.no_grad():
            return F.mse_loss(model(xv), yv)

    dc.manual_seed(123)
    expected_next = dc.randn(3).numpy()
    dc.manual_seed(123)
    best = analysis.best_of_inits(lambda: nn.Linear(3, 1), val_loss, seeds=[0, 1, 2, 3])
    np.testing.assert_array_equal(dc.randn(3).numpy(), expected_next)  # the caller's random stream is untouched
    assert best.losses.shape == (4,)
    assert best.seed == [0, 1, 2, 3][int(np.argmin(best.losses))]
    dc.manual_seed(best.seed)
    again = nn.Linear(3, 1)
    np.testing.assert_array_equal(again.weight.numpy(), best.model.weight.numpy())
    with pytest.raises(ValueError, match="NaN validation loss"):
        analysis.best_of_inits(lambda: nn.Linear(3, 1), lambda m: float("nan"), seeds=[0, 1])
    with pytest.raises(TypeError, match="must return the validation loss"):
        analysis.best_of_inits(lambda: nn.Linear(3, 1), lambda m: "low", seeds=[0])


def test_ensemble_averages_outputs_or_probabilities():
    dc.manual_seed(0)
    members = [nn.Sequential(nn.Linear(4, 5), nn.Tanh(), nn.Linear(5, 3)) for _ in range(3)]
    x = dc.randn(6, 4)
    outs = [m(x).numpy() for m in members]
    ens = nn.Ensemble(members)
    np.testing.assert_allclose(ens(x).numpy(), np.mean(outs, axis=0), rtol=1e-6)
    probs = nn.Ensemble(members, average="probabilities")(x).numpy()
    soft = [np.exp(o) / np.exp(o).sum(axis=1, keepdims=True) for o in outs]
    np.testing.assert_allclose(probs, np.mean(soft, axis=0), rtol=1e-5)
    np.testing.assert_allclose(probs.sum(axis=1), 1, rtol=1e-6)
    assert len(list(ens.parameters())) == 12
    assert "members.2.2.bias" in ens.state_dict()
    ens.eval()
    assert not any(m.training for m in members)
    loss = F.cross_entropy(ens(x), dc.tensor([0, 1, 2, 0, 1, 2]))
    loss.backward()
    assert all(p.grad is not None for p in ens.parameters())
    with pytest.raises(ValueError, match="models is empty"):
        nn.Ensemble([])
    with pytest.raises(ValueError, match="average='votes'"):
        nn.Ensemble(members, average="votes")
