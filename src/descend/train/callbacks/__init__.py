"""Training callbacks: History, EarlyStopping, schedules, checkpoints, averaging, NaN guard, layer monitoring,
and the progress bar and epoch lines the Trainer prints."""

from .averaging import PolyakAveraging, SnapshotEnsemble
from .base import Callback
from .early_stopping import EarlyStopping
from .history import History
from .layer_monitor import LayerMonitor
from .loggers import CSVLogger, TensorBoardLogger
from .model_checkpoint import ModelCheckpoint
from .progress import EpochLogger, ProgressBar
from .schedulers import LRScheduler, ReduceLROnPlateau
from .terminate_on_nan import TerminateOnNaN

__all__ = ["Callback", "CSVLogger", "EarlyStopping", "EpochLogger", "History", "LRScheduler", "LayerMonitor",
           "ModelCheckpoint", "PolyakAveraging", "ProgressBar", "ReduceLROnPlateau", "SnapshotEnsemble",
           "TensorBoardLogger", "TerminateOnNaN"]
