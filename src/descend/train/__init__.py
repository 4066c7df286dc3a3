"""descend.train: the Trainer, callbacks, checkpoints, monitoring, sanity checks and run configuration."""

from .callbacks import (Callback, EarlyStopping, History, LayerMonitor, LRScheduler, ModelCheckpoint, PolyakAveraging,
                        ReduceLROnPlateau, SnapshotEnsemble, TerminateOnNaN)
from .checkpoint import load_checkpoint, save_checkpoint
from .metrics import accuracy, mse
from .perceptron import PerceptronResult, perceptron
from .sanity import SanityReport, sanity_check
from .trainer import Trainer, needs_closure

__all__ = ["Trainer", "Callback", "History", "EarlyStopping", "LRScheduler", "ReduceLROnPlateau", "ModelCheckpoint",
           "PolyakAveraging", "SnapshotEnsemble", "TerminateOnNaN", "LayerMonitor", "sanity_check", "SanityReport",
           "save_checkpoint", "load_checkpoint", "accuracy", "mse", "needs_closure", "perceptron", "PerceptronResult"]
