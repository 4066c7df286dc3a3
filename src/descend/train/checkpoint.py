"""Checkpoints without pickle: ``<name>.npz`` (arrays, ``allow_pickle=False``) and ``<name>.json`` (everything
else, plus the SHA-256 of the .npz), each written atomically (temporary file, fsync, rename).

``save_checkpoint(path, state)`` stores a nested dict of numbers, strings, lists, dicts, arrays and
Tensors; ``load_checkpoint(path)`` returns it. A truncated or altered file raises ValueError saying
"corrupted" with the file's name.
"""

import hashlib
import io
import json
import os
import zipfile

import numpy as np

from .state import decode, encode

FORMAT = "descend-checkpoint-1"


def _base(path):
    path = os.fspath(path)
    for ext in (".npz", ".json"):
        if path.endswith(ext):
            return path[: -len(ext)]
    return path


def atomic_write(path, data):
    """Write bytes to ``path`` atomically: a temporary file in the same directory, fsync, rename."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    try:
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError:
        pass


def save_checkpoint(path, state):
    """Save nested ``state`` to ``path.npz`` + ``path.json`` (path may end in either); returns the base path."""
    base = _base(path)
    arrays = {}
    meta = encode(state, arrays)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    blob = buf.getvalue()
    atomic_write(base + ".npz", blob)
    doc = {"format": FORMAT, "npz_sha256": hashlib.sha256(blob).hexdigest(), "state": meta}
    atomic_write(base + ".json", json.dumps(doc).encode())
    return base


def load_checkpoint(path):
    """Load a checkpoint saved by :func:`save_checkpoint`; raises ValueError "corrupted" naming the bad file."""
    base = _base(path)
    jpath, npath = base + ".json", base + ".npz"
    for p in (jpath, npath):
        if not os.path.exists(p):
            raise FileNotFoundError(f"checkpoint file {p} does not exist")
    try:
        with open(jpath, "rb") as f:
            doc = json.loads(f.read().decode())
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise ValueError("not a descend checkpoint")
    except (ValueError, UnicodeDecodeError) as e:
        raise ValueError(f"checkpoint {jpath} is corrupted ({e})") from None
    with open(npath, "rb") as f:
        blob = f.read()
    if hashlib.sha256(blob).hexdigest() != doc["npz_sha256"]:
        raise ValueError(f"checkpoint {npath} is corrupted (truncated or altered: its SHA-256 does not match {jpath})")
    try:
        with np.load(io.BytesIO(blob), allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as e:
        raise ValueError(f"checkpoint {npath} is corrupted ({e})") from None
    return decode(doc["state"], arrays)


def checkpoint_exists(path):
    """True if both files of the checkpoint at ``path`` exist."""
    base = _base(path)
    return os.path.exists(base + ".json") and os.path.exists(base + ".npz")
