"""A small float64 network built from plain tensors (W1, b1, W2, b2; tanh), in descend and torch."""

import numpy as np

import descend as dc


def init_values(seed=0, n_in=4, n_hidden=6, n_out=3, n=16):
    rng = np.random.default_rng(seed)
    return {
        "W1": rng.normal(size=(n_in, n_hidden)) * 0.5, "b1": rng.normal(size=n_hidden) * 0.1,
        "W2": rng.normal(size=(n_hidden, n_out)) * 0.5, "b2": rng.normal(size=n_out) * 0.1,
        "x": rng.normal(size=(n, n_in)), "y": rng.normal(size=(n, n_out)),
    }


NAMES = ("W1", "b1", "W2", "b2")


def dc_params(v):
    return [dc.tensor(v[k].copy(), dtype=dc.float64, requires_grad=True) for k in NAMES]


def torch_params(torch, v):
    return [torch.tensor(v[k].copy(), dtype=torch.float64, requires_grad=True) for k in NAMES]


def dc_loss(params, v, batch=None):
    W1, b1, W2, b2 = params
    x, y = v["x"], v["y"]
    if batch is not None:
        x, y = x[batch], y[batch]
    x = dc.tensor(x, dtype=dc.float64)
    y = dc.tensor(y, dtype=dc.float64)
    h = (x @ W1 + b1).tanh()
    r = h @ W2 + b2 - y
    return (r * r).mean()


def torch_loss(torch, params, v, batch=None):
    W1, b1, W2, b2 = params
    x, y = v["x"], v["y"]
    if batch is not None:
        x, y = x[batch], y[batch]
    x = torch.tensor(x, dtype=torch.float64)
    y = torch.tensor(y, dtype=torch.float64)
    h = torch.tanh(x @ W1 + b1)
    r = h @ W2 + b2 - y
    return (r * r).mean()


def batches(steps, n=16, size=8, seed=1):
    rng = np.random.default_rng(seed)
    return [rng.choice(n, size=size, replace=False) for _ in range(steps)]


def run_dc(make_opt, v, steps, groups=None, closure_loss=False):
    params = dc_params(v)
    opt = make_opt(params if groups is None else groups(params))
    bs = batches(steps)
    for i in range(steps):
        def closure():
            opt.zero_grad()
            loss = dc_loss(params, v, bs[i])
            loss.backward()
            return loss
        if closure_loss:
            opt.step(closure)
        else:
            closure()
            opt.step()
    return [p.data.copy() for p in params], opt


def run_torch(torch, make_opt, v, steps, groups=None):
    params = torch_params(torch, v)
    opt = make_opt(params if groups is None else groups(params))
    bs = batches(steps)
    for i in range(steps):
        opt.zero_grad()
        loss = torch_loss(torch, params, v, bs[i])
        loss.backward()
        opt.step()
    return [p.detach().numpy().copy() for p in params], opt


def assert_close(a_list, b_list, rtol=1e-9, atol=1e-12):
    for a, b in zip(a_list, b_list):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)
