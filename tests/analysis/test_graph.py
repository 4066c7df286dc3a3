"""dc.draw_graph: the flow graph of boxes as DOT, and pictures drawn without Graphviz."""

import re

import numpy as np
import pytest

import descend as dc
import descend.nn.functional as F
from descend import nn
from descend.analysis.graph import flow_graph


def _notes_example():
    x1 = dc.tensor(2.0, dtype=dc.float64, requires_grad=True)
    x2 = dc.tensor(5.0, dtype=dc.float64, requires_grad=True)
    return x1, x2, x1.log() + x1 * x2 - x2.sin()


def _boxes(dot):
    return re.findall(r'label="([^"\\]*)\\n[^"]*", shape=box', dot)


def test_notes_example_has_exactly_its_five_boxes():
    x1, x2, f = _notes_example()
    dot = dc.draw_graph(f, names={"x1": x1, "x2": x2})
    assert sorted(_boxes(dot)) == ["Add", "Log", "Mul", "Sin", "Sub"]
    assert dot.count("shape=ellipse") == 2 and 'label="x1\\n()"' in dot and 'label="x2\\n()"' in dot
    g = flow_graph(f, names={x1: "x1", x2: "x2"})
    edges = {(g.labels[s].split("\n")[0], g.labels[t].split("\n")[0]) for s, t in g.edges}
    assert edges == {("x1", "Log"), ("x1", "Mul"), ("x2", "Mul"), ("x2", "Sin"), ("Log", "Add"), ("Mul", "Add"),
                     ("Add", "Sub"), ("Sin", "Sub")}  # in the data's direction
    assert g.labels[g.root].startswith("Sub")


def test_mlp_graph_names_its_layers_and_shapes():
    dc.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    x = dc.randn(5, 4)
    loss = F.cross_entropy(model(x), dc.tensor([0, 1, 2, 0, 1]))
    dot = dc.draw_graph(loss, model=model, names={"x": x})
    for name, shape in [("0.weight", "(8, 4)"), ("0.bias", "(8,)"), ("2.weight", "(3, 8)"), ("2.bias", "(3,)"),
                        ("x", "(5, 4)")]:
        assert f'label="{name}\\n{shape}"' in dot
    assert 'label="Linear\\n(5, 8)"' in dot and 'label="Linear\\n(5, 3)"' in dot
    assert len(_boxes(dot)) == 4  # Linear, ReLU, Linear, CrossEntropy


def test_pictures_are_drawn_without_graphviz(tmp_path):
    x1, x2, f = _notes_example()
    dot = dc.draw_graph(f, tmp_path / "f.svg", names={"x1": x1, "x2": x2})
    svg = (tmp_path / "f.svg").read_text()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    assert dc.draw_graph(f, tmp_path / "f.png") == dc.draw_graph(f)
    assert (tmp_path / "f.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    dc.draw_graph(f, tmp_path / "f.dot")
    assert (tmp_path / "f.dot").read_text() == dc.draw_graph(f)
    assert dot.startswith("digraph flow_graph {")
    assert not any(p.name.startswith("f.") and ".tmp" in p.name for p in tmp_path.iterdir())


def test_a_deeper_graph_lays_out_and_constants_show_their_value(tmp_path):
    x = dc.tensor(np.linspace(-1, 1, 6), requires_grad=True)
    two = dc.tensor(2.0)  # a one-element constant tensor (a Python 2 would be an option of a scalar box)
    h = x
    for i in range(6):
        h = (h * two + x).tanh() if i % 2 else h.exp() - x
    y = h.sum()
    dot = dc.draw_graph(y, tmp_path / "deep.png", names={"x": x})
    assert len(_boxes(dot)) == 1 + 3 * 3 + 2 * 3
    assert 'label="2\\n()"' in dot  # the constant factor
    assert (tmp_path / "deep.png").stat().st_size > 1000


def test_a_freed_graph_says_so_and_bad_input():
    x1, _, f = _notes_example()
    f.backward()
    assert "Sub (freed)" in dc.draw_graph(f)
    assert dc.draw_graph(x1).count("shape=ellipse") == 1  # a leaf alone
    with pytest.raises(TypeError, match="expected the Tensor"):
        dc.draw_graph(3.0)
    with pytest.raises(ValueError, match="must end in .svg, .png"):
        dc.draw_graph(x1, "graph.jpeg")
    with pytest.raises(TypeError, match="named_parameters"):
        dc.draw_graph(x1, model=object())
