"""nn.Module: registration, traversal, modes, gradients, state_dict round trips and errors, hooks, repr."""

from collections import OrderedDict

import numpy as np
import pytest

import descend as dc
import descend.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(3, 4)
        self.bn = nn.BatchNorm1d(4)
        self.fc2 = nn.Linear(4, 2)
        self.scale = nn.Parameter(dc.ones(1))

    def forward(self, x):
        return self.fc2(self.bn(self.fc1(x)).relu()) * self.scale


def test_parameter_is_tensor_that_requires_grad():
    p = nn.Parameter(dc.zeros(2, 3))
    assert isinstance(p, dc.Tensor) and p.requires_grad and p.is_leaf
    assert p.shape == (2, 3) and p.dtype == np.float32
    q = nn.Parameter(np.zeros(2, dtype=np.float64))
    assert q.dtype == np.float64
    assert type(p * 2) is dc.Tensor
    assert repr(p).startswith("Parameter containing:")


def test_registration_and_traversal_order():
    net = Net()
    names = [n for n, _ in net.named_parameters()]
    assert names == ["scale", "fc1.weight", "fc1.bias", "bn.weight", "bn.bias", "fc2.weight", "fc2.bias"] or \
        names == ["fc1.weight", "fc1.bias", "bn.weight", "bn.bias", "fc2.weight", "fc2.bias", "scale"]
    assert len(list(net.parameters())) == 7
    assert net.num_parameters() == 3 * 4 + 4 + 4 + 4 + 4 * 2 + 2 + 1
    assert [n for n, _ in net.named_buffers()] == ["bn.running_mean", "bn.running_var", "bn.num_batches_tracked"]
    assert [n for n, _ in net.named_children()] == ["fc1", "bn", "fc2"]
    assert [n for n, _ in net.named_modules()] == ["", "fc1", "bn", "fc2"]
    assert net.get_submodule("bn") is net.bn


def test_shared_parameter_counted_once():
    lin = nn.Linear(2, 2)
    seq = nn.Sequential(lin, nn.ReLU(), lin)
    assert len(list(seq.parameters())) == 2


def test_train_eval_propagates():
    net = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5), nn.Sequential(nn.BatchNorm1d(2)))
    assert all(m.training for m in net.modules())
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())


def test_zero_grad_and_apply():
    net = Net()
    x = dc.randn(5, 3)
    net(x).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.numpy().any() for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    seen = []
    net.apply(lambda m: seen.append(type(m).__name__))
    assert seen == ["Linear", "BatchNorm1d", "Linear", "Net"]

    def init(m):
        if isinstance(m, nn.Linear):
            nn.init.constant_(m.weight, 0.5)

    net.apply(init)
    assert np.all(net.fc1.weight.numpy() == 0.5) and np.all(net.fc2.weight.numpy() == 0.5)


def test_state_dict_round_trip_includes_buffers():
    dc.manual_seed(0)
    a, b = Net(), Net()
    for _ in range(3):
        a(dc.randn(8, 3))
    sd = a.state_dict()
    assert list(sd) == ["fc1.weight", "fc1.bias", "bn.weight", "bn.bias", "bn.running_mean", "bn.running_var",
                        "bn.num_batches_tracked", "fc2.weight", "fc2.bias", "scale"] or "scale" in sd
    assert int(sd["bn.num_batches_tracked"].item()) == 3
    b.load_state_dict({k: v.numpy().copy() for k, v in sd.items()})
    for k, v in b.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), sd[k].numpy())
    a.eval(), b.eval()
    x = dc.randn(4, 3)
    np.testing.assert_array_equal(a(x).numpy(), b(x).numpy())
    # the loaded model keeps its own arrays (a copy, not aliasing)
    b.fc1.weight.data[...] = 0
    assert a.fc1.weight.numpy().any()


def test_load_state_dict_reports_everything_and_loads_nothing():
    net = Net()
    before = {k: v.numpy().copy() for k, v in net.state_dict().items()}
    sd = {k: v.numpy().copy() + 1 for k, v in net.state_dict().items()}
    del sd["fc1.bias"]
    sd["fc2.weight"] = np.zeros((3, 4), dtype=np.float32)
    sd["extra.weight"] = np.zeros(2)
    with pytest.raises(ValueError) as e:
        net.load_state_dict(sd)
    msg = str(e.value)
    assert "missing keys: fc1.bias" in msg
    assert "unexpected keys: extra.weight" in msg
    assert "fc2.weight: shape (3, 4) in the state dict, (2, 4) in the model" in msg
    for k, v in net.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), before[k])
    # strict=False tolerates missing/unexpected keys but never a shape mismatch
    del sd["fc2.weight"]
    missing, unexpected = net.load_state_dict(sd, strict=False)
    assert missing == ["fc1.bias", "fc2.weight"] and unexpected == ["extra.weight"]
    np.testing.assert_allclose(net.fc1.weight.numpy(), before["fc1.weight"] + 1)


def test_forward_hooks_and_pre_hooks():
    lin = nn.Linear(2, 2)
    calls = []
    h1 = lin.register_forward_pre_hook(lambda m, args: (args[0] * 2,))
    h2 = lin.register_forward_hook(lambda m, args, out: calls.append((args[0].numpy().copy(), out.numpy().copy())))
    x = dc.ones(1, 2)
    y = lin(x)
    np.testing.assert_allclose(calls[0][0], 2 * np.ones((1, 2)))
    np.testing.assert_allclose(y.numpy(), calls[0][1])
    h1.remove(), h2.remove()
    lin(x)
    assert len(calls) == 1


def test_full_backward_hook_gets_output_and_input_grads():
    dc.manual_seed(1)
    lin = nn.Linear(3, 2)
    got = []
    lin.register_full_backward_hook(lambda m, gin, gout: got.append((gin, gout)))
    x = dc.randn(4, 3, requires_grad=True)
    y = lin(x)
    (y * y).sum().backward()
    assert len(got) == 1
    gin, gout = got[0]
    np.testing.assert_allclose(gout[0].numpy(), 2 * y.numpy(), rtol=1e-6)
    np.testing.assert_allclose(gin[0].numpy(), x.grad.numpy(), rtol=1e-6)
    # no input requires grad: the hook still sees the output gradient, grad_input is None
    got.clear()
    y = lin(dc.randn(4, 3))
    y.sum().backward()
    assert len(got) == 1 and got[0][0] == (None,)
    np.testing.assert_allclose(got[0][1][0].numpy(), np.ones((4, 2)))


def test_repr_like_torch():
    net = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Sequential(nn.Dropout(0.1)))
    assert repr(net) == ("Sequential(\n  (0): Linear(in_features=2, out_features=3, bias=True)\n  (1): ReLU()\n"
                         "  (2): Sequential(\n    (0): Dropout(p=0.1)\n  )\n)")


def test_containers():
    ml = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    assert len(ml) == 3 and len(list(ml.parameters())) == 6
    md = nn.ModuleDict({"a": nn.Linear(2, 3), "b": nn.ReLU()})
    assert list(md.keys()) == ["a", "b"] and "a" in md
    assert [n for n, _ in md.named_parameters()] == ["a.weight", "a.bias"]
    seq = nn.Sequential(OrderedDict([("first", nn.Linear(2, 2)), ("act", nn.Tanh())]))
    assert isinstance(seq[1], nn.Tanh) and isinstance(seq.first, nn.Linear)
    assert len(seq[:1]) == 1
    with pytest.raises(TypeError):
        nn.Sequential(nn.Linear(2, 2), lambda x: x)


def test_assigning_wrong_type_to_parameter_raises():
    lin = nn.Linear(2, 2)
    with pytest.raises(TypeError, match="weight"):
        lin.weight = dc.zeros(2, 2)


def test_module_to_double_keeps_parameter_objects():
    lin = nn.Linear(2, 2)
    w = lin.weight
    lin.double()
    assert lin.weight is w and w.dtype == np.float64
    out = lin(dc.ones(1, 2, dtype=dc.float64))
    assert out.dtype == np.float64


def test_nn_imports_only_autodiff():
    import pathlib
    import re

    import descend.nn as nn_pkg

    root = pathlib.Path(nn_pkg.__file__).parent
    for path in root.rglob("*.py"):
        for line in path.read_text().splitlines():
            m = re.match(r"\s*(?:from|import)\s+(descend\.\w+|\.\.+\w*)", line)
            if m:
                target = m.group(1)
                assert target in ("descend.autodiff", "descend.nn") or target.startswith(".."), (path, line)
                assert not re.search(r"descend\.(optim|data|train)|\.\.(optim|data|train)", line), (path, line)


def test_deepcopy_keeps_parameters_independent():
    import copy

    m = nn.MLP([3, 4, 2], batchnorm=True)
    m2 = copy.deepcopy(m)
    assert type(m2[0].weight) is nn.Parameter and m2[0].weight.requires_grad
    assert not np.shares_memory(m2[0].weight.numpy(), m[0].weight.numpy())
    m2(dc.randn(4, 3)).sum().backward()
    assert m2[0].weight.grad is not None and m[0].weight.grad is None


def test_missing_super_init_is_explained():
    class Bad(nn.Module):
        def __init__(self):
            self.k = 3

        def forward(self, x):
            return x

    with pytest.raises(AttributeError, match="super\\(\\).__init__"):
        Bad()(dc.zeros(1))

    class Bad2(nn.Module):
        def __init__(self):
            self.lin = nn.Linear(2, 2)

    with pytest.raises(AttributeError, match="super\\(\\).__init__"):
        Bad2()


def test_parameters_order_equals_named_parameters_order():
    net = nn.Sequential(Net(), nn.ModuleList([nn.Linear(2, 2), nn.Sequential(nn.Linear(2, 3))]), nn.Linear(3, 1))
    assert [id(p) for p in net.parameters()] == [id(p) for _, p in net.named_parameters()]
    assert len(list(net.parameters(recurse=False))) == 0


def test_nn_and_data_use_only_the_public_autodiff_surface():
    """No name that starts with _ inside autodiff is touched from nn or data (issue 11)."""
    import pathlib
    import re

    import descend

    root = pathlib.Path(descend.__file__).parent
    for package in ("nn", "data"):
        for path in (root / package).rglob("*.py"):
            text = path.read_text()
            assert not re.search(r"\._make\(|\._fw\b|\._vc\b|\._ctx\b|\._data\b", text), path
            for target in re.findall(r"from\s+(?:descend|\.\.)\.?autodiff\.(\w+)", text):
                assert target in ("extend", "dtype", "random"), (path, target)


@pytest.mark.parametrize("layer", [nn.ReLU, nn.LeakyReLU, nn.ELU, nn.SiLU, nn.Dropout])
def test_activation_layers_take_no_inplace_argument(layer):
    """descend has no in-place activations; an accepted-and-ignored inplace=True would mislead."""
    with pytest.raises(TypeError, match="inplace"):
        layer(inplace=True)


@pytest.mark.parametrize("bad", [2.5, (2, 2.0), True, "3"])
def test_window_sizes_must_be_ints(bad):
    with pytest.raises(TypeError, match="expected an int or a pair of ints"):
        nn.Conv2d(1, 1, bad)
    with pytest.raises(TypeError, match="expected an int or a pair of ints"):
        nn.MaxPool2d(bad)(dc.ones(1, 1, 4, 4))
