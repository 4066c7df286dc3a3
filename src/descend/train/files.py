"""Files that survive a kill: atomic writes, strict JSON, and the named points where a test may kill us.

- :func:`atomic_write` writes a temporary file ``.<name>.<pid>.tmp`` beside the target, fsyncs it,
  renames it over the target and fsyncs the directory: a reader sees the old file or the new one,
  never a mixture. A kill leaves at most the temporary file, which the next write of the same file
  deletes (its process is gone), as does :func:`remove_temporaries` when a run starts again (under the
  run directory's lock).
- :func:`strict_json` is ``json.dumps`` that never writes NaN or Infinity (RFC 8259 has neither):
  non-finite floats become ``null``.
- :func:`kill_point` is the kill drill's hook: with ``DESCEND_KILL_AT="<point>:<k>"`` in the
  environment, the k-th time this process passes ``<point>`` it sends itself SIGKILL (a test aims
  kills at the inside of a write this way). Without the variable it does nothing.
"""

import json
import math
import os
import signal

TEMP_SUFFIX = ".tmp"
_hits = {}


def kill_point(point):
    """SIGKILL this process the k-th time it reaches ``point`` if ``DESCEND_KILL_AT`` is ``"<point>:<k>"``."""
    aim = os.environ.get("DESCEND_KILL_AT")
    if not aim:
        return
    name, _, k = aim.rpartition(":")
    if name != point:
        return
    _hits[point] = _hits.get(point, 0) + 1
    if _hits[point] == int(k):
        os.kill(os.getpid(), signal.SIGKILL)


def fsync_directory(directory):
    """Make a rename inside ``directory`` durable (no-op where directories cannot be opened)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def temporary_path(path):
    """The temporary file :func:`atomic_write` uses for ``path``: ``<dir>/.<name>.<pid>.tmp``."""
    directory, name = os.path.split(os.path.abspath(path))
    return os.path.join(directory, f".{name}.{os.getpid()}{TEMP_SUFFIX}")


def atomic_write(path, data):
    """Replace the file ``path`` by ``data`` (bytes) atomically: temporary file, fsync, rename, fsync of the directory
    (made first if missing).

    Kill points (see :func:`kill_point`): ``<name>:partial`` (half the bytes written), ``<name>:written``
    (temporary complete, not renamed), ``<name>:renamed`` (renamed, directory not yet synced).
    """
    path = os.fspath(path)
    directory, name = os.path.split(os.path.abspath(path))
    tmp = temporary_path(path)
    os.makedirs(directory, exist_ok=True)
    _remove_orphans(directory, name)
    try:
        with open(tmp, "wb") as f:
            half = len(data) // 2
            f.write(data[:half])
            if os.environ.get("DESCEND_KILL_AT"):
                f.flush()
                kill_point(f"{name}:partial")
            f.write(data[half:])
            f.flush()
            os.fsync(f.fileno())
        kill_point(f"{name}:written")
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    kill_point(f"{name}:renamed")
    fsync_directory(directory)


def process_alive(pid):
    """True if a process ``pid`` exists on this machine."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_orphans(directory, name):
    """Delete the temporaries of ``name`` that processes which no longer exist left behind."""
    prefix = f".{name}."
    for entry in os.listdir(directory):
        pid = entry[len(prefix):-len(TEMP_SUFFIX)]
        if entry.startswith(prefix) and entry.endswith(TEMP_SUFFIX) and pid.isdigit() and not process_alive(int(pid)):
            try:
                os.remove(os.path.join(directory, entry))
            except FileNotFoundError:
                pass


def remove_temporaries(directory):
    """Delete the leftovers of interrupted :func:`atomic_write` calls in ``directory`` (``.*.tmp`` files).

    Call it only where no other process writes (the run directory, under its lock). Returns the names removed.
    """
    removed = []
    if not os.path.isdir(directory):
        return removed
    for name in os.listdir(directory):
        p = os.path.join(directory, name)
        if name.startswith(".") and name.endswith(TEMP_SUFFIX) and os.path.isfile(p):
            os.remove(p)
            removed.append(name)
    return removed


def finite_or_none(obj):
    """``obj`` with every non-finite float (NaN, ±Infinity) replaced by None, recursively through dicts and lists."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: finite_or_none(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [finite_or_none(v) for v in obj]
    if hasattr(obj, "item") and getattr(obj, "ndim", None) == 0:  # NumPy scalars
        return finite_or_none(obj.item())
    return obj


def strict_json(obj, indent=None):
    """RFC 8259 JSON text of ``obj``: non-finite floats become ``null`` (never ``NaN``/``Infinity``)."""
    return json.dumps(finite_or_none(obj), indent=indent, allow_nan=False)
