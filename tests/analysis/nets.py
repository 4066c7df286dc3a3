"""Small float64 networks for the analysis tests, each in two forms: a loss of parameter Tensors
(what users pass to descend.analysis) and the same loss of one flat vector θ (for the exact
Hessian by dc.hessian)."""

import numpy as np

import descend as dc
import descend.nn.functional as F


class SmallNet:
    """An MLP with tanh hidden layers (sizes ``widths``) and a squared-error or cross-entropy loss on
    random data; ``params`` are float64 Tensors, ``loss_fn()`` the loss, ``flat_loss(θ)`` the same."""

    def __init__(self, widths=(4, 8, 3), batch=16, loss="mse", seed=0, scale=0.8):
        rng = np.random.default_rng(seed)
        self.shapes = []
        for a, b in zip(widths[:-1], widths[1:]):
            self.shapes += [(b, a), (b,)]
        self.params = [dc.tensor(rng.normal(size=s) * scale / np.sqrt(s[-1]), dtype=dc.float64, requires_grad=True)
                       for s in self.shapes]
        self.x = dc.tensor(rng.normal(size=(batch, widths[0])), dtype=dc.float64)
        if loss == "mse":
            self.y = dc.tensor(rng.normal(size=(batch, widths[-1])), dtype=dc.float64)
        else:
            self.y = dc.tensor(rng.integers(0, widths[-1], size=batch))
        self.kind = loss

    @property
    def n(self):
        return int(sum(np.prod(s) for s in self.shapes))

    def _loss(self, ps):
        h = self.x
        for i in range(0, len(ps), 2):
            h = F.linear(h, ps[i], ps[i + 1])
            if i + 2 < len(ps):
                h = h.tanh()
        return F.mse_loss(h, self.y) if self.kind == "mse" else F.cross_entropy(h, self.y)

    def loss_fn(self):
        return self._loss(self.params)

    def flat_loss(self, theta):
        parts, off = [], 0
        for s in self.shapes:
            k = int(np.prod(s))
            parts.append(theta[off:off + k].reshape(*s))
            off += k
        return self._loss(parts)

    def theta(self):
        return np.concatenate([p.numpy().ravel() for p in self.params])

    def hessian(self):
        """The exact Hessian by dc.hessian (reverse-over-reverse) of the flat loss, symmetrized."""
        H = dc.hessian(self.flat_loss)(dc.tensor(self.theta(), dtype=dc.float64)).numpy()
        return 0.5 * (H + H.T)

    def snapshot(self):
        return [p.numpy().copy() for p in self.params]
