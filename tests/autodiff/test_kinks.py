"""Sub-gradients at kinks and edge points follow PyTorch's conventions.

Each case is a function of one or two tensors evaluated at a point where the derivative is not
defined (or is a limit); the gradient of its sum is compared with the explicit expected numbers
and, where PyTorch is installed, with torch.
"""

import numpy as np
import pytest

import descend as dc

# name: (descend f, torch f, inputs, expected gradients)
KINKS = {
    "relu_at_0": (lambda x: x.relu(), lambda x: x.relu(), ([-1.0, 0.0, 2.0],), ([0.0, 0.0, 1.0],)),
    "abs_at_0": (lambda x: x.abs(), lambda x: x.abs(), ([-1.0, 0.0, 2.0],), ([-1.0, 0.0, 1.0],)),
    "sign_everywhere": (lambda x: x.sign(), lambda x: x.sign(), ([-1.0, 0.0, 2.0],), ([0.0, 0.0, 0.0],)),
    "clamp_at_bounds": (lambda x: x.clamp(0.0, 1.0), lambda x: x.clamp(0.0, 1.0),
                        ([-1.0, 0.0, 0.5, 1.0, 2.0],), ([0.0, 1.0, 1.0, 1.0, 0.0],)),
    "leaky_where_at_0": (lambda x: dc.where(x > 0, x, x * 0.1),
                         lambda x: __import__("torch").nn.functional.leaky_relu(x, 0.1),
                         ([-1.0, 0.0, 2.0],), ([0.1, 0.1, 1.0],)),
    "max_full_ties_share": (lambda x: x.max(), lambda x: x.max(), ([1.0, 3.0, 3.0, 0.0],), ([0.0, 0.5, 0.5, 0.0],)),
    "max_full_three_ties": (lambda x: x.max(), lambda x: x.max(), ([[2.0, 2.0], [2.0, -1.0]],),
                            ([[1 / 3, 1 / 3], [1 / 3, 0.0]],)),
    "min_full_ties_share": (lambda x: x.min(), lambda x: x.min(), ([1.0, 0.0, 3.0, 0.0],), ([0.0, 0.5, 0.0, 0.5],)),
    "max_dim_one_index": (lambda x: x.max(dim=1)[0], lambda x: x.max(dim=1)[0], ([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]],),
                          ([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]],)),
    "min_dim_one_index": (lambda x: x.min(dim=0).values, lambda x: x.min(dim=0).values,
                          ([[1.0, 0.0], [1.0, 0.0]],), ([[1.0, 1.0], [0.0, 0.0]],)),
    "amax_dim_shares": (lambda x: x.amax(dim=1), lambda x: x.amax(dim=1), ([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]],),
                        ([[0.0, 0.5, 0.5], [0.5, 0.5, 0.0]],)),
    "amax_all_shares": (lambda x: x.amax(), lambda x: x.amax(), ([[1.0, 3.0], [3.0, 3.0]],),
                        ([[0.0, 1 / 3], [1 / 3, 1 / 3]],)),
    "amin_dims_shares": (lambda x: x.amin(dim=(0, 1)), lambda x: x.amin(dim=(0, 1)), ([[0.0, 3.0], [0.0, 1.0]],),
                         ([[0.5, 0.0], [0.5, 0.0]],)),
    "maximum_tie_splits": (lambda a, b: dc.maximum(a, b), lambda a, b: __import__("torch").maximum(a, b),
                           ([1.0, 2.0, 5.0], [1.0, 3.0, 4.0]), ([0.5, 0.0, 1.0], [0.5, 1.0, 0.0])),
    "minimum_tie_splits": (lambda a, b: dc.minimum(a, b), lambda a, b: __import__("torch").minimum(a, b),
                           ([1.0, 2.0, 5.0], [1.0, 3.0, 4.0]), ([0.5, 1.0, 0.0], [0.5, 0.0, 1.0])),
    "maximum_tie_broadcast": (lambda a, b: dc.maximum(a, b), lambda a, b: __import__("torch").maximum(a, b),
                              ([[0.0, 1.0], [0.0, -1.0]], [0.0]), ([[0.5, 1.0], [0.5, 0.0]], [2.0])),
    "maximum_leaky_at_0": (lambda x: dc.maximum(x, x * 0.1), lambda x: __import__("torch").maximum(x, x * 0.1),
                           ([0.0, 1.0],), ([0.55, 1.0],)),
    "pow_scalar_half_at_0": (lambda x: x ** 0.5, lambda x: x ** 0.5, ([0.0, 4.0],), ([np.inf, 0.25],)),
    "pow_scalar_zero_exponent": (lambda x: x ** 0, lambda x: x ** 0, ([0.0, 4.0],), ([0.0, 0.0],)),
    "pow_scalar_three_halves_at_0": (lambda x: x ** 1.5, lambda x: x ** 1.5, ([0.0, 4.0],), ([0.0, 3.0],)),
    "pow_tensor_base_0": (lambda a, b: a ** b, lambda a, b: a ** b, ([0.0, 0.0, 2.0], [2.0, 0.0, 3.0]),
                          ([0.0, 0.0, 12.0], [0.0, 0.0, 8 * np.log(2.0)])),
    "scalar_0_pow_tensor": (lambda b: 0.0 ** b, lambda b: 0.0 ** b, ([0.0, 2.0],), ([0.0, 0.0],)),
    "std_of_constant": (lambda x: x.std(), lambda x: x.std(), ([2.0, 2.0, 2.0],), ([0.0, 0.0, 0.0],)),
    "std_dim_constant_row": (lambda x: x.std(dim=1), lambda x: x.std(dim=1), ([[2.0, 2.0], [1.0, 3.0]],),
                             ([[0.0, 0.0], [-0.5 ** 0.5, 0.5 ** 0.5]],)),
}


@pytest.mark.parametrize("name", sorted(KINKS))
def test_kink_gradient_explicit(name):
    f, _, inputs, expected = KINKS[name]
    xs = [dc.tensor(v, dtype="float64", requires_grad=True) for v in inputs]
    with np.errstate(divide="ignore", invalid="ignore"):
        f(*xs).sum().backward()
    for x, e in zip(xs, expected):
        np.testing.assert_allclose(x.grad.numpy(), np.array(e), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name", sorted(KINKS))
def test_kink_gradient_matches_torch(name):
    torch = pytest.importorskip("torch")
    f, tf, inputs, _ = KINKS[name]
    xs = [dc.tensor(v, dtype="float64", requires_grad=True) for v in inputs]
    ts = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in inputs]
    with np.errstate(divide="ignore", invalid="ignore"):
        f(*xs).sum().backward()
    tf(*ts).sum().backward()
    for x, t in zip(xs, ts):
        np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-12, atol=1e-15)


def test_max_dim_returns_first_index_on_ties_like_torch():
    x = dc.tensor([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]])
    values, indices = x.max(dim=1)
    np.testing.assert_array_equal(values.numpy(), [3.0, 2.0])
    np.testing.assert_array_equal(indices.numpy(), [1, 0])
    assert indices.dtype == np.int64
    assert x.argmax(dim=1).numpy().tolist() == [1, 0]
    assert x.min(dim=1).indices.numpy().tolist() == [0, 2]


def test_kink_forward_mode_uses_the_same_convention():
    """jvp at the kinks: relu'(0) = 0, |x|'(0) = 0, tied max shares."""
    x = dc.tensor([0.0, 0.0], dtype="float64")
    v = dc.tensor([1.0, 1.0], dtype="float64")
    assert dc.jvp(lambda t: t.relu(), (x,), (v,))[1].numpy().tolist() == [0.0, 0.0]
    assert dc.jvp(lambda t: t.abs(), (x,), (v,))[1].numpy().tolist() == [0.0, 0.0]
    y = dc.tensor([3.0, 3.0, 1.0], dtype="float64")
    w = dc.tensor([1.0, 0.0, 5.0], dtype="float64")
    assert dc.jvp(lambda t: t.max(), (y,), (w,))[1].item() == 0.5
    assert dc.jvp(lambda a: dc.maximum(a, dc.tensor([3.0, 0.0, 0.0], dtype="float64")), (y,), (w,))[
        1
    ].numpy().tolist() == [0.5, 0.0, 5.0]
