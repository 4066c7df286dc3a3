"""Your own data from a file: a CSV table or the arrays of an ``.npz`` archive, as examples (x_n, t_n).

- ``read_csv(path, label="", task="classification")``: comma-separated values, one example per line,
  with an optional header line (the first line is a header when it holds a name where the line
  below holds a number). Every column but the label is a feature and must hold numbers; the label
  is the column named ``label`` (header needed) or, with ``label=""``, the last column.
- ``read_npz(path, x="x", y="y", task="classification")``: the inputs are the array named ``x``
  (N, ...), flattened to rows (N, F); the labels or targets the array named ``y``.

For ``task="classification"`` the labels (integers or strings) become class indices
t_n ∈ {0, ..., C-1} in sorted order of the labels, and ``Table.classes[t_n]`` gives the original label
back; for ``task="regression"`` the targets are numbers, (N, k) with k target columns. Inputs are
float32 (the default dtype); a missing value, NaN or infinity, a non-numeric feature or a row of the
wrong length raises ValueError naming the file, the line and the column.

``read_inputs(path, n_in, ...)`` reads the rows to predict from a CSV (with or without its label
column), an ``.npy`` array or an ``.npz`` archive.
"""

import csv
import difflib
import os
import warnings
import zipfile
from dataclasses import dataclass

import numpy as np

from .dataset import TensorDataset

TASKS = ("classification", "regression")


@dataclass(frozen=True)
class Table:
    """Examples read from a file.

    ``x``: inputs (N, F) float32. ``t``: class indices (N,) int64 for classification, targets (N, k)
    float32 for regression. ``classes``: the original labels in class-index order (None for
    regression). ``columns``: the features' names in the CSV header (None without one, or for npz).
    ``label``: the label column's name (None without a header); ``label_index``: its position among
    the CSV's columns (None for npz).
    """

    x: np.ndarray
    t: np.ndarray
    classes: tuple = None
    columns: tuple = None
    label: str = None
    label_index: int = None

    def dataset(self):
        """The examples as a TensorDataset (x, t)."""
        return TensorDataset(self.x, self.t)


def _check_task(task):
    if task not in TASKS:
        raise ValueError(f"task={task!r}; expected one of {', '.join(TASKS)}")


# ---------------------------------------------------------------------------- CSV
def _is_number(cell):
    """True if NumPy's CSV parser reads ``cell`` as a number (Python's float() also takes '1_000'; NumPy does not)."""
    cell = cell.strip()
    try:
        float(cell)
    except ValueError:
        return False
    return "_" not in cell


def _rows(path):
    """(line number, fields) of the non-empty lines of the CSV file ``path``."""
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f)
        for fields in reader:
            if any(c.strip() for c in fields):
                yield reader.line_num, fields


def _data_rows(path, header):
    """:func:`_rows` without the header line."""
    rows = _rows(path)
    if header is not None:
        next(rows)
    return rows


def _open_csv(path):
    """Check that ``path`` is a readable CSV file; return its header (a list of names, or None) and its column count."""
    if not os.path.exists(path):
        raise ValueError(f"{path} does not exist")
    if os.path.isdir(path):
        raise ValueError(f"{path} is a directory; expected a CSV file")
    first = []
    try:
        for _, fields in _rows(path):
            first.append(fields)
            if len(first) == 2:
                break
    except UnicodeDecodeError:
        raise ValueError(f"{path} is not a text (UTF-8) CSV file") from None
    except csv.Error as e:
        raise ValueError(f"{path}: not a valid CSV file ({e})") from None
    if not first:
        raise ValueError(f"{path} is empty")
    head = first[0]
    below = first[1] if len(first) > 1 else head
    if not any(not _is_number(a) and (_is_number(b) or len(first) == 1) for a, b in zip(head, below)):
        return None, len(head)
    names = [h.strip() for h in head]
    for k, name in enumerate(names):
        if not name:
            raise ValueError(f"{path}: column {k + 1} of the header line has no name (an index written by pandas' "
                             f"to_csv? write the file with index=False)")
        if name in names[:k]:
            raise ValueError(f"{path}: the header line names the column {name!r} twice")
    return names, len(names)


def _label_index(path, header, ncols, label):
    if not label:
        return ncols - 1
    if header is None:
        raise ValueError(f"{path} has no header line, so no column is named {label!r}; add a header line or leave the "
                         f"label unnamed (then it is the last column)")
    if label in header:
        return header.index(label)
    close = difflib.get_close_matches(label, header, n=1, cutoff=0.6) or \
        [h for h in header if h.lower() == label.lower()]
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise ValueError(f"{path} has no column named {label!r}{hint} (columns: {', '.join(header)})")


def _column(header, j):
    return f"column {header[j]!r}" if header is not None else f"column {j + 1}"


def _bad_cell(path, header, ncols, numeric, label=None):
    """The message for the first row of the wrong length, or the first cell of the columns ``numeric`` that is not a
    number, or the first empty cell of the column ``label``; None if there is none. A slow pass, run only after the
    fast one failed."""
    for line, fields in _data_rows(path, header):
        if len(fields) != ncols:
            return f"{path}, line {line}: {len(fields)} values, expected {ncols} as in the first line"
        for j in numeric:
            cell = fields[j].strip()
            what = "regression target" if j == label else "feature"
            if not cell:
                return f"{path}, line {line}, {_column(header, j)}: missing value (every {what} needs a number)"
            if not _is_number(cell):
                extra = " (encode categories as numbers first)" if j != label else ""
                return (f"{path}, line {line}, {_column(header, j)}: {cell!r} is not a number; every {what} must be a "
                        f"number{extra}")
        if label is not None and not fields[label].strip():
            return f"{path}, line {line}, {_column(header, label)}: missing label"
    return None


def _not_finite(path, header, values, cols, what):
    """The message for the first NaN or infinity in ``values`` (N, len(cols)), naming its line, or None."""
    bad = ~np.isfinite(values)
    if not bad.any():
        return None
    i, k = (int(v) for v in np.argwhere(bad)[0])
    line = next(line for n, (line, _) in enumerate(_data_rows(path, header)) if n == i)
    return f"{path}, line {line}, {_column(header, cols[k])}: {values[i, k]} ({what} must be finite numbers)"


def _numbers(path, header, usecols=None):
    """The cells of every data row (the columns ``usecols``, or all) as float64 (N, ·), read by NumPy's C parser;
    ValueError if a cell is not a number or (without ``usecols``) rows differ in length."""
    with warnings.catch_warnings():   # "input contained no data": a header and no rows, which the callers report
        warnings.simplefilter("ignore", UserWarning)
        return np.loadtxt(path, delimiter=",", skiprows=1 if header is not None else 0, usecols=usecols,
                          dtype=np.float64, comments=None, quotechar='"', ndmin=2, encoding="utf-8-sig")


def _parse(path, header, ncols, numeric, label=None):
    """Every cell as float64 (N, ncols) if all are numbers (NumPy's C parser, one pass); otherwise None once a slow
    pass has found every row of ncols values, the columns ``numeric`` numbers and no empty cell in the column
    ``label`` (else ValueError naming the first bad line and column)."""
    try:
        cells = _numbers(path, header)
        if cells.shape[1] == ncols:
            return cells
    except ValueError:
        pass
    message = _bad_cell(path, header, ncols, numeric, label)
    if message is not None:
        raise ValueError(message)
    return None


def read_csv(path, label="", task="classification"):
    """The :class:`Table` of the CSV file ``path``: the column ``label`` (or the last one) is the label, every other
    column a feature. Raises ValueError naming the file, line and column of anything it cannot use."""
    _check_task(task)
    path = os.fspath(path)
    header, ncols = _open_csv(path)
    if ncols < 2:
        raise ValueError(f"{path} has 1 column; expected feature columns and a label column")
    j = _label_index(path, header, ncols, label)
    features = [k for k in range(ncols) if k != j]
    cells = _parse(path, header, ncols, features + [j] if task == "regression" else features, j)
    if cells is not None:
        x, labels = cells[:, features], cells[:, j]
    else:   # labels that are names
        x = _numbers(path, header, features)
        labels = np.array([fields[j].strip() for _, fields in _data_rows(path, header)])
    if len(x) == 0:
        raise ValueError(f"{path} holds a header line and no rows")
    message = _not_finite(path, header, x, features, "features")
    if message:
        raise ValueError(message)
    if task == "regression":
        message = _not_finite(path, header, labels.reshape(-1, 1), [j], "regression targets")
        if message:
            raise ValueError(message)
        t, classes = labels.astype(np.float32).reshape(-1, 1), None
    else:
        t, classes = encode_labels(labels, f"{path}, {_column(header, j)}")
    return Table(x.astype(np.float32), t, classes, None if header is None else tuple(header[k] for k in features),
                 None if header is None else header[j], j)


def encode_labels(labels, where):
    """(t, classes): class indices t (N,) int64 into the sorted distinct labels ``classes`` (a tuple of Python ints or
    strings). ``labels``: integers, integral floats, or strings (strings that are all integers count as integers).
    Raises ValueError (naming ``where``) for non-integral numbers, NaN, or a single class."""
    labels = np.asarray(labels).reshape(-1)
    if labels.dtype.kind in "US":
        labels = labels.astype(str)
        try:
            labels = labels.astype(np.int64)
        except (ValueError, OverflowError):
            pass
    if labels.dtype.kind == "f":
        if not np.isfinite(labels).all():
            raise ValueError(f"{where}: a label is NaN or infinite")
        fractional = labels[labels != np.round(labels)]
        if len(fractional):
            raise ValueError(f"{where}: labels such as {fractional[0]} are not integers; classes are integers or "
                             f"names (for numbers to predict, use task='regression')")
        labels = labels.astype(np.int64)
    elif labels.dtype.kind == "b":
        labels = labels.astype(np.int64)
    elif labels.dtype.kind not in "iuU":
        raise ValueError(f"{where}: labels of dtype {labels.dtype}; expected integers or strings")
    classes, t = np.unique(labels, return_inverse=True)
    if len(classes) < 2:
        raise ValueError(f"{where}: every label is {classes[0].item()!r}; classification needs at least 2 classes")
    return t.astype(np.int64).reshape(-1), tuple(c.item() for c in classes)


# ---------------------------------------------------------------------------- npz
def _open_npz(path):
    path = os.fspath(path)
    if not os.path.exists(path):
        raise ValueError(f"{path} does not exist")
    try:
        archive = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
        raise ValueError(f"{path} is not a readable .npz archive (" + " ".join(str(e).split()) + ")") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise ValueError(f"{path} holds one array, not an .npz archive of named arrays (np.savez(path, x=..., y=...))")
    return archive


def _array(archive, path, name, role):
    if name not in archive.files:
        close = difflib.get_close_matches(name, archive.files, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"{path} has no array named {name!r} for the {role}{hint} (arrays: "
                         f"{', '.join(archive.files) or 'none'})")
    try:
        return archive[name]
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
        raise ValueError(f"{path}: array {name!r} cannot be read (" + " ".join(str(e).split()) + ")") from None


def as_rows(x, where, dtype=np.float32):
    """``x`` (N, ...) of numbers as finite rows (N, F) of ``dtype`` ((N,) counts as one feature); ValueError naming
    ``where`` for anything else (strings, objects, NaN or infinity, no rows)."""
    x = np.asarray(x)
    if x.dtype.kind not in "biuf":
        raise ValueError(f"{where}: an array of {x.dtype}; expected numbers")
    if x.ndim == 0 or len(x) == 0:
        raise ValueError(f"{where} holds no examples (shape {x.shape})")
    rows = x.reshape(len(x), -1)
    if rows.dtype.kind == "f":
        bad = ~np.isfinite(rows).all(axis=1)
        if bad.any():
            i = int(np.argmax(bad))
            raise ValueError(f"{where}: row {i + 1} (index {i}) holds NaN or infinite values")
    return rows.astype(dtype)


def read_npz(path, x="x", y="y", task="classification"):
    """The :class:`Table` of the ``.npz`` archive ``path``: inputs from the array ``x``, labels (targets) from ``y``."""
    _check_task(task)
    path = os.fspath(path)
    with _open_npz(path) as archive:
        inputs, labels = _array(archive, path, x, "inputs"), _array(archive, path, y, "labels")
    rows = as_rows(inputs, f"{path}, array {x!r}")
    if labels.ndim == 0 or len(labels) != len(rows):
        raise ValueError(f"{path}: array {y!r} has shape {labels.shape}; expected one label per example of {x!r} "
                         f"({len(rows)})")
    if task == "regression":
        t = as_rows(labels, f"{path}, array {y!r}")
        return Table(rows, t)
    if labels.ndim > 2 or (labels.ndim == 2 and labels.shape[1] != 1):
        raise ValueError(f"{path}: array {y!r} has shape {labels.shape}; expected one class label per example (N,)")
    t, classes = encode_labels(labels, f"{path}, array {y!r}")
    return Table(rows, t, classes)


# ---------------------------------------------------------------------------- inputs to predict
def _select(path, header, ncols, n_in, columns, label, label_index):
    """Indices of the feature columns of a CSV whose header is ``header`` (or None) and which has ``ncols`` columns."""
    if header is not None and columns is not None:
        missing = [c for c in columns if c not in header]
        if missing:
            close = difflib.get_close_matches(missing[0], header, n=1, cutoff=0.6)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ValueError(f"{path} has no column {missing[0]!r}{hint}; the model's features: {', '.join(columns)}")
        extra = [h for h in header if h not in columns and h != label]
        if extra:
            raise ValueError(f"{path}: column {extra[0]!r} is not one of the model's features ({', '.join(columns)})")
        return [header.index(c) for c in columns]
    if ncols == n_in:
        return list(range(n_in))
    if label_index is not None and ncols == n_in + 1:
        return [k for k in range(ncols) if k != label_index]
    with_label = f" (or {n_in + 1} with the label column)" if label_index is not None else ""
    raise ValueError(f"{path}: rows of {ncols} values; the model takes {n_in} inputs per row{with_label}")


def read_inputs(path, n_in, columns=None, label=None, label_index=None, x="x"):
    """The rows to predict, (N, n_in) float64, in the units of the training data.

    ``path``: ``.npy`` (N, ...) flattened to rows, ``.npz`` (its array ``x``), or CSV with an optional
    header line. A CSV with a header is matched to the training features by name when ``columns``
    (their names) is known, its ``label`` column being ignored; otherwise the columns are taken in
    order, n_in of them, or n_in + 1 with the label at ``label_index``, which is dropped.
    """
    path = os.fspath(path)
    if path.endswith((".npy", ".npz")):
        if not os.path.exists(path):
            raise ValueError(f"{path} does not exist")
        if path.endswith(".npz"):
            with _open_npz(path) as archive:
                array = _array(archive, path, x, "inputs")
        else:
            try:
                array = np.load(path, allow_pickle=False)
            except (OSError, ValueError, EOFError) as e:
                raise ValueError(f"{path} is not a readable .npy array (" + " ".join(str(e).split()) + ")") from None
        rows = as_rows(array, path, np.float64)
        if rows.shape[1] != n_in:
            raise ValueError(f"{path}: rows of {rows.shape[1]} values; the model takes {n_in} inputs per row")
        return rows
    header, ncols = _open_csv(path)
    cols = _select(path, header, ncols, n_in, columns, label, label_index)
    cells = _parse(path, header, ncols, cols)
    values = cells[:, cols] if cells is not None else _numbers(path, header, cols)
    if len(values) == 0:
        raise ValueError(f"{path} holds no rows")
    message = _not_finite(path, header, values, cols, "inputs")
    if message:
        raise ValueError(message)
    return values
