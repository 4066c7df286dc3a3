"""dc.summary: the layer table (output shapes, parameter counts, totals), as torchinfo prints it."""

import pytest

import descend as dc
from descend import nn


def test_mlp_rows_shapes_and_counts():
    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Dropout(0.2), nn.Linear(256, 10))
    model.train()
    s = dc.summary(model, (3, 784))
    assert [(r.name, r.kind, r.depth, r.output_shape, r.parameters) for r in s.rows] == [
        ("", "Sequential", 0, (3, 10), 0),
        ("0", "Linear", 1, (3, 256), 784 * 256 + 256),
        ("1", "ReLU", 1, (3, 256), 0),
        ("2", "Dropout", 1, (3, 256), 0),
        ("3", "Linear", 1, (3, 10), 256 * 10 + 10),
    ]
    assert s.total_params == s.trainable_params == 784 * 256 + 256 + 2570
    assert model.training  # mode restored
    text = str(s)
    assert "Total params: 203,530" in text and "(3, 256)" in text and "Linear" in text


def test_conv_net_with_batchnorm_nested_and_frozen():
    model = nn.Sequential(nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                                        nn.MaxPool2d(2)), nn.Flatten(), nn.Linear(4 * 4 * 4, 10))
    model[0][0].bias.requires_grad_(False)
    s = dc.summary(model, (2, 1, 8, 8))
    rows = {r.name: r for r in s.rows}
    assert rows["0"].depth == 1 and rows["0.0"].depth == 2
    assert rows["0.0"].output_shape == (2, 4, 8, 8) and rows["0.3"].output_shape == (2, 4, 4, 4)
    assert rows["0.1"].parameters == 8  # weight and bias; running statistics are buffers, not parameters
    assert s.total_params == 4 * 9 + 4 + 8 + 64 * 10 + 10
    assert s.non_trainable_params == 4


def test_shared_parameter_counted_once():
    lin = nn.Linear(5, 5)
    model = nn.Sequential(lin, nn.Tanh(), lin)
    s = dc.summary(model, (1, 5))
    assert s.total_params == 30 and sum(r.parameters for r in s.rows) == 30


@pytest.mark.parametrize("shape", [(), (0, 3), (2.5,), "784"])
def test_bad_input_shape(shape):
    with pytest.raises(ValueError, match="input_shape"):
        dc.summary(nn.Linear(3, 2), shape)


def test_not_a_module():
    with pytest.raises(TypeError, match="must be a descend.nn.Module"):
        dc.summary(lambda x: x, (1, 3))
