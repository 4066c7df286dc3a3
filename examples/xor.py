"""XOR, the notes' first network that needs a hidden layer.

1. Trained from scratch: a 2-2-1 network of sigmoid units, x → σ(W₂ σ(W₁ x + b₁) + b₂), squared
   error, batch gradient descent (``mode="batch"``: every step sees the 4 examples).
2. Wired by hand (``nn.logic.XOR``): threshold units h₁ = OR(x₁, x₂), h₂ = NAND(x₁, x₂),
   y = AND(h₁, h₂).

    python examples/xor.py
"""

import numpy as np

import descend as dc
from descend import data as D
from descend import nn, optim
from descend import train as T
from descend.nn import functional as F


def trained():
    dc.manual_seed(1)
    model = nn.Sequential(nn.Linear(2, 2), nn.Sigmoid(), nn.Linear(2, 1), nn.Sigmoid())
    data = D.xor()
    trainer = T.Trainer(model, F.mse_loss, optim.SGD(model.parameters(), lr=2.0, momentum=0.9),
                        metrics=["accuracy"], verbose=0)  # 1500 one-step epochs: no line per epoch
    history = trainer.fit(D.DataLoader(data, mode="batch"), epochs=1500)
    x, _ = data.tensors
    return model, history, trainer.predict(x).numpy()


def hand_wired():
    """The notes' threshold network from ``nn.logic``: y = AND(OR(x1, x2), NAND(x1, x2))."""
    from descend.nn import logic
    return logic.XOR()


def main():
    x, t = D.xor().tensors
    model, history, y = trained()
    print("XOR trained from scratch (2-2-1 sigmoid network, squared error, batch gradient descent):")
    print(f"  final loss {history['loss'][-1]:.5f}, accuracy {history['accuracy'][-1]:.2f}")
    for xi, yi in zip(x.numpy(), y[:, 0]):
        print(f"  x = {xi.astype(int)} -> y = {yi:.3f}")
    wired = hand_wired()
    with dc.no_grad():
        yw = wired(x).numpy()[:, 0]
    print("XOR wired by hand: y = AND(OR(x1, x2), NAND(x1, x2)):")
    for xi, yi in zip(x.numpy(), yw):
        print(f"  x = {xi.astype(int)} -> y = {yi:.3f}")
    assert np.array_equal(np.round(yw), t.numpy()[:, 0])


if __name__ == "__main__":
    main()
