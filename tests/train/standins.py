"""Tiny duck-typed stand-ins for a model and an optimizer (plain descend tensors), for Trainer tests."""

import numpy as np

import descend as dc
from descend.autodiff.extend import inplace


class TinyMLP:
    """x (B, d) -> tanh(x W1 + b1) W2 + b2 (B, c)."""

    def __init__(self, d=2, h=8, c=2, seed=0):
        rng = np.random.default_rng(seed)
        self._p = {"w1": dc.tensor(rng.normal(0, 1 / np.sqrt(d), (d, h)), requires_grad=True),
                   "b1": dc.zeros(h, requires_grad=True),
                   "w2": dc.tensor(rng.normal(0, 1 / np.sqrt(h), (h, c)), requires_grad=True),
                   "b2": dc.zeros(c, requires_grad=True)}
        self.training = True

    def __call__(self, x):
        p = self._p
        return (x @ p["w1"] + p["b1"]).tanh() @ p["w2"] + p["b2"]

    def parameters(self):
        return list(self._p.values())

    def named_parameters(self):
        return list(self._p.items())

    def state_dict(self):
        return dict(self._p)

    def load_state_dict(self, sd):
        with inplace(*(self._p[k] for k in sd)) as arrays:
            for a, v in zip(arrays, sd.values()):
                a[...] = v.data

    def train(self, mode=True):
        self.training = mode
        return self

    def eval(self):
        return self.train(False)


class TinySGD:
    """θ ← θ - lr g, with momentum buffers to exercise optimizer state."""

    def __init__(self, params, lr=0.1, momentum=0.0):
        self.params = list(params)
        self.param_groups = [{"lr": lr, "momentum": momentum}]
        self.state = {}

    def zero_grad(self):
        for p in self.params:
            p.grad = None

    def step(self, closure=None):
        loss = closure() if closure is not None else None
        g = self.param_groups[0]
        for i, p in enumerate(self.params):
            d = p.grad.data
            if g["momentum"]:
                b = self.state.get(i)
                b = d.copy() if b is None else g["momentum"] * b + d
                self.state[i] = b
                d = b
            with inplace(p) as (w,):
                w -= g["lr"] * d
        return loss

    def state_dict(self):
        return {"state": dict(self.state), "param_groups": [dict(self.param_groups[0])]}

    def load_state_dict(self, sd):
        self.state = {int(k): np.array(getattr(v, "data", v)) for k, v in sd["state"].items()}
        self.param_groups[0].update(sd["param_groups"][0])


def cross_entropy(y, t):
    """Mean of -log softmax(y)_t."""
    return -(y.log_softmax(1)[np.arange(len(t.data)), t.data]).mean()
