"""Every Python block of docs/analysis.md runs (in order, in one namespace, in a temporary directory)."""

import os
import re

DOC = os.path.join(os.path.dirname(__file__), "..", "..", "docs", "analysis.md")


def test_every_python_block_of_the_analysis_guide_runs(tmp_path, monkeypatch, capsys):
    with open(DOC, encoding="utf-8") as f:
        blocks = re.findall(r"```python\n(.*?)```", f.read(), flags=re.DOTALL)
    assert len(blocks) >= 8
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "docs_analysis"}
    for i, block in enumerate(blocks):
        exec(compile(block, f"docs/analysis.md block {i + 1}", "exec"), namespace)
    printed = capsys.readouterr().out
    assert printed.startswith("saddle -2.0 2.0 1\nsaddle 32\nminimum")
    assert (tmp_path / "flow_graph.png").exists() and (tmp_path / "mlp.svg").exists()
    assert namespace["info"]["kind"] == "minimum"
    assert namespace["alphas"][2] == 0 and namespace["alphas"][10] == 1
    assert namespace["line"][10] == namespace["loss_fn"]().item()  # the trained weights, exactly
