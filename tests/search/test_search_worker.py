"""What a worker does with a job, in this process: BLAS threads limited, failures returned, not raised."""

import os

import pytest

from descend.search import worker

from searchutil import tiny_config


def job(tmp_path, **kw):
    return {"config": tiny_config("training.epochs=1"), "run_dir": str(tmp_path / "trials" / "0000"),
            "lock": str(tmp_path / "trials" / "0000.lock"), "evaluate_test": False, "threads": 1, **kw}


def test_a_job_runs_with_its_blas_threads_and_logs_to_its_run_directory(tmp_path, monkeypatch):
    threadpoolctl = pytest.importorskip("threadpoolctl")
    seen = []
    run = worker.run

    def spy(*args, **kwargs):
        seen.append([p["num_threads"] for p in threadpoolctl.threadpool_info() if p["user_api"] == "blas"])
        print("printed by the run")
        return run(*args, **kwargs)

    monkeypatch.setattr(worker, "run", spy)
    monkeypatch.setattr(worker, "_BLAS_THREADS", [None])
    before = max(p["num_threads"] for p in threadpoolctl.threadpool_info() if p["user_api"] == "blas")
    try:
        result = worker.run_job(job(tmp_path))
    finally:
        threadpoolctl.threadpool_limits(limits=before, user_api="blas")     # this process is not a worker
    assert seen and all(n == 1 for n in seen[0])
    assert "error" not in result and result["resumed"] is False and len(result["metrics"]) == 1
    assert not [k for k in result["summary"] if k.startswith("test_")]
    log = (tmp_path / "trials" / "0000.log").read_text()
    assert "printed by the run" in log and "training a [16] MLP" in log
    again = worker.run_job(job(tmp_path))                # a checkpoint exists: the job resumes, trains nothing more
    assert again["resumed"] is True and again["metrics"] == result["metrics"]


def test_a_failing_run_is_a_result(tmp_path, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("the run broke")

    monkeypatch.setattr(worker, "run", boom)
    result = worker.run_job(job(tmp_path))
    assert result["error"] == "RuntimeError: the run broke" and result["metrics"] == []
    assert "Traceback" in (tmp_path / "trials" / "0000.log").read_text()


def test_a_job_without_checkpoint_starts_afresh(tmp_path):
    stale = tmp_path / "trials" / "0000"
    stale.mkdir(parents=True)
    (stale / "metrics.jsonl").write_text('{"epoch": 1, "loss": 9.0}\n')      # a run killed before its checkpoint
    result = worker.run_job(job(tmp_path))
    assert result["resumed"] is False and [r["epoch"] for r in result["metrics"]] == [1]
    assert result["metrics"][0]["loss"] != 9.0 and os.path.exists(stale / "summary.json")


def test_a_torn_checkpoint_makes_the_trial_start_afresh(tmp_path):
    first = worker.run_job(job(tmp_path))
    last = tmp_path / "trials" / "0000" / "checkpoints" / "last.safetensors"
    last.write_bytes(last.read_bytes()[:-10])                # a damaged file (a disk error: kills cannot tear it)
    again = worker.run_job(job(tmp_path))
    assert again["resumed"] is False and "error" not in again
    assert again["metrics"][0]["loss"] == first["metrics"][0]["loss"]     # the same run, recomputed
    assert "the trial starts afresh" in (tmp_path / "trials" / "0000.log").read_text()
