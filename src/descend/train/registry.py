"""What a run configuration may name, one registry per kind of thing.

- ``OPTIMIZERS``: every :class:`descend.optim.Optimizer` subclass that ``descend.optim`` exports.
- ``SCHEDULERS``: every scheduler of ``descend.optim.lr_scheduler`` whose arguments are numbers,
  strings or lists (LambdaLR, MultiplicativeLR, SequentialLR and ChainedScheduler take Python functions
  or other schedulers, which a TOML file cannot hold).
- ``DATASETS``: the data sets ``descend train`` knows (:class:`DataSet`: how to load it, its classes, its
  image shape and its default augmentation), the built-in ones and ``csv``/``npz``, the user's own file.
- ``MODELS``: the models a run may train (``model.type``): :class:`descend.nn.MLP` and
  :class:`descend.nn.convnet.ConvNet` (conv blocks, then an MLP head).
- ``ACTIVATIONS`` and ``INITS``: those of :class:`descend.nn.MLP` (and of the ConvNet, which uses them).
- ``TASKS``: classification (cross-entropy, accuracy) and regression (mean squared error).
"""

import inspect
from dataclasses import dataclass, field

from .. import data as D
from .. import optim
from ..data.table import TASKS
from ..nn.convnet import ConvNet
from ..nn.mlp import ACTIVATIONS, INITS, MLP
from ..optim import lr_scheduler

__all__ = ["OPTIMIZERS", "SCHEDULERS", "DATASETS", "MODELS", "ACTIVATIONS", "INITS", "TASKS", "DataSet"]

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

    ``load(seed, d)`` (``d``: the run's ``[data]``, a DataSpec) returns ``(pool, test, table)``: the
    examples to split into train/validation(/test), the data set's own test set (None: the test split
    is carved from the pool; ``split=False``: the pool is used whole for training, validation and
    test, as for the four XOR points), and for a file (``file=True``: ``data.path`` names it) the
    :class:`descend.data.Table` read from it (its classes' original labels, its column names), else None.
    ``own_test`` says that ``test`` is not None, so ``data.test`` does not apply. ``classes`` is the
    number of classes (None: those of the file's labels). ``image_shape`` is (H, W) for images (None
    for points in the plane, and for files, whose ``data.image_shape`` says it); ``augment`` holds the
    values the ``"auto"`` augmentation settings take.
    """

    load: object
    classes: int = None
    image_shape: tuple = None
    augment: dict = field(default_factory=dict)
    split: bool = True
    own_test: bool = False
    file: bool = False


def _digits(seed, d):
    return D.digits(), None, None


def _vision(fn):
    def load(seed, d):   # files in ``d.path`` if given (never downloaded there), else in the cache (downloaded)
        root, download = (d.path, False) if d.path else (None, True)
        return fn(root=root, train=True, download=download), fn(root=root, train=False, download=download), None
    return load


def _xor(seed, d):
    x, t = D.xor().arrays
    return D.TensorDataset(x, t.reshape(-1).astype("int64")), None, None


def _csv(seed, d):
    table = D.read_csv(d.path, label=d.label, task=d.task)
    return table.dataset(), None, table


def _npz(seed, d):
    table = D.read_npz(d.path, x=d.x, y=d.y, task=d.task)
    return table.dataset(), None, table


IMAGE_AUGMENT = {"rotate": 8.0, "noise": 0.3}
DATASETS = {
    "digits": DataSet(_digits, 10, (8, 8), IMAGE_AUGMENT),
    "mnist": DataSet(_vision(D.mnist), 10, (28, 28), IMAGE_AUGMENT, own_test=True),
    "fashion_mnist": DataSet(_vision(D.fashion_mnist), 10, (28, 28), IMAGE_AUGMENT, own_test=True),
    "two_moons": DataSet(lambda seed, d: (D.two_moons(1000, noise=0.2, seed=seed), None, None), 2),
    "spirals": DataSet(lambda seed, d: (D.spirals(1200, classes=3, noise=0.1, seed=seed), None, None), 3),
    "circles": DataSet(lambda seed, d: (D.circles(1000, noise=0.08, seed=seed), None, None), 2),
    "xor": DataSet(_xor, 2, split=False),
    "csv": DataSet(_csv, file=True),
    "npz": DataSet(_npz, file=True),
}
MODELS = {"mlp": MLP, "cnn": ConvNet}
