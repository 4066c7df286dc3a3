"""``DataLoader``: mini-batches (x_B, t_B) drawn from a data set, in the notes' four modes.

- ``mode="batch"``: one step per epoch on the whole set (batch gradient descent).
- ``mode="stochastic"``: N steps per epoch, each on one example drawn uniformly at random (with
  replacement): stochastic gradient descent.
- ``mode="online"``: N steps per epoch, one example each, in the fixed cyclic order 0, 1, ..., N-1.
- ``mode="minibatch"``: batches of ``batch_size`` examples from a fresh permutation every epoch.
- ``fixed_batches=True``: the batches are drawn once (first epoch) and reused in every epoch.

Without ``mode`` the loader behaves like ``torch.utils.data.DataLoader`` (``batch_size=1``,
``shuffle=False``). All randomness comes from the loader's own generator, seeded by ``seed`` (or, if
None, by one draw from descend's generator if the loader is random at all), whose state -- and the
position inside the current epoch -- is in ``state_dict()``, so a resumed run draws the same batches.
"""

import numpy as np

from ..autodiff import Tensor
from ..autodiff.extend import wrap
from ..autodiff.random import generator
from .dataset import array_view

MODES = ("batch", "stochastic", "online", "minibatch")


class DataLoader:
    """Iterate over ``dataset`` in batches: each item is a tuple of Tensors (B, ...), one per field.

    ``transform(x, rng)`` (e.g. from ``descend.data.transforms``) is applied to the inputs (field 0) of
    each batch with the loader's generator.
    """

    def __init__(self, dataset, batch_size=1, shuffle=False, drop_last=False, seed=None, mode=None,
                 fixed_batches=False, transform=None):
        if len(dataset) == 0:
            raise ValueError("DataLoader: the data set is empty (0 examples)")
        if mode is not None and mode not in MODES:
            raise ValueError(f"DataLoader: mode={mode!r}; expected one of {', '.join(map(repr, MODES))}")
        if mode == "batch":
            batch_size, shuffle = len(dataset), False
        elif mode in ("stochastic", "online"):
            batch_size, shuffle = 1, mode == "stochastic"
        elif mode == "minibatch" and not shuffle:
            shuffle = True
        if not isinstance(batch_size, (int, np.integer)) or isinstance(batch_size, bool) or batch_size < 1:
            raise ValueError(f"DataLoader: batch_size={batch_size!r}; expected a positive integer")
        # draw a seed only when the loader is random, so that plain loaders leave descend's stream alone
        if seed is None:
            random = shuffle or mode == "stochastic" or transform is not None
            seed = int(generator().integers(2**63 - 1)) if random else 0
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.mode = mode or "minibatch"
        self.fixed_batches = bool(fixed_batches)
        self.transform = transform
        self.seed = int(seed)
        self.rng = np.random.default_rng(self.seed)
        self._view = array_view(dataset)
        self._fixed_order = None
        self._order = None   # order of the epoch in progress (None when no epoch is in progress)
        self._pos = 0        # batches of it already handed out

    def __len__(self):
        n = len(self.dataset)
        if self.drop_last and n >= self.batch_size:
            return n // self.batch_size
        return -(-n // self.batch_size)

    def _new_order(self):
        n = len(self.dataset)
        if self.fixed_batches and self._fixed_order is not None:
            return self._fixed_order
        if self.mode == "stochastic":
            order = self.rng.integers(0, n, size=n)
        elif self.shuffle:
            order = self.rng.permutation(n)
        else:
            order = np.arange(n)
        if self.fixed_batches:
            self._fixed_order = order
        return order

    def _batch(self, idx):
        if self._view is not None:
            arrays, base = self._view
            if base is not None:
                idx = base[idx]
            fields = [a[idx] for a in arrays]
        else:
            samples = [self.dataset[int(i)] for i in idx]
            if not isinstance(samples[0], (tuple, list)):
                samples = [(s,) for s in samples]
            fields = [np.stack([s[k].data if isinstance(s[k], Tensor) else np.asarray(s[k]) for s in samples])
                      for k in range(len(samples[0]))]
        if self.transform is not None:
            fields[0] = np.asarray(self.transform(fields[0], rng=self.rng), dtype=fields[0].dtype)
        return tuple(wrap(f) for f in fields)

    def __iter__(self):
        if self._order is None:
            self._order, self._pos = self._new_order(), 0
        order, b = self._order, self.batch_size
        steps = len(self)
        while self._pos < steps:
            idx = order[self._pos * b:(self._pos + 1) * b]
            self._pos += 1
            if self._pos == steps:
                self._order = None
            yield self._batch(idx)
        self._order = None

    def state_dict(self):
        """The generator state, the fixed batches and the position in the epoch in progress (JSON-able + arrays)."""
        return {"rng": self.rng.bit_generator.state, "pos": self._pos if self._order is not None else 0,
                "order": None if self._order is None else self._order.tolist(),
                "fixed_order": None if self._fixed_order is None else self._fixed_order.tolist()}

    def load_state_dict(self, state):
        """Restore a state from :meth:`state_dict`."""
        self.rng.bit_generator.state = state["rng"]
        self._order = None if state["order"] is None else np.asarray(state["order"], dtype=np.int64)
        self._pos = int(state["pos"])
        self._fixed_order = None if state["fixed_order"] is None else np.asarray(state["fixed_order"], dtype=np.int64)
