"""descend.data: data sets (built in, or your own CSV/npz file), loaders in the notes' modes, splits, standardisation
and augmentation."""

from . import transforms
from .dataset import Dataset, Subset, TensorDataset, as_arrays, check_finite
from .digits import digits
from .idx import read_idx, write_idx
from .loader import DataLoader
from .vision import cache_dir, fashion_mnist, mnist
from .split import random_split, train_val_test_split
from .standardize import Standardize
from .synthetic import circles, logic_gate, spirals, two_moons, xor
from .table import Table, encode_labels, read_csv, read_inputs, read_npz

__all__ = ["Dataset", "TensorDataset", "Subset", "DataLoader", "random_split", "train_val_test_split", "Standardize",
           "transforms", "xor", "logic_gate", "two_moons", "spirals", "circles", "digits", "mnist", "fashion_mnist",
           "read_idx", "write_idx", "as_arrays", "check_finite", "cache_dir", "Table", "read_csv", "read_npz",
           "read_inputs", "encode_labels"]
