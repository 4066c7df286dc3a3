"""Model state as plain NumPy arrays: copying, loading with a clear architecture check, and encoding nested
state (optimizer, schedulers, callbacks, random generators) into JSON plus named arrays, without pickle.
"""

import numpy as np

from ..autodiff import Tensor


def _array(v):
    return v.data if isinstance(v, Tensor) else np.asarray(v)


def copy_state(model):
    """``{name: array copy}`` of ``model.state_dict()`` (parameters and buffers), no graph, no sharing."""
    return {k: np.array(_array(v), copy=True) for k, v in model.state_dict().items()}


def state_mismatches(model, arrays):
    """Human-readable differences between ``model.state_dict()`` and ``arrays`` (names and shapes)."""
    own = {k: _array(v) for k, v in model.state_dict().items()}
    problems = []
    for k in own:
        if k not in arrays:
            problems.append(f"missing {k} {tuple(own[k].shape)}")
        elif tuple(np.shape(arrays[k])) != tuple(own[k].shape):
            problems.append(f"{k}: checkpoint has shape {tuple(np.shape(arrays[k]))}, model has {tuple(own[k].shape)}")
    problems += [f"unexpected {k} {tuple(np.shape(arrays[k]))}" for k in arrays if k not in own]
    return problems


def load_model_state(model, arrays, source="checkpoint"):
    """Load ``{name: array}`` into ``model``; a different architecture raises ValueError listing every mismatch."""
    problems = state_mismatches(model, arrays)
    if problems:
        raise ValueError(f"{source} does not fit this model (another architecture?): " + "; ".join(problems))
    own = model.state_dict()
    model.load_state_dict({k: Tensor._make(np.array(_array(arrays[k]), dtype=_array(own[k]).dtype, copy=True))
                           for k in own})


def encode(obj, arrays, key="s"):
    """Encode nested state as JSON-able data; every array or Tensor goes into ``arrays[key]`` instead."""
    if isinstance(obj, Tensor):
        arrays[key] = np.ascontiguousarray(obj.data)
        return {"__tensor__": key}
    if isinstance(obj, np.ndarray):
        arrays[key] = np.ascontiguousarray(obj)
        return {"__ndarray__": key}
    if isinstance(obj, np.generic):
        return obj.item()
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
    """Inverse of :func:`encode` (arrays stored as Tensors come back as Tensors)."""
    if isinstance(obj, list):
        return [decode(v, arrays) for v in obj]
    if isinstance(obj, dict):
        if "__tensor__" in obj:
            return Tensor._make(np.array(arrays[obj["__tensor__"]]))
        if "__ndarray__" in obj:
            return np.array(arrays[obj["__ndarray__"]])
        if "__tuple__" in obj:
            return tuple(decode(v, arrays) for v in obj["__tuple__"])
        if "__dict__" in obj:
            return {_hashable(decode(k, arrays)): decode(v, arrays) for k, v in obj["__dict__"]}
        return {k: decode(v, arrays) for k, v in obj.items()}
    return obj


def _hashable(k):
    return tuple(k) if isinstance(k, list) else k
