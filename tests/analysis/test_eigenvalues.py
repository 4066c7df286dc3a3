"""hessian_eigenvalues against numpy.linalg.eigvalsh of the full dc.hessian (small float64 nets)."""

import numpy as np
import pytest

import descend as dc
from descend import analysis

from .nets import SmallNet


def _reference(ev, k, which):
    if which == "largest":
        return ev[::-1][:k]
    if which == "smallest":
        return ev[:k]
    return ev[np.argsort(-np.abs(ev), kind="stable")][:k]


@pytest.mark.parametrize("which", ["largest", "smallest", "magnitude"])
@pytest.mark.parametrize("k", [1, 4])
@pytest.mark.parametrize("loss", ["mse", "cross_entropy"])
@pytest.mark.parametrize("hvp", ["forward-over-reverse", "double-backward"])
def test_equals_eigvalsh_of_full_hessian(which, k, loss, hvp):
    net = SmallNet(widths=(5, 10, 8, 3), batch=24, loss=loss, seed=1)
    assert net.n <= 300
    ev = np.linalg.eigvalsh(net.hessian())
    got = analysis.hessian_eigenvalues(net.loss_fn, net.params, k=k, which=which, hvp=hvp)
    assert got.shape == (k,) and got.dtype == np.float64
    ref = _reference(ev, k, which)
    # relative to the spectrum's scale ‖H‖ (near-zero eigenvalues have no relative accuracy of their own)
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-6 * np.abs(ev).max())
    np.testing.assert_allclose(got[0], ref[0], rtol=1e-6)


def test_eigenvectors_satisfy_h_y_equals_lambda_y():
    net = SmallNet(seed=2)
    H = net.hessian()
    vals, vecs = analysis.hessian_eigenvalues(net.loss_fn, net.params, k=3, which="magnitude", return_vectors=True)
    assert len(vecs) == 3
    for lam, vec in zip(vals, vecs):
        assert [a.shape for a in vec] == [p.shape for p in net.params]
        y = np.concatenate([a.ravel() for a in vec])
        assert abs(np.linalg.norm(y) - 1) < 1e-12
        np.testing.assert_allclose(H @ y, lam * y, atol=1e-7 * np.abs(vals).max())


def test_deterministic_for_a_seed_and_parameters_untouched():
    net = SmallNet(seed=3)
    before = net.snapshot()
    a = analysis.hessian_eigenvalues(net.loss_fn, net.params, k=2, seed=5)
    b = analysis.hessian_eigenvalues(net.loss_fn, net.params, k=2, seed=5)
    np.testing.assert_array_equal(a, b)
    for p, s in zip(net.params, before):
        np.testing.assert_array_equal(p.numpy(), s)
        assert p.grad is None and p.tangent is None


def test_all_eigenvalues_when_k_is_n_including_repeated_ones():
    # H = diag(2, 2, 2, 1, 0): repeated eigenvalues are found by restarting at each breakdown
    w = dc.tensor(np.ones(5), dtype=dc.float64, requires_grad=True)
    d = dc.tensor([2.0, 2.0, 2.0, 1.0, 0.0], dtype=dc.float64)
    vals = analysis.hessian_eigenvalues(lambda: 0.5 * (d * w * w).sum(), [w], k=5)
    np.testing.assert_allclose(vals, [2, 2, 2, 1, 0], atol=1e-12)


def test_float32_model_parameters():
    from descend import nn
    import descend.nn.functional as F
    dc.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 2))
    x, y = dc.randn(10, 4), dc.randn(10, 2)
    vals = analysis.hessian_eigenvalues(lambda: F.mse_loss(model(x), y), model.parameters(), k=2)
    model.double()
    x64, y64 = dc.tensor(x.numpy(), dtype=dc.float64), dc.tensor(y.numpy(), dtype=dc.float64)
    ref = analysis.hessian_eigenvalues(lambda: F.mse_loss(model(x64), y64), model.parameters(), k=2)
    np.testing.assert_allclose(vals, ref, rtol=1e-4)


def test_both_product_methods_give_the_same_estimates():
    net = SmallNet(seed=4)
    for routine in (lambda h: analysis.hessian_trace(net.loss_fn, net.params, samples=5, hvp=h),
                    lambda h: analysis.spectral_density(net.loss_fn, net.params, steps=5, runs=2, hvp=h)[1],
                    lambda h: analysis.critical_point(net.loss_fn, net.params, hvp=h)["min_eigenvalue"],
                    lambda h: analysis.sharpness(net.loss_fn, net.params, hvp=h)["top_eigenvalue"]):
        np.testing.assert_allclose(routine("double-backward"), routine("forward-over-reverse"), rtol=1e-10)
    before = net.snapshot()
    for p, s in zip(net.params, before):
        np.testing.assert_array_equal(p.numpy(), s)
        assert p.grad is None


def test_against_torch_full_hessian():
    torch = pytest.importorskip("torch")
    net = SmallNet(widths=(4, 7, 3), batch=20, loss="cross_entropy", seed=7)
    theta = torch.tensor(net.theta(), dtype=torch.float64)
    x = torch.tensor(net.x.numpy())
    y = torch.tensor(net.y.numpy())

    def f(th):
        parts, off = [], 0
        for s in net.shapes:
            k = int(np.prod(s))
            parts.append(th[off:off + k].reshape(s))
            off += k
        h = torch.tanh(x @ parts[0].T + parts[1])
        return torch.nn.functional.cross_entropy(h @ parts[2].T + parts[3], y)

    ev = torch.linalg.eigvalsh(torch.autograd.functional.hessian(f, theta)).numpy()
    for which, ref in (("largest", ev[::-1][:3]), ("smallest", ev[:3])):
        got = analysis.hessian_eigenvalues(net.loss_fn, net.params, k=3, which=which)
        np.testing.assert_allclose(got, ref, rtol=0, atol=1e-9 * np.abs(ev).max())
