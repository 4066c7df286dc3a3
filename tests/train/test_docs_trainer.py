"""Every Python block of docs/trainer.md runs, in order, in one namespace, and prints what its comments say."""

import contextlib
import io
import pathlib
import re

DOC = pathlib.Path(__file__).resolve().parents[2] / "docs" / "trainer.md"


def test_docs_trainer_code_blocks_run(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.DOTALL)
    assert len(blocks) >= 6
    namespace = {}
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        for block in blocks:
            exec(compile(block, str(DOC), "exec"), namespace)  # noqa: S102 (running the guide is the test)
    text = out.getvalue()
    assert "['epoch', 'loss', 'lr', 'time']" in text
    assert "4 3\n" in text
    assert "StepLR.step() counts steps and takes no metric" in text
    assert "0.weight: checkpoint has shape (32, 2), model has (16, 2)" in text
    assert namespace["t2"].epoch == 0 and namespace["trainer"].epoch >= 2
