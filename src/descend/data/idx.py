"""The IDX file format of MNIST: a 4-byte magic (0, 0, dtype code, ndim), ndim big-endian int32 sizes, then data."""

import gzip

import numpy as np

DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"),
          0x0E: np.dtype(">f8")}
CODES = {np.dtype(np.uint8): 0x08, np.dtype(np.int8): 0x09, np.dtype(">i2"): 0x0B, np.dtype(">i4"): 0x0C,
         np.dtype(">f4"): 0x0D, np.dtype(">f8"): 0x0E}


def _open(path, mode):
    return gzip.open(path, mode) if str(path).endswith(".gz") else open(path, mode)


def read_idx(path):
    """Read an IDX file (gzipped if the name ends in .gz) into a NumPy array of the stored shape."""
    try:
        with _open(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as e:
        raise ValueError(f"read_idx: {path} is corrupted or not an IDX file ({e})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in DTYPES:
        raise ValueError(f"read_idx: {path} is corrupted or not an IDX file (bad magic number {raw[:4]!r})")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"read_idx: {path} is corrupted (truncated header)")
    shape = tuple(int(s) for s in np.frombuffer(raw, dtype=">i4", count=ndim, offset=4))
    dtype = np.dtype(DTYPES[raw[2]])
    count = int(np.prod(shape)) if shape else 1
    if len(raw) - header != count * dtype.itemsize:
        raise ValueError(f"read_idx: {path} is corrupted (truncated: expected {count * dtype.itemsize} data bytes for "
                         f"shape {shape}, found {len(raw) - header})")
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def write_idx(path, array):
    """Write ``array`` (uint8, int8, int16, int32, float32 or float64) as an IDX file (gzipped if path ends in .gz)."""
    a = np.asarray(array)
    big = a.astype(a.dtype.newbyteorder(">")) if a.dtype.itemsize > 1 else a
    code = CODES.get(np.dtype(big.dtype))
    if code is None:
        raise TypeError(f"write_idx: dtype {a.dtype} cannot be stored in IDX; expected uint8, int8, int16, int32, "
                        f"float32 or float64")
    with _open(path, "wb") as f:
        f.write(bytes([0, 0, code, a.ndim]))
        f.write(np.asarray(a.shape, dtype=">i4").tobytes())
        f.write(big.tobytes())
