"""A tour of descend's automatic differentiation, on the lecture notes' worked example.

f(x1, x2) = ln x1 + x1·x2 − sin x2 at (2, 5): f = 11.652, ∂f/∂x1 = 1/x1 + x2 = 5.5,
∂f/∂x2 = x1 − cos x2 = 2 − cos 5. Reverse mode gets both partials in one backward pass; forward
mode (dual numbers) gets one directional derivative per pass.
"""

import numpy as np

import descend as dc


def f(x1, x2):
    return x1.log() + x1 * x2 - x2.sin()


def main():
    dc.set_default_dtype(dc.float64)
    x1 = dc.tensor(2.0, requires_grad=True)
    x2 = dc.tensor(5.0, requires_grad=True)

    y = f(x1, x2)
    y.backward()
    print(f"f(2, 5)            = {y.item():.3f}")
    print(f"reverse: df/dx1    = {x1.grad.item():.4f}   (5.5)")
    print(f"reverse: df/dx2    = {x2.grad.item():.4f}   (2 - cos 5 = {2 - np.cos(5):.4f})")

    p = (x1.detach(), x2.detach())
    _, d1 = dc.jvp(f, p, (dc.tensor(1.0), dc.tensor(0.0)))
    _, d2 = dc.jvp(f, p, (dc.tensor(0.0), dc.tensor(1.0)))
    print(f"forward: df/dx1    = {d1.item():.4f}, df/dx2 = {d2.item():.4f}")

    x = dc.tensor([2.0, 5.0])
    H = dc.hessian(lambda v: f(v[0], v[1]))(x)
    print("Hessian:\n", H.numpy())
    _, Hv = dc.hvp(lambda v: f(v[0], v[1]), x, dc.tensor([1.0, 0.0]))
    print("Hessian-vector product (forward-over-reverse), H e1 =", Hv.numpy())
    print("gradcheck passes:", dc.gradcheck(lambda v: f(v[0], v[1]), (x,)))


if __name__ == "__main__":
    main()
