"""Evaluation throughput: sim/eval.py in policy mode (its default policy: the shipped flow checkpoint,
oracle instruction plans) on the same episodes with a given worker count, as a subprocess under
bench/peak_rss.py, which reports its peak resident set (its own or a worker's, whichever is larger)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def command(episodes: int, workers: int, seed: int, out: Path) -> list[str]:
    return [sys.executable, str(ROOT / "sim" / "eval.py"), "--bench", "kitchen_r", "--mode", "policy",
            "--episodes", str(episodes), "--workers", str(workers), "--no-video", "--seed", str(seed),
            "--out", str(out)]


def run_eval(episodes: int, workers: int, seed: int, folder: Path) -> dict:
    """One sim/eval.py run → its meta's episodes_per_min and wall time, peak RSS (MiB), the command.
    Its output goes to a log beside the report; a failed run raises with the log's tail."""
    out = folder / f"eval_w{workers}.json"
    cmd = command(episodes, workers, seed, out)
    log_path, rss_path = out.with_suffix(".log"), out.with_suffix(".rss.json")
    with open(log_path, "w") as log:
        rc = subprocess.call([sys.executable, str(ROOT / "bench" / "peak_rss.py"), str(rss_path), "--", *cmd],
                             cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    if rc != 0:
        tail = log_path.read_text(errors="replace").strip().splitlines()[-3:]
        raise RuntimeError(f"sim/eval.py --workers {workers} exited {rc}: {' | '.join(tail)}")
    peak_kib = json.loads(rss_path.read_text())["maxrss_kib"]
    meta = json.loads(out.read_text())["meta"]
    return {"workers": workers, "workers_used": meta["workers"], "episodes": meta["episodes"],
            "episodes_per_min": meta["episodes_per_min"], "wall_s": meta["wall_time_s"],
            "peak_rss_mib": round(peak_kib / 1024, 1),
            "command": " ".join(["python", *(a.replace(str(ROOT) + "/", "") for a in cmd[1:])])}
