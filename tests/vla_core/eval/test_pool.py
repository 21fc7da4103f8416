"""WorkerPool: real subprocesses over JSON lines; dead workers hand their job back once."""

import sys
import textwrap

from vla_core.eval.pool import RESULT_PREFIX, WorkerPool

WORKER = textwrap.dedent(f"""
    import json, os, sys
    cfg = json.loads(sys.stdin.readline())
    print("library chatter on stdout is tolerated")
    for line in sys.stdin:
        job = json.loads(line)
        if job["x"] == cfg["die_on"] and not os.path.exists(cfg["flag"]):
            open(cfg["flag"], "w").close()
            os._exit(3)  # dies mid-job once
        if job["x"] == cfg["always_die_on"]:
            os._exit(4)
        print({RESULT_PREFIX!r} + json.dumps({{"x": job["x"], "y": job["x"] ** 2, "pid": os.getpid()}}), flush=True)
""")


def _pool(tmp_path, n=2, **cfg):
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    config = {"die_on": -1, "always_die_on": -1, "flag": str(tmp_path / "died"), **cfg}
    return WorkerPool([sys.executable, str(script)], n, config)


def test_every_job_answered_by_parallel_workers(tmp_path):
    results = []
    _pool(tmp_path).map([{"x": i} for i in range(12)], results.append, lambda j, r: {"lost": j})
    assert sorted(r["y"] for r in results) == [i * i for i in range(12)]
    assert len({r["pid"] for r in results}) == 2


def test_a_worker_dying_once_loses_nothing(tmp_path):
    results = []
    _pool(tmp_path, die_on=5).map([{"x": i} for i in range(8)], results.append, lambda j, r: {"lost": j})
    assert sorted(r["x"] for r in results) == list(range(8))
    assert (tmp_path / "died").exists()


def test_a_job_that_always_kills_its_worker_is_reported_lost(tmp_path):
    results = []
    _pool(tmp_path, n=1, always_die_on=2).map([{"x": i} for i in range(4)], results.append,
                                              lambda j, r: {"lost": j["x"], "why": r})
    lost = [r for r in results if "lost" in r]
    assert len(results) == 4 and len(lost) == 1 and lost[0]["lost"] == 2
    assert "exited with code 4" in lost[0]["why"]
