"""Checkpoints without pickle: one file ``<name>.safetensors``, written atomically, every byte checked on load.

Layout (the safetensors format, so ``safetensors.numpy.load_file`` reads the arrays too)::

    n (8 bytes, little-endian u64) | header: n bytes of JSON | the arrays' bytes, back to back

The header maps each array's name to ``{"dtype", "shape", "data_offsets": [begin, end]}`` and holds
``"__metadata__": {"format": FORMAT, "state": <JSON of the nested state>, "sha256": <hex>}``. The
SHA-256 is that of the whole file with its own 64 hex digits written as zeros, so a change to any
byte (an array, the state's JSON, the header's layout, the length) is detected.

``save_checkpoint(path, state)`` stores a nested dict of numbers, strings, lists, dicts, arrays and
Tensors (see :mod:`descend.train.state`); a checkpoint is one file replaced by one rename, so a kill
at any instant leaves the previous checkpoint or the new one. ``load_checkpoint(path)`` returns the
state; a truncated, altered or absurd file (arrays larger than the file, deeply nested JSON, any
inconsistency) raises :class:`CheckpointError` (a ValueError) saying "corrupted" with the file's
name, before allocating more than the file's own size.
"""

import hashlib
import json
import math
import os
import re

import numpy as np

from .files import atomic_write
from .state import decode, encode

FORMAT = "descend-checkpoint-2"
SUFFIX = ".safetensors"
MAX_DEPTH = 64          # nesting of the state's JSON (a trainer's state needs about 8)
MAX_DIMS = 32
DTYPES = {"BOOL": np.bool_, "U8": np.uint8, "I8": np.int8, "U16": np.uint16, "I16": np.int16, "U32": np.uint32,
          "I32": np.int32, "U64": np.uint64, "I64": np.int64, "F16": np.float16, "F32": np.float32,
          "F64": np.float64}
CODES = {np.dtype(t): code for code, t in DTYPES.items()}
_ZEROS = "0" * 64
_STRINGS = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)  # a JSON string, escapes included


class CheckpointError(ValueError):
    """A checkpoint file that is truncated, altered or not a descend checkpoint."""


def checkpoint_path(path):
    """The file of the checkpoint ``path``: ``<path>.safetensors`` (``path`` may already end in it)."""
    path = os.fspath(path)
    for ext in (SUFFIX, ".npz", ".json"):
        if path.endswith(ext):
            path = path[: -len(ext)]
            break
    return path + SUFFIX


def _legacy(path):
    """The files of a checkpoint in descend 0.1's two-file format (``<path>.npz`` + ``<path>.json``), if any."""
    base = checkpoint_path(path)[: -len(SUFFIX)]
    return [p for p in (base + ".npz", base + ".json") if os.path.exists(p)]


def checkpoint_exists(path):
    """True if a checkpoint exists at ``path`` (also one in the old two-file format, which loading then refuses)."""
    return os.path.exists(checkpoint_path(path)) or bool(_legacy(path))


def json_depth(text, chunk=1 << 16):
    """The deepest nesting of arrays and objects in the JSON ``text`` (bytes), without parsing it (in chunks, so
    that the count costs little memory)."""
    skeleton = _STRINGS.sub(b'""', text)
    depth = deepest = 0
    for start in range(0, len(skeleton), chunk):
        a = np.frombuffer(skeleton, dtype=np.uint8, count=min(chunk, len(skeleton) - start), offset=start)
        steps = ((a == ord("[")) | (a == ord("{"))).astype(np.int32) - ((a == ord("]")) | (a == ord("}")))
        level = np.cumsum(steps) + depth
        deepest, depth = max(deepest, int(level.max())), int(level[-1])
    return deepest


def _dtype_code(a, name):
    try:
        return CODES[a.dtype.newbyteorder("=")]
    except KeyError:
        raise TypeError(f"cannot store array {name!r} of dtype {a.dtype} in a checkpoint (expected bool, integer "
                        f"or floating)") from None


def serialize(state):
    """The bytes of the checkpoint file for ``state``."""
    arrays = {}
    meta = encode(state, arrays)
    state_json = json.dumps(meta, separators=(",", ":"), allow_nan=False)
    if json_depth(state_json.encode()) > MAX_DEPTH:
        raise ValueError(f"checkpoint state is nested deeper than {MAX_DEPTH} levels")
    header, blobs, offset = {}, [], 0
    for name, a in arrays.items():
        code = _dtype_code(a, name)
        blob = a.astype(a.dtype.newbyteorder("<"), copy=False).tobytes()
        header[name] = {"dtype": code, "shape": list(a.shape), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    header["__metadata__"] = {"format": FORMAT, "state": state_json, "sha256": _ZEROS}
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # arrays start 8-byte aligned (safetensors pads with spaces)
    body = bytearray(len(text).to_bytes(8, "little") + text + b"".join(blobs))
    digest = hashlib.sha256(body).hexdigest().encode()
    at = body.rfind(b'"sha256":"' + _ZEROS.encode() + b'"', 0, 8 + len(text)) + len(b'"sha256":"')
    body[at:at + 64] = digest
    return bytes(body)


def save_checkpoint(path, state):
    """Save nested ``state`` to ``<path>.safetensors`` in one atomic replace; returns the base path (no suffix)."""
    target = checkpoint_path(path)
    atomic_write(target, serialize(state))
    return target[: -len(SUFFIX)]


def _corrupted(path, why):
    return CheckpointError(f"checkpoint {path} is corrupted ({why})")


def _header(blob, path):
    if len(blob) < 8:
        raise _corrupted(path, f"{len(blob)} bytes, too short for a header")
    n = int.from_bytes(blob[:8], "little")
    if not 2 <= n <= len(blob) - 8:
        raise _corrupted(path, f"its header declares {n} bytes in a file of {len(blob)}")
    text = blob[8:8 + n]
    if json_depth(text) > MAX_DEPTH:
        raise _corrupted(path, f"its header is nested deeper than {MAX_DEPTH} levels")
    try:
        header = json.loads(text.decode("utf-8"), parse_constant=_no_constant)
    except (ValueError, UnicodeDecodeError, RecursionError) as e:
        raise _corrupted(path, f"its header is not valid JSON: {e}") from None
    meta = header.get("__metadata__") if isinstance(header, dict) else None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise _corrupted(path, f"not a {FORMAT} file")
    digest = meta.get("sha256")
    if not isinstance(digest, str) or not re.fullmatch("[0-9a-f]{64}", digest) or not isinstance(
            meta.get("state"), str):
        raise _corrupted(path, "its metadata is incomplete")
    return n, text, header, meta, digest


def _no_constant(name):
    raise ValueError(f"{name} is not JSON")


def _check_digest(blob, n, text, digest, path):
    field = b'"sha256":"' + digest.encode() + b'"'
    at = text.find(field)
    if at < 0 or text.find(field, at + 1) >= 0:
        raise _corrupted(path, "its checksum field is altered")
    at += 8 + len(b'"sha256":"')
    h = hashlib.sha256()
    view = memoryview(blob)
    h.update(view[:at])
    h.update(_ZEROS.encode())
    h.update(view[at + 64:])
    if h.hexdigest() != digest:
        raise _corrupted(path, "truncated or altered: its SHA-256 does not match")


def _arrays(blob, start, header, path):
    """Check the array table against the file (each array's bytes = its declared size, no gap, no overlap,
    nothing past the end) before making any array."""
    size = len(blob) - start
    table = []
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        if not isinstance(entry, dict) or set(entry) != {"dtype", "shape", "data_offsets"}:
            raise _corrupted(path, f"array {name!r} has a malformed entry")
        code, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
        dtype = DTYPES.get(code) if isinstance(code, str) else None
        if dtype is None:
            raise _corrupted(path, f"array {name!r} has unknown dtype {entry['dtype']!r}")
        if not (isinstance(shape, list) and len(shape) <= MAX_DIMS and
                all(type(d) is int and d >= 0 for d in shape)):
            raise _corrupted(path, f"array {name!r} has a malformed shape")
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(type(o) is int for o in offsets)):
            raise _corrupted(path, f"array {name!r} has malformed offsets")
        nbytes = np.dtype(dtype).itemsize * math.prod(shape)
        begin, end = offsets
        if not 0 <= begin <= end <= size or end - begin != nbytes:
            raise _corrupted(path, f"array {name!r} declares {nbytes} bytes at {begin}..{end} of {size}")
        table.append((begin, end, name, dtype, shape))
    table.sort()
    expected = 0
    for begin, end, name, _, _ in table:
        if begin != expected:
            raise _corrupted(path, f"array {name!r} does not follow the previous one")
        expected = end
    if expected != size:
        raise _corrupted(path, f"the arrays fill {expected} of the {size} data bytes")
    return {name: np.frombuffer(blob, dtype=np.dtype(dtype).newbyteorder("<"), count=math.prod(shape),
                                offset=start + begin).reshape(shape).astype(dtype)
            for begin, _, name, dtype, shape in table}


def load_checkpoint(path):
    """Load a checkpoint saved by :func:`save_checkpoint`; raises CheckpointError "corrupted" naming the file."""
    file = checkpoint_path(path)
    if not os.path.exists(file):
        old = _legacy(path)
        if old:
            raise CheckpointError(f"checkpoint {' + '.join(old)} is in descend 0.1's two-file format, whose JSON part "
                                  f"no checksum covers; this version reads only one-file {FORMAT} checkpoints")
        raise FileNotFoundError(f"checkpoint file {file} does not exist")
    with open(file, "rb") as f:
        blob = f.read()
    n, text, header, meta, digest = _header(blob, file)
    _check_digest(blob, n, text, digest, file)
    arrays = _arrays(blob, 8 + n, header, file)
    try:
        state_text = meta["state"].encode()
        if json_depth(state_text) > MAX_DEPTH:
            raise ValueError(f"nested deeper than {MAX_DEPTH} levels")
        return decode(json.loads(state_text, parse_constant=_no_constant), arrays)
    except (ValueError, TypeError, RecursionError) as e:   # UnicodeError and JSONDecodeError are ValueErrors
        raise _corrupted(file, f"its state is malformed: {e}") from None
