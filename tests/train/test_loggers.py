"""CSVLogger and TensorBoardLogger: what they write, read back; exactly once per epoch across a resume."""

import csv
import glob
import os
import struct

import numpy as np
import pytest

import descend as dc
from descend import data as D
from descend import nn, optim
from descend import train as T
from descend.nn import functional as F


def _setup(callbacks, seed=0):
    dc.manual_seed(seed)
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(64, 4)).astype(np.float32)
    t = (x[:, 0] > 0).astype(np.int64)
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 2))
    trainer = T.Trainer(model, F.cross_entropy, optim.SGD(model.parameters(), lr=0.1), callbacks=callbacks,
                        verbose=0)
    loader = D.DataLoader(D.TensorDataset(x, t), batch_size=16, shuffle=True, seed=1)
    return trainer, loader, (x[:16], t[:16])


def _rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_csv_logger_rows_and_header(tmp_path):
    path = tmp_path / "log.csv"
    trainer, loader, val = _setup([T.callbacks.CSVLogger(path)])
    trainer.fit(loader, val=val, epochs=3)
    rows = _rows(path)
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3]
    assert {"loss", "accuracy", "val_loss", "val_accuracy", "lr"} <= set(rows[0])
    hist = trainer.history.history
    np.testing.assert_allclose([float(r["val_loss"]) for r in rows], hist["val_loss"], rtol=1e-12)
    assert [float(r["lr"]) for r in rows] == [0.1] * 3


def test_csv_logger_keeps_each_epoch_once_across_a_resume(tmp_path):
    path, ckpt = tmp_path / "log.csv", tmp_path / "ckpt"
    trainer, loader, val = _setup([T.callbacks.CSVLogger(path)])
    trainer.fit(loader, val=val, epochs=2)
    trainer.save_checkpoint(ckpt)
    trainer.fit(loader, val=val, epochs=2)  # epochs 3 and 4, then "lost"
    resumed, loader2, _ = _setup([T.callbacks.CSVLogger(path)])
    resumed.load_checkpoint(ckpt)
    resumed.fit(loader2, val=val, epochs=1)
    assert [int(r["epoch"]) for r in _rows(path)] == [1, 2, 3]


def test_csv_logger_bad_separator():
    with pytest.raises(ValueError, match="separator"):
        T.callbacks.CSVLogger("x.csv", separator=";;")


# ------------------------------------------------------------------ TensorBoard
def read_events(log_dir):
    """Every (tag, step, kind, value) in the TFRecord event files of ``log_dir``."""
    event_pb2 = pytest.importorskip("tensorboardX.proto.event_pb2")
    out = []
    for path in sorted(glob.glob(os.path.join(log_dir, "events.out.tfevents.*"))):
        with open(path, "rb") as f:
            data = f.read()
        i = 0
        while i < len(data):
            (n,) = struct.unpack("<Q", data[i:i + 8])
            event = event_pb2.Event.FromString(data[i + 12:i + 12 + n])
            i += 12 + n + 4
            for v in event.summary.value:
                if v.HasField("histo"):
                    out.append((v.tag, event.step, "histo", (v.histo.num, v.histo.min, v.histo.max)))
                else:
                    out.append((v.tag, event.step, "scalar", v.simple_value))
    return out


def test_tensorboard_scalars_histograms_and_lr(tmp_path):
    pytest.importorskip("tensorboardX")
    trainer, loader, val = _setup([T.callbacks.TensorBoardLogger(tmp_path)])
    trainer.fit(loader, val=val, epochs=2)
    events = read_events(tmp_path)
    batch = [(s, v) for tag, s, k, v in events if tag == "batch/loss"]
    assert [s for s, _ in batch] == list(range(1, 9))  # 4 batches per epoch, global steps 1..8
    epoch_loss = [(s, v) for tag, s, k, v in events if tag == "epoch/loss"]
    assert [s for s, _ in epoch_loss] == [4, 8]
    np.testing.assert_allclose([v for _, v in epoch_loss], trainer.history.history["loss"], rtol=1e-6)
    assert [v for tag, s, k, v in events if tag == "epoch/lr"] == pytest.approx([0.1, 0.1])
    assert any(tag == "epoch/val_accuracy" for tag, *_ in events)
    w = [v for tag, s, k, v in events if tag == "weights/0.weight" and s == 8]
    p = trainer.model[0].weight.numpy()
    assert w and w[0][0] == p.size and w[0][1] == pytest.approx(p.min()) and w[0][2] == pytest.approx(p.max())
    assert any(tag == "gradients/2.bias" for tag, *_ in events)


def test_tensorboard_logger_checks_arguments():
    pytest.importorskip("tensorboardX")
    with pytest.raises(ValueError, match="histogram_every"):
        T.callbacks.TensorBoardLogger("x", histogram_every=-1)
