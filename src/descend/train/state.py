"""Model state as plain NumPy arrays: copying, loading with a clear architecture check, and encoding nested
state (optimizer, schedulers, callbacks, random generators) into strict JSON plus named arrays, without pickle.

:func:`encode` turns a nested state into JSON-able data and a dict ``{name: array}``; :func:`decode` is
its exact inverse: every array comes back with its shape (0-d included) and dtype, every float bit for
bit (NaN and ±Infinity as tagged strings, since strict JSON has neither).
"""

import math

import numpy as np

from ..autodiff import Tensor
from ..autodiff.extend import wrap

TAGS = ("__tensor__", "__ndarray__", "__tuple__", "__dict__", "__float__")
NON_FINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


def _array(v):
    return v.data if isinstance(v, Tensor) else np.asarray(v)


def copy_state(model):
    """``{name: array copy}`` of ``model.state_dict()`` (parameters and buffers), no graph, no sharing."""
    return {k: np.array(_array(v), copy=True) for k, v in model.state_dict().items()}


def state_mismatches(model, arrays):
    """Human-readable differences between ``model.state_dict()`` and ``arrays`` (names, shapes and dtypes)."""
    own = {k: _array(v) for k, v in model.state_dict().items()}
    problems = []
    for k, mine in own.items():
        if k not in arrays:
            problems.append(f"missing {k} {tuple(mine.shape)}")
            continue
        theirs = _array(arrays[k])
        if tuple(theirs.shape) != tuple(mine.shape):
            problems.append(f"{k}: checkpoint has shape {tuple(theirs.shape)}, model has {tuple(mine.shape)}")
        elif theirs.dtype != mine.dtype:
            problems.append(f"{k}: checkpoint has dtype {theirs.dtype}, model has {mine.dtype}")
    problems += [f"unexpected {k} {tuple(_array(arrays[k]).shape)}" for k in arrays if k not in own]
    return problems


def load_model_state(model, arrays, source="checkpoint"):
    """Load ``{name: array}`` into ``model`` exactly (same shapes and dtypes); checks everything first, so a
    different architecture raises ValueError listing every mismatch and leaves the model unchanged."""
    problems = state_mismatches(model, arrays)
    if problems:
        raise ValueError(f"{source} does not fit this model (another architecture?): " + "; ".join(problems))
    model.load_state_dict({k: wrap(np.array(_array(arrays[k]), copy=True)) for k in model.state_dict()})


def _contiguous(a):
    # np.ascontiguousarray would turn a 0-d array into shape (1,)
    return a if a.flags.c_contiguous else np.ascontiguousarray(a)


def encode(obj, arrays, key="s"):
    """Encode nested state as JSON-able data; every array or Tensor goes into ``arrays`` (named after its path).

    Accepts None, bools, ints, floats (non-finite ones tagged), strings, NumPy scalars, lists, tuples,
    dicts (any hashable keys of these kinds), arrays and Tensors; anything else raises TypeError.
    """
    if isinstance(obj, (Tensor, np.ndarray)):
        tag = "__tensor__" if isinstance(obj, Tensor) else "__ndarray__"
        name = key if key not in arrays else f"{key}#{len(arrays)}"
        arrays[name] = _contiguous(_array(obj))
        return {tag: name}
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return {"__float__": "nan" if math.isnan(obj) else ("inf" if obj > 0 else "-inf")}
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, dict):
        if all(isinstance(k, str) and not k.startswith("__") for k in obj):
            return {k: encode(v, arrays, f"{key}.{k}") for k, v in obj.items()}
        return {"__dict__": [[encode(k, arrays, f"{key}.k{i}"), encode(v, arrays, f"{key}.{i}")]
                             for i, (k, v) in enumerate(obj.items())]}
    if isinstance(obj, tuple):
        return {"__tuple__": [encode(v, arrays, f"{key}.{i}") for i, v in enumerate(obj)]}
    if isinstance(obj, list):
        return [encode(v, arrays, f"{key}.{i}") for i, v in enumerate(obj)]
    raise TypeError(f"cannot store a {type(obj).__name__} in a checkpoint at {key!r} (only numbers, strings, "
                    f"lists, dicts, arrays and Tensors; never pickle)")


def decode(obj, arrays):
    """Inverse of :func:`encode` (arrays stored as Tensors come back as Tensors); raises ValueError for data
    that :func:`encode` cannot have written (an unknown tag, a missing array)."""
    if isinstance(obj, list):
        return [decode(v, arrays) for v in obj]
    if not isinstance(obj, dict):
        return obj
    tags = [k for k in obj if k in TAGS]
    if not tags:
        return {k: decode(v, arrays) for k, v in obj.items()}
    if len(obj) != 1:
        raise ValueError(f"malformed state entry with keys {sorted(obj)[:5]}")
    tag, value = tags[0], obj[tags[0]]
    if tag in ("__tensor__", "__ndarray__"):
        if not isinstance(value, str) or value not in arrays:
            raise ValueError(f"the state refers to an array {value!r} that is not stored")
        a = np.array(arrays[value], copy=True)
        return wrap(a) if tag == "__tensor__" else a
    if tag == "__float__":
        if not isinstance(value, str) or value not in NON_FINITE:
            raise ValueError(f"malformed non-finite float {value!r}")
        return NON_FINITE[value]
    if not isinstance(value, list):
        raise ValueError(f"malformed {tag} entry")
    if tag == "__tuple__":
        return tuple(decode(v, arrays) for v in value)
    if not all(isinstance(kv, list) and len(kv) == 2 for kv in value):
        raise ValueError("malformed __dict__ entry")
    return {_hashable(decode(k, arrays)): decode(v, arrays) for k, v in value}


def _hashable(k):
    if isinstance(k, list):
        return tuple(_hashable(x) for x in k)
    if isinstance(k, dict):
        raise ValueError("malformed __dict__ key")
    return k
