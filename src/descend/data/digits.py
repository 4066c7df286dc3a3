"""``digits()``: the embedded default data set (UCI optical handwritten digits, 1797 images of 8x8).

Source: E. Alpaydin and C. Kaynak (1998), UCI Machine Learning Repository, doi:10.24432/C50P49,
CC BY 4.0. Shipped inside the package as ``data/digits.csv.gz`` (64 pixels 0..16, then the label).
"""

import gzip
import os

import numpy as np

from .dataset import TensorDataset

PATH = os.path.join(os.path.dirname(__file__), "digits.csv.gz")
_cache = {}


def digits(flatten=True, scale=True):
    """The 1797 digit images: X (1797, 64) float32 (or (1797, 8, 8) with ``flatten=False``), t (1797,) int64 in 0..9.

    ``scale=True`` maps pixel values 0..16 to [0, 1].
    """
    if "raw" not in _cache:
        with gzip.open(PATH, "rt") as f:
            _cache["raw"] = np.loadtxt(f, delimiter=",", dtype=np.int64)
    raw = _cache["raw"]
    x = raw[:, :64].astype(np.float32)
    if scale:
        x /= 16.0
    if not flatten:
        x = x.reshape(-1, 8, 8)
    return TensorDataset(x, raw[:, 64].copy())
