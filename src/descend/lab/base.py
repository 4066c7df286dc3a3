"""The shape of a lab: a registered experiment that returns its numbers and its verdict.

A lab module defines one function decorated with :func:`lab`::

    @lab("xor", claim="A single neuron cannot represent XOR; one hidden layer can.",
         source="Notes, lecture 2: the perceptron and its limits", order=10)
    def experiment(ctx):
        ...                                   # ctx.quick, ctx.seed, ctx.figure(...)
        return confirmed, {"one_neuron_accuracy": 0.75, "hidden_layer_accuracy": 1.0}

``run(name)`` imports the module, calls the function with a :class:`Context`, and writes
``<out>/<name>/result.json`` with the keys ``name``, ``claim``, ``source``, ``confirmed``,
``numbers`` and ``figures``. Numbers are stored as strict JSON (NumPy scalars and arrays become
numbers and lists; a NaN or infinity becomes null).
"""

import contextlib
import importlib
import json
import math
import os
import pkgutil
import time
from dataclasses import dataclass

import numpy as np

_REGISTRY = {}
_NOT_LABS = {"base", "cli"}


@dataclass(frozen=True)
class Lab:
    """A registered lab: its name, the claim in the notes' words, where the notes make it, and its function."""

    name: str
    claim: str
    source: str
    order: float
    function: object


def lab(name, claim, source, order=1000):
    """Register the decorated ``function(ctx) -> (confirmed, numbers)`` as the lab ``name``.

    ``order`` places the lab in the order of the notes (``names()`` sorts by it).
    """
    def register(function):
        if name in _REGISTRY and _REGISTRY[name].function.__module__ != function.__module__:
            raise ValueError(f"two labs are named {name!r}: {_REGISTRY[name].function.__module__} and "
                             f"{function.__module__}")
        _REGISTRY[name] = Lab(name, claim, source, order, function)
        return function

    return register


def _load_all():
    for info in pkgutil.iter_modules([os.path.dirname(__file__)]):
        if info.name not in _NOT_LABS:
            importlib.import_module(f"{__package__}.{info.name}")


def names():
    """The names of all labs, in the order of the notes."""
    _load_all()
    return [lab.name for lab in sorted(_REGISTRY.values(), key=lambda lab: (lab.order, lab.name))]


def get(name):
    """The :class:`Lab` called ``name``; an unknown name raises ValueError with the closest one."""
    _load_all()
    if name not in _REGISTRY:
        import difflib
        close = difflib.get_close_matches(name, list(_REGISTRY), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"no lab named {name!r}{hint} (`descend lab list` shows them all)")
    return _REGISTRY[name]


class Context:
    """What a lab's function receives: ``quick``, ``seed``, ``out_dir`` and :meth:`figure`."""

    def __init__(self, name, quick, seed, out_dir):
        self.name, self.quick, self.seed, self.out_dir = name, bool(quick), int(seed), out_dir
        self.figures = []

    @contextlib.contextmanager
    def figure(self, filename, nrows=1, ncols=1, size=None, **kwargs):
        """``with ctx.figure("curves.png", 1, 2) as (fig, axes):`` draw; saved as PNG on leaving the block.

        Give every axis a title, axis labels and (where several lines share it) a legend.
        """
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        size = size or (4.8 * ncols, 3.8 * nrows)
        fig, axes = plt.subplots(nrows, ncols, figsize=size, squeeze=False, **kwargs)
        try:
            yield fig, (axes[0, 0] if nrows * ncols == 1 else axes.ravel())
            fig.tight_layout()
            os.makedirs(self.out_dir, exist_ok=True)
            fig.savefig(os.path.join(self.out_dir, filename), dpi=80)
            self.figures.append(filename)
        finally:
            plt.close(fig)


def _plain(value):
    """``value`` as strict-JSON data: NumPy scalars and arrays to numbers and lists, NaN/inf to None."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer, int)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        value = float(value)
        return value if math.isfinite(value) else None
    return value


def run(name, quick=True, seed=0, out="labs"):
    """Run the lab ``name``; write ``<out>/<name>/result.json`` and its figures; return the result dict.

    The experiment runs with one BLAS thread (its problems are small, where more threads only cost).
    """
    from threadpoolctl import threadpool_limits
    entry = get(name)
    directory = os.path.join(out, name)
    ctx = Context(name, quick, seed, directory)
    t0 = time.perf_counter()
    # a lab's matrices are small: one BLAS thread is faster than two and gives the same bits everywhere
    with threadpool_limits(limits=1, user_api="blas"):
        confirmed, numbers = entry.function(ctx)
    result = {"name": name, "claim": entry.claim, "source": entry.source, "confirmed": bool(confirmed),
              "numbers": _plain(numbers), "figures": list(ctx.figures), "quick": ctx.quick, "seed": ctx.seed,
              "seconds": round(time.perf_counter() - t0, 3)}
    os.makedirs(directory, exist_ok=True)
    tmp = os.path.join(directory, f"result.json.tmp{os.getpid()}")
    with open(tmp, "w") as f:
        json.dump(result, f, indent=2, allow_nan=False)
    os.replace(tmp, os.path.join(directory, "result.json"))
    return result
