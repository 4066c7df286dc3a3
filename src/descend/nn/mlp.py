"""``MLP``: the notes' multilayer network h⁽ᵏ⁾ = g(b⁽ᵏ⁾ + W⁽ᵏ⁾ h⁽ᵏ⁻¹⁾), built from a list of sizes."""

from . import init as _init
from .activation import ELU, GELU, LeakyReLU, ReLU, SiLU, Sigmoid, Softplus, Tanh
from .batchnorm import BatchNorm1d
from .containers import Sequential
from .dropout import Dropout
from .linear import Identity, Linear

ACTIVATIONS = {
    "relu": ReLU, "tanh": Tanh, "sigmoid": Sigmoid, "leaky_relu": LeakyReLU, "elu": ELU, "gelu": GELU,
    "silu": SiLU, "swish": SiLU, "softplus": Softplus, "identity": Identity, "linear": Identity,
}

INITS = {
    "xavier_uniform": _init.xavier_uniform_, "glorot_uniform": _init.xavier_uniform_,
    "xavier_normal": _init.xavier_normal_, "kaiming_uniform": _init.kaiming_uniform_,
    "kaiming_normal": _init.kaiming_normal_, "lecun_uniform": _init.lecun_uniform_, "lecun_normal": _init.lecun_normal_,
    "efficient_backprop_uniform": _init.efficient_backprop_uniform_, "tanh_uniform": _init.tanh_uniform_,
    "orthogonal": _init.orthogonal_,
}


class MLP(Sequential):
    """Linear layers of sizes[0] → sizes[1] → ... → sizes[-1], each but the last followed by
    [BatchNorm1d] → activation → [Dropout].

    ``activation``: a name ("relu", "tanh", "sigmoid", "leaky_relu", "elu", "gelu", "silu",
    "softplus", "identity") or a Module class / factory called with no arguments.
    ``init``: None (Linear's default, Glorot uniform), a name from ``nn.init`` without the
    trailing underscore ("kaiming_normal", ...) or a function applied to each weight in place;
    biases start at 0. The output layer has no activation (add a loss that takes logits).
    Shapes: (N, sizes[0]) → (N, sizes[-1]).
    """

    def __init__(self, sizes, activation="relu", dropout=0.0, batchnorm=False, init=None, bias=True):
        sizes = list(sizes)
        if len(sizes) < 2 or any(not isinstance(s, int) or s < 1 for s in sizes):
            raise ValueError(f"MLP: sizes={sizes!r}; expected at least two positive integers (input, ..., output)")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"MLP: dropout={dropout}; expected a probability in [0, 1)")
        make_act = _activation(activation)
        init_fn = _init_fn(init)
        layers = []
        for k, (m, n) in enumerate(zip(sizes[:-1], sizes[1:])):
            lin = Linear(m, n, bias=bias)
            if init_fn is not None:
                init_fn(lin.weight)
            layers.append(lin)
            if k < len(sizes) - 2:
                if batchnorm:
                    layers.append(BatchNorm1d(n))
                layers.append(make_act())
                if dropout > 0:
                    layers.append(Dropout(dropout))
        super().__init__(*layers)
        self.sizes = sizes


def _activation(activation):
    if isinstance(activation, str):
        if activation not in ACTIVATIONS:
            raise ValueError(f"MLP: activation={activation!r}; expected one of {', '.join(sorted(ACTIVATIONS))} "
                             "or a Module class")
        return ACTIVATIONS[activation]
    if callable(activation):
        return activation
    raise TypeError(f"MLP: activation must be a name or a Module class, got {type(activation).__name__}")


def _init_fn(init):
    if init is None:
        return None
    if isinstance(init, str):
        key = init.rstrip("_")
        if key not in INITS:
            raise ValueError(f"MLP: init={init!r}; expected one of {', '.join(sorted(INITS))} or a function")
        return INITS[key]
    if callable(init):
        return init
    raise TypeError(f"MLP: init must be a name or a function, got {type(init).__name__}")

