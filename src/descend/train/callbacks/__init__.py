"""Training callbacks: History, EarlyStopping, schedules, checkpoints, averaging, NaN guard, layer monitoring."""

from .averaging import PolyakAveraging, SnapshotEnsemble
from .base import Callback
from .early_stopping import EarlyStopping
from .history import History
from .layer_monitor import LayerMonitor
from .loggers import CSVLogger, TensorBoardLogger
from .model_checkpoint import ModelCheckpoint
from .schedulers import LRScheduler, ReduceLROnPlateau
from .terminate_on_nan import TerminateOnNaN

__all__ = ["Callback", "History", "EarlyStopping", "LRScheduler", "ReduceLROnPlateau", "ModelCheckpoint",
           "PolyakAveraging", "SnapshotEnsemble", "TerminateOnNaN", "LayerMonitor",
           "CSVLogger", "TensorBoardLogger"]
