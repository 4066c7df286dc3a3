"""``mnist()`` and ``fashion_mnist()``: 28x28 grey images of 10 classes, read from IDX files.

The four files (``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``,
``t10k-labels-idx1-ubyte``, each plain or ``.gz``) are looked up in ``root``; when absent and
``download=True``, the gzipped files are downloaded into the cache directory (``root`` if given, else
``$DESCEND_CACHE``, else ``~/.cache/descend``) under ``mnist/`` or ``fashion_mnist/`` and verified
against their SHA-256 checksums. Offline, a clear error says where to put the files.
"""

import hashlib
import os
import urllib.request

import numpy as np

from .dataset import TensorDataset
from .idx import read_idx

FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
         "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}

SOURCES = {
    "mnist": {
        "mirrors": ["https://ossci-datasets.s3.amazonaws.com/mnist/", "https://storage.googleapis.com/cvdf-datasets/mnist/"],
        "sha256": {
            "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
            "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
            "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
            "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
        },
    },
    "fashion_mnist": {
        "mirrors": ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"],
        "sha256": {
            "train-images-idx3-ubyte.gz": "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
            "train-labels-idx1-ubyte.gz": "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
            "t10k-images-idx3-ubyte.gz": "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
            "t10k-labels-idx1-ubyte.gz": "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
        },
    },
}


def cache_dir(root=None):
    """The directory downloads go to: ``root``, else ``$DESCEND_CACHE``, else ``~/.cache/descend``."""
    if root is not None:
        return os.fspath(root)
    return os.environ.get("DESCEND_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "descend")


def sha256(path):
    """The SHA-256 hex digest of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def fetch(url, path):
    """Download ``url`` to ``path`` (the network access point; tests replace it)."""
    with urllib.request.urlopen(url, timeout=30) as r, open(path, "wb") as f:
        f.write(r.read())


def _find(directory, name):
    for candidate in (name, name + ".gz"):
        p = os.path.join(directory, candidate)
        if os.path.exists(p):
            return p
    return None


def _download(kind, directory, name):
    src = SOURCES[kind]
    os.makedirs(directory, exist_ok=True)
    gz = name + ".gz"
    target = os.path.join(directory, gz)
    errors = []
    for mirror in src["mirrors"]:
        tmp = target + ".part"
        try:
            fetch(mirror + gz, tmp)
        except OSError as e:
            errors.append(f"{mirror + gz}: {e}")
            continue
        digest = sha256(tmp)
        if digest != src["sha256"][gz]:
            os.remove(tmp)
            errors.append(f"{mirror + gz}: SHA-256 {digest} does not match the expected {src['sha256'][gz]}")
            continue
        os.replace(tmp, target)
        return target
    raise RuntimeError(f"{kind}: could not download {gz} (are you offline?). Tried:\n  " + "\n  ".join(errors) +
                       f"\nDownload the four {kind} IDX files by hand and put them (gzipped or not) into {directory}, "
                       f"or pass root= the directory that holds them.")


def _load(kind, root, train, download, flatten):
    base = cache_dir(root)
    directories = [base, os.path.join(base, kind)]
    out = []
    for name in FILES["train" if train else "test"]:
        path = next((p for p in (_find(d, name) for d in directories) if p), None)
        if path is None:
            if not download:
                raise FileNotFoundError(f"{kind}: {name}[.gz] not found in {' or '.join(directories)} "
                                        f"(pass download=True to fetch it)")
            path = _download(kind, os.path.join(base, kind), name)
        out.append(read_idx(path))
    images, labels = out
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise ValueError(f"{kind}: images {images.shape} and labels {labels.shape} do not match "
                         f"(expected (N, H, W) and (N,))")
    x = images.astype(np.float32) / 255.0
    if flatten:
        x = x.reshape(len(x), -1)
    return TensorDataset(x, labels.astype(np.int64))


def mnist(root=None, train=True, download=True, flatten=True):
    """MNIST handwritten digits: X (60000, 784) float32 in [0, 1] (test: 10000), t (N,) int64 in 0..9."""
    return _load("mnist", root, train, download, flatten)


def fashion_mnist(root=None, train=True, download=True, flatten=True):
    """Fashion-MNIST clothing images: X (60000, 784) float32 in [0, 1] (test: 10000), t (N,) int64 in 0..9."""
    return _load("fashion_mnist", root, train, download, flatten)
