"""The guides run: every ```python block of docs/*.md and docs/labs/*.md is executed, so the docs cannot drift.

The blocks of one file run in order, in one namespace (as a reader types them into one session), in a
temporary working directory, with ``__name__ == "__main__"`` (so that a guide's multiprocessing guard runs
its body). A block that needs the network or minutes opts out with the marker ``<!-- no-test -->`` on the
line just before its fence. Where a guide's comments promise particular output, ``CHECKS`` below asserts it.
"""

import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
FILES = sorted(DOCS.glob("*.md")) + sorted((DOCS / "labs").glob("*.md"))
SKIP = "<!-- no-test -->"
FENCE = re.compile(r"^```python[ \t]*\n(.*?)^```", flags=re.DOTALL | re.MULTILINE)


def python_blocks(text):
    """The ```python blocks of ``text`` as (line number, source), without those marked ``<!-- no-test -->``."""
    blocks = []
    for match in FENCE.finditer(text):
        before = text[:match.start()].rstrip("\n").rsplit("\n", 1)[-1].strip()
        if before != SKIP:
            blocks.append((text.count("\n", 0, match.start()) + 2, match.group(1)))
    return blocks


def check_trainer(namespace, out):
    assert "['epoch', 'loss', 'lr', 'time']" in out
    assert "4 3\n" in out
    assert "StepLR.step() counts steps and takes no metric" in out
    assert "0.weight: checkpoint has shape (32, 2), model has (16, 2)" in out
    assert namespace["t2"].epoch == 0 and namespace["trainer"].epoch >= 2


def check_analysis(namespace, out):
    assert out.startswith("saddle -2.0 2.0 1\nsaddle 32\nminimum")
    assert pathlib.Path("flow_graph.png").exists() and pathlib.Path("mlp.svg").exists()
    assert namespace["info"]["kind"] == "minimum"
    assert namespace["alphas"][2] == 0 and namespace["alphas"][10] == 1
    assert namespace["line"][10] == namespace["loss_fn"]().item()  # the trained weights, exactly


# file name -> (at least this many blocks run, check of the namespace and the printed text)
CHECKS = {"trainer.md": (6, check_trainer), "analysis.md": (8, check_analysis)}
WITH_CODE = [f for f in FILES if python_blocks(f.read_text(encoding="utf-8"))]


def test_the_marker_and_the_fence_parser():
    text = "a\n```python\nx = 1\n```\n<!-- no-test -->\n```python\nimport urllib\n```\n```python\ny = 2\n```\n"
    assert python_blocks(text) == [(3, "x = 1\n"), (10, "y = 2\n")]
    assert set(CHECKS) <= {f.name for f in WITH_CODE}


@pytest.mark.parametrize("path", WITH_CODE, ids=[str(f.relative_to(DOCS)) for f in WITH_CODE])
def test_every_python_block_runs(path, tmp_path, monkeypatch, capsys):
    import matplotlib

    matplotlib.use("Agg")
    monkeypatch.chdir(tmp_path)
    blocks = python_blocks(path.read_text(encoding="utf-8"))
    namespace = {"__name__": "__main__"}
    name = str(path.relative_to(ROOT))
    for line, source in blocks:
        code = compile("\n" * (line - 1) + source, name, "exec")  # tracebacks point at the guide's own lines
        exec(code, namespace)  # noqa: S102 (running the guide is the test)
    if path.name in CHECKS and path.parent == DOCS:
        at_least, check = CHECKS[path.name]
        assert len(blocks) >= at_least, f"{name}: {len(blocks)} blocks, expected at least {at_least}"
        check(namespace, capsys.readouterr().out)


def test_the_reference_rewrites_rest_habits_as_markdown():
    pytest.importorskip("griffe")  # the docs extra
    import importlib.util

    spec = importlib.util.spec_from_file_location("griffe_rst", DOCS / "griffe_rst.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    text = ("See :func:`~descend.optim.schedules.cosine` and :class:`descend.nn.Linear`::\n\n    y = x Wᵀ + b\n\n"
            "It records:\n- a\n  more a\n- b\n\n"
            "=====  ======\nname   ε(t)\n=====  ======\n``c``  value\n=====  ======\n\nafter\n\n"
            "=====  =\nno     header\n=====  =\n\n**after**")
    assert module.markdown(text) == (
        "See `cosine` and `descend.nn.Linear`:\n\n    y = x Wᵀ + b\n\n"
        "It records:\n\n- a\n  more a\n- b\n\n"
        "    name   ε(t)\n    c      value\n\n\nafter\n\n    no     header\n\n\n**after**")
