"""Steered chunk latency vs particles (VLS): unsteered and steered with 1/8/16/32 particles, same
run, same process, CPU, batch of particles in one forward pass.

    python bench/steering_speed.py --flow CKPT --diffusion CKPT      # the shipped ones by default

Writes docs/benchmarks/steering_speed.{json,md}: median ms per chunk and the ratio to unsteered
(issue goal: ≤ 3× at 16 particles on CPU). The program: reach the plan's target keypoint while
keeping out of a 6 cm sphere half way to it (a fixed, representative two-term program).
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

PARTICLES = (1, 8, 16, 32)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--diffusion", default="checkpoints/kitchen_r_diffusion", help="diffusion checkpoint ('' to skip)")
    p.add_argument("--flow", default="checkpoints/kitchen_r_flow", help="flow checkpoint ('' to skip)")
    p.add_argument("--calls", type=int, default=20, help="chunks timed per setting")
    p.add_argument("--threads", type=int, default=1, help="torch threads")
    p.add_argument("--out", default=str(ROOT / "docs" / "benchmarks"), help="output folder")
    args = p.parse_args(argv)

    import numpy as np
    import torch

    from bench.policy_speed import latency_ms
    from sim.envs import make_env
    from sim.envs.kitchen_r.tasks import tasks_for
    from vla_core.planners import OraclePlanner
    from vla_core.policies.checkpoint import CheckpointError
    from vla_core.policies.chunk_policy import ChunkPolicy
    from vla_core.steering.guidance import GuidanceConfig
    from vla_core.steering.programs import parse_program
    from vla_core.steering.steered import SteeredPolicy

    torch.set_num_threads(args.threads)
    env = make_env("kitchen_r")
    obs = env.reset(0, tasks_for("test", "pick_place")[0])
    planner = OraclePlanner(env)
    planner.reset(obs.task)
    plan = planner.plan(obs).plan
    target = next(s.target for s in planner.steps if s.kind == "pick")
    mid = (np.asarray(obs.keypoint(target)) + obs.proprio.ee_pos) / 2
    program = parse_program({"terms": [{"type": "reach", "target": {"keypoint": target}},
                                       {"type": "keep_out_sphere", "center": [float(v) for v in mid], "radius": 0.06,
                                        "weight": 5}]})
    rows = []
    for kind in ("diffusion", "flow"):
        ckpt = getattr(args, kind)
        if not ckpt:
            continue
        try:
            base = latency_ms(ChunkPolicy.load(ckpt), obs, plan, args.calls)
        except CheckpointError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        rows.append({"policy": kind, "checkpoint": ckpt, "particles": 0, "chunk_ms": round(base, 2), "ratio": 1.0})
        for n in PARTICLES:
            steered = SteeredPolicy(ChunkPolicy.load(ckpt), program, GuidanceConfig(particles=n))
            ms = latency_ms(steered, obs, plan, args.calls)
            rows.append({"policy": kind, "checkpoint": ckpt, "particles": n, "chunk_ms": round(ms, 2),
                         "ratio": round(ms / base, 2)})
            print(json.dumps(rows[-1]), flush=True)
    env.close()
    report = {"command": "python bench/steering_speed.py " + " ".join(argv if argv is not None else sys.argv[1:]),
              "date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
              "machine": {"cpu_count": os.cpu_count(), "platform": platform.platform(), "torch_threads": args.threads},
              "program": "reach the pick target + keep out of a 6 cm sphere half way (weight 5)", "rows": rows}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "steering_speed.json").write_text(json.dumps(report, indent=2) + "\n")
    lines = ["# Steered chunk latency vs particles", "", f"Command: `{report['command']}` · {report['date']} · "
             f"{report['machine']['cpu_count']} CPUs, {args.threads} torch thread(s), median of {args.calls} chunks", "",
             "| policy | particles | chunk latency (ms) | × unsteered |", "|---|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['policy']} | {r['particles'] or 'unsteered'} | {r['chunk_ms']:.1f} | {r['ratio']:.2f} |")
    (out / "steering_speed.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
