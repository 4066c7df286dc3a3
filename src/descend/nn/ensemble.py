"""``Ensemble``: the average of several networks, the notes' cure for the variance of one.

Models trained from different random initializations (or on different resamples of the data)
make partly independent errors; averaging M of them keeps their bias and divides the part of
the variance that is independent by M:

    outputs:        y(x) = (1/M) Σ_m f_m(x),
    probabilities:  p(x) = (1/M) Σ_m softmax(f_m(x)).
"""

from . import functional as F
from .containers import ModuleList
from .module import Module

AVERAGES = ("outputs", "probabilities")


class Ensemble(Module):
    """The mean of ``models``' outputs (``average="outputs"``), or of their softmax probabilities
    over the last dimension (``average="probabilities"``: the result is a probability vector, so
    use ``F.nll_loss(p.log(), t)`` rather than ``F.cross_entropy``). Each model maps the same input
    x (..., in) to outputs (..., out) of one shape; the members are registered as ``members.0``,
    ``members.1``, ... so that ``parameters()``, ``train()``/``eval()`` and ``state_dict()`` reach them.
    """

    def __init__(self, models, average="outputs"):
        super().__init__()
        models = list(models)
        if not models:
            raise ValueError("Ensemble: models is empty; give at least one model")
        if average not in AVERAGES:
            raise ValueError(f"Ensemble: average={average!r}; expected 'outputs' or 'probabilities'")
        self.members = ModuleList(models)
        self.average = average

    def forward(self, x):
        total = None
        for m in self.members:
            y = m(x)
            if self.average == "probabilities":
                y = F.softmax(y, dim=-1)
            if total is not None and y.shape != total.shape:
                raise ValueError(f"Ensemble: member outputs differ in shape: {tuple(total.shape)} and {tuple(y.shape)}")
            total = y if total is None else total + y
        return total / len(self.members)

    def extra_repr(self):
        return f"average={self.average!r}"
