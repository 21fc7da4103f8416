"""Chunk policies' speed/quality curve: CPU latency of one chunk and policy-mode success
on kitchen_r at each sampler step count (DDIM 1/5/10/100, flow Euler 1/5/10).

    python bench/policy_speed.py                       # latency only (fast)
    python bench/policy_speed.py --episodes 60         # + success at every step count (slow)

Writes docs/benchmarks/policy_speed.{json,md}. Latency: median of --calls chunks, batch 1,
torch threads = 1, measured in this process; success: sim/eval.py's own code, test split.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("MUJOCO_GL", "osmesa")
os.environ.setdefault("PYOPENGL_PLATFORM", "osmesa")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

CURVE = {"diffusion": [("ddim", 1), ("ddim", 5), ("ddim", 10), ("ddim", 100)],
         "flow": [("euler", 1), ("euler", 5), ("euler", 10)]}


def latency_ms(policy, obs, plan, calls: int) -> float:
    import numpy as np

    policy.sample(obs, plan)  # warm-up
    times = []
    for _ in range(calls):
        t = time.perf_counter()
        policy.sample(obs, plan)
        times.append(time.perf_counter() - t)
    return float(np.median(times) * 1000)


def success(kind: str, ckpt: str, sampler: str, steps: int, episodes: int, workers: int, seed: int) -> dict:
    import subprocess

    out = ROOT / "reports" / "bench" / f"{kind}_{sampler}{steps}.json"
    cmd = [sys.executable, str(ROOT / "sim" / "eval.py"), "--bench", "kitchen_r", "--mode", "policy", "--policy", kind,
           "--checkpoint", ckpt, "--episodes", str(episodes), "--workers", str(workers), "--seed", str(seed),
           "--no-video", "--out", str(out), f"policy.sampler={sampler}", f"policy.steps={steps}"]
    subprocess.run(cmd, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    rep = json.loads(out.read_text())
    allrow = next(s for s in rep["summary"] if s["category"] == "all")
    return {"success": allrow["rate"], "ci95": [allrow["ci_low"], allrow["ci_high"]], "episodes": allrow["n"],
            "command": " ".join(cmd[1:]).replace(str(ROOT) + "/", "")}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--diffusion", default="checkpoints/kitchen_r_diffusion", help="diffusion checkpoint folder")
    p.add_argument("--flow", default="checkpoints/kitchen_r_flow", help="flow checkpoint folder")
    p.add_argument("--calls", type=int, default=30, help="chunks timed per setting")
    p.add_argument("--episodes", type=int, default=0, help="policy-mode test episodes per setting (0: latency only)")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--seed", type=int, default=3)
    p.add_argument("--out", default=str(ROOT / "docs" / "benchmarks"), help="output folder")
    args = p.parse_args(argv)

    import torch

    from sim.envs import make_env
    from vla_core.planners import OraclePlanner
    from vla_core.policies.checkpoint import CheckpointError
    from vla_core.policies.chunk_policy import ChunkPolicy

    torch.set_num_threads(1)
    env = make_env("kitchen_r")
    from sim.envs.kitchen_r.tasks import tasks_for

    obs = env.reset(0, tasks_for("test", "pick_place")[0])
    planner = OraclePlanner(env)
    planner.reset(obs.task)
    plan = planner.plan(obs).plan
    rows = []
    for kind, settings in CURVE.items():
        ckpt = getattr(args, kind)
        for sampler, steps in settings:
            try:
                policy = ChunkPolicy.load(ckpt, steps=steps, sampler=sampler)
            except CheckpointError as e:
                print(f"error: {e}", file=sys.stderr)
                return 2
            row = {"policy": kind, "checkpoint": ckpt, "sampler": sampler, "steps": steps,
                   "chunk_ms": round(latency_ms(policy, obs, plan, args.calls), 2)}
            if args.episodes:
                row.update(success(kind, ckpt, sampler, steps, args.episodes, args.workers, args.seed))
            rows.append(row)
            print(json.dumps(row), flush=True)
    report = {"command": "python bench/policy_speed.py " + " ".join(argv if argv is not None else sys.argv[1:]),
              "date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
              "machine": {"cpu_count": os.cpu_count(), "platform": platform.platform(), "torch_threads": 1},
              "rows": rows}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "policy_speed.json").write_text(json.dumps(report, indent=2) + "\n")
    lines = ["# Chunk policy speed/quality", "", f"Command: `{report['command']}` · {report['date']} · "
             f"{report['machine']['cpu_count']} CPUs, 1 torch thread, batch 1, median of {args.calls} chunks", "",
             "| policy | sampler | steps | chunk latency (ms) | success % (policy mode, test) | 95% CI |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        succ = f"{100 * r['success']:.1f}" if "success" in r else "–"
        ci = f"[{100 * r['ci95'][0]:.1f}, {100 * r['ci95'][1]:.1f}]" if "ci95" in r else "–"
        lines.append(f"| {r['policy']} | {r['sampler']} | {r['steps']} | {r['chunk_ms']:.1f} | {succ} | {ci} |")
    (out / "policy_speed.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
