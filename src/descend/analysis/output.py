"""Files written by the analysis floor: atomically (temporary file, fsync, rename), JSON strictly."""

import io
import json
import math
import os

import numpy as np

__all__ = ["atomic_write", "save_figure", "strict_json"]


def atomic_write(path, data):
    """Write bytes to ``path``: a temporary file in the same directory, fsync, rename over ``path``."""
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    tmp = f"{path}.tmp{os.getpid()}"
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def save_figure(fig, path, dpi=100):
    """Save a matplotlib figure to ``path`` atomically, in the format its extension names."""
    buf = io.BytesIO()
    fig.savefig(buf, format=os.path.splitext(os.fspath(path))[1][1:].lower(), dpi=dpi)
    atomic_write(path, buf.getvalue())


def _plain(x):
    """JSON-able copy of ``x``: arrays to lists, NumPy scalars to Python, non-finite floats to None."""
    if isinstance(x, dict):
        return {str(k): _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    if isinstance(x, np.ndarray):
        return _plain(x.tolist())
    if isinstance(x, np.generic):
        return _plain(x.item())
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def strict_json(obj):
    """``obj`` as strict JSON text (NaN and ±Infinity become null, which every parser accepts)."""
    return json.dumps(_plain(obj), indent=2, allow_nan=False) + "\n"
