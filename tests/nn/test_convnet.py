"""``Unflatten`` and ``ConvNet``: shapes, parameters, errors, gradients, and the same outputs as PyTorch's layers."""

import numpy as np
import pytest

import descend as dc
from descend import nn
from descend.nn.convnet import ConvNet, max_blocks
from descend.nn.unflatten import Unflatten


def test_unflatten_is_the_inverse_of_flatten():
    x = dc.randn(5, 24, requires_grad=True)
    u = Unflatten(1, (2, 3, 4))
    y = u(x)
    assert y.shape == (5, 2, 3, 4)
    np.testing.assert_array_equal(y.numpy(), x.numpy().reshape(5, 2, 3, 4))
    np.testing.assert_array_equal(nn.Flatten()(y).numpy(), x.numpy())
    (y * dc.tensor(np.arange(24.0, dtype=np.float32).reshape(2, 3, 4))).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.tile(np.arange(24.0), (5, 1)))
    assert Unflatten(-1, [4, 6])(dc.zeros(2, 3, 24)).shape == (2, 3, 4, 6)
    assert "unflattened_size=(2, 3, 4)" in repr(u)


@pytest.mark.parametrize("args, x_shape, error, message", [
    ((1, (2, 5)), (3, 12), ValueError, r"has size 12, but unflattened_size=\(2, 5\) holds 10"),
    ((3, (2, 6)), (3, 12), ValueError, r"dim=3 is out of range for an input of shape \(3, 12\)"),
])
def test_unflatten_errors_at_call(args, x_shape, error, message):
    with pytest.raises(error, match=message):
        Unflatten(*args)(dc.zeros(*x_shape))


def test_unflatten_errors_at_construction():
    with pytest.raises(ValueError, match="expected a tuple of positive integers"):
        Unflatten(1, (2, 0))
    with pytest.raises(ValueError, match="expected a tuple of positive integers"):
        Unflatten(1, 6)
    with pytest.raises(TypeError, match="dim must be an integer"):
        Unflatten(1.0, (2, 3))


def test_max_blocks():
    assert [max_blocks((s, s)) for s in (1, 2, 3, 7, 8, 28, 32)] == [0, 1, 1, 2, 3, 4, 5]
    assert max_blocks((3, 28, 8)) == 3


def test_convnet_layers_shapes_and_parameters():
    dc.manual_seed(0)
    m = ConvNet((8, 8), [16, 32], 10, kernel_size=3, hidden=[64], dropout=0.3)
    kinds = [type(layer).__name__ for layer in m.features]
    assert kinds == ["Unflatten", "Conv2d", "BatchNorm2d", "ReLU", "MaxPool2d",
                     "Conv2d", "BatchNorm2d", "ReLU", "MaxPool2d", "Flatten"]
    assert m.features[1].bias is None and m.features[1].padding == "same"
    assert m.head.sizes == [32 * 2 * 2, 64, 10]
    expected = (16 * 9 + 2 * 16) + (32 * 16 * 9 + 2 * 32) + (128 * 64 + 64) + (64 * 10 + 10)
    assert sum(p.numel() for p in m.parameters()) == expected
    x = dc.randn(5, 64)
    y = m(x)
    assert y.shape == (5, 10)
    m.eval()
    np.testing.assert_array_equal(m(x).numpy(), m.head(m.features(x)).numpy())
    s = dc.summary(m, (1, 64))
    assert s.total_params == expected and s.rows[-1].output_shape == (1, 10)


def test_convnet_color_images_and_odd_sizes():
    m = ConvNet((3, 7, 5), [4, 6], 2, kernel_size=5)
    assert m(dc.randn(2, 3 * 7 * 5)).shape == (2, 2)
    assert m.head.sizes == [6 * 1 * 1, 2]     # 7x5 -> 3x2 -> 1x1
    assert m.features[0].unflattened_size == (3, 7, 5)


def test_convnet_init_applies_to_the_convolutions():
    def halves(w):
        with dc.no_grad():
            w.data[...] = 0.5
    m = ConvNet((8, 8), [4], 3, init=halves)
    assert (m.features[1].weight.numpy() == 0.5).all() and (m.head[0].weight.numpy() == 0.5).all()


def test_convnet_gradients_reach_every_parameter():
    dc.manual_seed(1)
    m = ConvNet((6, 6), [3, 4], 3, hidden=[5])
    x = dc.randn(4, 36)
    dc.nn.functional.cross_entropy(m(x), dc.tensor(np.array([0, 1, 2, 1]))).backward()
    for name, p in m.named_parameters():
        assert p.grad is not None and np.isfinite(p.grad.numpy()).all() and np.any(p.grad.numpy()), name


@pytest.mark.parametrize("kwargs, message", [
    ({"image_shape": (8, 8), "channels": [], "n_out": 2}, r"channels=\[\]; expected a non-empty list"),
    ({"image_shape": (8, 8), "channels": [4, 0], "n_out": 2}, r"expected a non-empty list of positive integers"),
    ({"image_shape": (8, 8), "channels": [4], "n_out": 2, "kernel_size": 4}, r"kernel_size=4; expected an odd"),
    ({"image_shape": (8, 8), "channels": [1, 1, 1, 1], "n_out": 2},
     r"4 blocks halve the 8x8 image to nothing; at most 3"),
    ({"image_shape": (64,), "channels": [4], "n_out": 2}, r"image_shape=\(64,\); expected \(H, W\) or \(C, H, W\)"),
    ({"image_shape": (8, 8), "channels": [4], "n_out": 2, "activation": "relux"}, r"activation='relux'"),
])
def test_convnet_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ConvNet(**kwargs)


def test_convnet_matches_pytorch():
    torch = pytest.importorskip("torch")
    dc.manual_seed(3)
    m = ConvNet((2, 8, 6), [5, 7], 4, kernel_size=3, hidden=[9], batchnorm=True, dropout=0.5)
    x = dc.randn(6, 96)
    m(x)                  # one training step's statistics in the BatchNorm buffers
    m.eval()

    class Torch(torch.nn.Module):
        def __init__(self):
            super().__init__()
            t = torch.nn
            self.features = t.Sequential(
                t.Unflatten(1, (2, 8, 6)), t.Conv2d(2, 5, 3, padding="same", bias=False), t.BatchNorm2d(5), t.ReLU(),
                t.MaxPool2d(2), t.Conv2d(5, 7, 3, padding="same", bias=False), t.BatchNorm2d(7), t.ReLU(),
                t.MaxPool2d(2), t.Flatten())
            self.head = t.Sequential(t.Linear(7 * 2 * 1, 9), t.BatchNorm1d(9), t.ReLU(), t.Dropout(0.5),
                                     t.Linear(9, 4))

        def forward(self, x):
            return self.head(self.features(x))

    ref = Torch().double()
    state = {k: torch.from_numpy(np.array(v.numpy() if hasattr(v, "numpy") else v, dtype=np.float64)
                                 if not k.endswith("num_batches_tracked") else np.array(v.numpy()))
             for k, v in m.state_dict().items()}
    ref.load_state_dict(state)
    ref.eval()
    want = ref(torch.from_numpy(x.numpy().astype(np.float64))).detach().numpy()
    np.testing.assert_allclose(m(x).numpy(), want, rtol=1e-4, atol=1e-5)   # float32 against float64
