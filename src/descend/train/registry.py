"""What a run configuration may name, one registry per kind of thing.

- ``OPTIMIZERS``: every :class:`descend.optim.Optimizer` subclass that ``descend.optim`` exports.
- ``SCHEDULERS``: every scheduler of ``descend.optim.lr_scheduler`` whose arguments are numbers,
  strings or lists (LambdaLR, MultiplicativeLR, SequentialLR and ChainedScheduler take Python functions
  or other schedulers, which a TOML file cannot hold).
- ``DATASETS``: the data sets ``descend train`` knows (:class:`DataSet`: how to load it, its classes, its
  image shape and its default augmentation).
- ``ACTIVATIONS`` and ``INITS``: those of :class:`descend.nn.MLP`, the model a run trains.
"""

import inspect
from dataclasses import dataclass, field

from .. import data as D
from .. import optim
from ..nn.mlp import ACTIVATIONS, INITS
from ..optim import lr_scheduler

__all__ = ["OPTIMIZERS", "SCHEDULERS", "DATASETS", "ACTIVATIONS", "INITS", "DataSet"]

def _classes(module, base, exclude=()):
    """The classes ``module`` exports (``__all__``) that subclass ``base``, minus ``exclude``, by name."""
    found = {}
    for name in module.__all__:
        cls = getattr(module, name)
        if isinstance(cls, type) and issubclass(cls, base) and cls is not base and cls not in exclude:
            found[name] = cls
    return found


OPTIMIZERS = _classes(optim, optim.Optimizer)
SCHEDULERS = {name: cls for name, cls in _classes(lr_scheduler, lr_scheduler.LRScheduler,
                                                  exclude=(lr_scheduler.MetricScheduler,)).items()
              if not {"lr_lambda", "schedulers"} & set(inspect.signature(cls).parameters)}


@dataclass(frozen=True)
class DataSet:
    """A data set of ``descend train``.

    ``load(seed, path)`` returns ``(pool, test)``: the examples to split into train/validation(/test),
    and the data set's own test set (None: the test split is carved from the pool; ``split=False``:
    the pool is used whole for training, validation and test, as for the four XOR points); ``own_test``
    says that ``test`` is not None, so ``data.test`` does not apply.
    ``image_shape`` is (H, W) for images (None for points in the plane); ``augment`` holds the values
    the ``"auto"`` augmentation settings take.
    """

    load: object
    classes: int
    image_shape: tuple = None
    augment: dict = field(default_factory=dict)
    split: bool = True
    own_test: bool = False


def _digits(seed, path):
    return D.digits(), None


def _vision(fn):
    def load(seed, path):   # files in ``path`` if given (never downloaded there), else in the cache (downloaded)
        root, download = (path, False) if path else (None, True)
        return fn(root=root, train=True, download=download), fn(root=root, train=False, download=download)
    return load


def _xor(seed, path):
    x, t = D.xor().arrays
    return D.TensorDataset(x, t.reshape(-1).astype("int64")), None


IMAGE_AUGMENT = {"rotate": 8.0, "noise": 0.3}
DATASETS = {
    "digits": DataSet(_digits, 10, (8, 8), IMAGE_AUGMENT),
    "mnist": DataSet(_vision(D.mnist), 10, (28, 28), IMAGE_AUGMENT, own_test=True),
    "fashion_mnist": DataSet(_vision(D.fashion_mnist), 10, (28, 28), IMAGE_AUGMENT, own_test=True),
    "two_moons": DataSet(lambda seed, path: (D.two_moons(1000, noise=0.2, seed=seed), None), 2),
    "spirals": DataSet(lambda seed, path: (D.spirals(1200, classes=3, noise=0.1, seed=seed), None), 3),
    "circles": DataSet(lambda seed, path: (D.circles(1000, noise=0.08, seed=seed), None), 2),
    "xor": DataSet(_xor, 2, split=False),
}
