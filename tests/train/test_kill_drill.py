"""SIGKILL drill (short form of bench/kill_drill.py): real ``descend train`` processes killed inside every kind of
write and at random times, resumed every time; each run must finish bit-identical to the uninterrupted one."""

import importlib.util
import os

import pytest

BENCH = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "bench",
                     "kill_drill.py")

CHAINS = [
    # never published; inside the first checkpoint; a half line; a complete temporary not yet renamed; inside the
    # resume's own rewrite of metrics.jsonl; renamed but not synced; half a layer record
    ["run:publish:1", "last.safetensors:partial:1", "metrics.jsonl:append:1", "last.safetensors:written:1",
     "metrics.jsonl:partial:1", "last.safetensors:renamed:1", "layers.jsonl:append:1"],
    # after the last epoch's checkpoint; inside the final model; summary written, then renamed
    ["last.safetensors:renamed:3", "model.safetensors:partial:1", "summary.json:written:1", "summary.json:renamed:1"],
    # at random moments (fractions of the uninterrupted run's wall time)
    [0.3, 0.6],
]


@pytest.fixture(scope="module")
def kill_drill():
    spec = importlib.util.spec_from_file_location("kill_drill", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_killed_run_resumes_bit_identical(tmp_path, kill_drill):
    notes = []
    figures = kill_drill.drill(str(tmp_path), CHAINS, log=notes.append)
    aimed = sum(len(c) for c in CHAINS[:2])
    assert figures["kills"] >= aimed, notes
    assert figures["lost"] == 0 and figures["identical"] == figures["resumed"] == figures["kills"], notes
