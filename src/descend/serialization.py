"""Saving and loading weights: ``dc.save(state_dict, path)`` and ``dc.load(path)`` in safetensors.

safetensors is the ecosystem's format for weights (Hugging Face, PyTorch, JAX): an 8-byte header
length, a JSON header giving each tensor's dtype, shape and byte range, then the raw
little-endian values. Loading it runs no code (unlike a pickle). A descend model's file loads
into the same PyTorch model with ``safetensors.torch.load_file`` and ``load_state_dict``, and a
PyTorch file loads into descend with ``dc.load``.

- Shapes and dtypes round-trip exactly: a 0-d buffer (BatchNorm's ``num_batches_tracked``) stays
  0-d, an integer tensor stays integer.
- The write is atomic: a temporary file in the same directory, fsync, then a rename, so a crash
  leaves the old file or the new one, never half of one.
- ``dc.save`` puts a SHA-256 of every name, dtype, shape and value into the header's metadata;
  ``dc.load`` checks it when it is there, so that a flipped bit is found (files written by other
  tools carry none; their structure is still checked).
- A truncated, bit-flipped or absurd file raises ``ValueError("... is corrupted: ...")`` naming
  the file, before anything larger than the file itself is allocated.
"""

import hashlib
import json
import os
import struct
from collections import OrderedDict
from collections.abc import Mapping

import numpy as np
from safetensors import SafetensorError, safe_open
from safetensors.numpy import save as _serialize

from .autodiff import Tensor
from .autodiff.extend import wrap

__all__ = ["save", "load"]

#: the metadata key of the checksum that dc.save writes and dc.load checks
CHECKSUM = "descend.sha256"


def _digest(arrays):
    """SHA-256 over the names, dtypes, shapes and little-endian values of ``arrays`` (name → array), by name."""
    h = hashlib.sha256()
    for name in sorted(arrays):
        a = arrays[name]
        little = a.astype(a.dtype.newbyteorder("<"), copy=False)
        h.update(json.dumps([name, little.dtype.str, list(a.shape)]).encode())
        h.update(little.tobytes())
    return h.hexdigest()


def save(state_dict, path):
    """Write ``state_dict`` (name → Tensor or NumPy array of bool, integer or floating dtype) to
    ``path`` in safetensors format, atomically (see the module docstring)."""
    if not isinstance(state_dict, Mapping):
        raise TypeError(
            f"save: expected a dict of name -> Tensor (e.g. model.state_dict()), got {type(state_dict).__name__}"
        )
    arrays = {}
    for name, value in state_dict.items():
        if not isinstance(name, str) or not name:
            raise TypeError(f"save: names must be non-empty strings, got {name!r}")
        if isinstance(value, Tensor):
            arr = value.data
        elif isinstance(value, (np.ndarray, np.generic)):
            arr = np.asarray(value)
        else:
            raise TypeError(f"save: {name!r} is a {type(value).__name__}; expected a Tensor or a NumPy array")
        if arr.dtype.kind not in "biuf":
            raise TypeError(
                f"save: {name!r} has dtype {arr.dtype}; safetensors holds bool, integer or floating tensors"
            )
        arrays[name] = arr if arr.flags.c_contiguous else arr.copy(order="C")  # (0-d stays 0-d)
    data = _serialize(arrays, metadata={CHECKSUM: _digest(arrays)})
    _write_atomically(os.fspath(path), data)


def _write_atomically(path, data):
    """Write ``data`` to a temporary file beside ``path``, flush it to disk, then rename it over ``path``."""
    directory = os.path.dirname(os.path.abspath(path))
    tmp = os.path.join(directory, f".{os.path.basename(path)}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    try:  # make the rename itself durable (not possible on every platform)
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def load(path):
    """The tensors of the safetensors file ``path``, as an ordered dict name → Tensor.

    Raises FileNotFoundError if there is no such file and ``ValueError("<path> is corrupted: ...")``
    for a file that is not a whole, intact safetensors file.
    """
    path = os.fspath(path)
    size = os.path.getsize(path)  # (FileNotFoundError for a missing file)

    def corrupted(why):
        return ValueError(f"{path} is corrupted: {why}")

    with open(path, "rb") as f:
        head = f.read(8)
    if len(head) < 8:
        raise corrupted(f"{size} bytes, too short for a safetensors header")
    (header_len,) = struct.unpack("<Q", head)
    if header_len > size - 8:
        raise corrupted(f"the header claims {header_len} bytes but the file has {size}")
    try:
        with safe_open(path, framework="np") as f:
            metadata = f.metadata() or {}
            arrays = OrderedDict((name, f.get_tensor(name)) for name in f.keys())
    except (SafetensorError, ValueError, TypeError, OverflowError, MemoryError) as e:
        raise corrupted(str(e)) from None
    expected = metadata.get(CHECKSUM)
    if expected is not None and _digest(arrays) != expected:
        raise corrupted("the SHA-256 of its tensors does not match the one saved with them (a changed byte)")
    return OrderedDict((name, wrap(a if a.flags.writeable else a.copy())) for name, a in arrays.items())
