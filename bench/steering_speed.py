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

from bench.scene import Scene, kitchen_scene  # noqa: E402

PARTICLES = (1, 8, 16, 32)
PROGRAM = "reach the pick target + keep out of a 6 cm sphere half way (weight 5)"


def program_for(scene: Scene):
    """PROGRAM for the scene: a fixed, representative two-term reward program."""
    import numpy as np

    from vla_core.steering.programs import parse_program

    target = next(s.target for s in scene.planner.steps if s.kind == "pick")
    mid = (np.asarray(scene.obs.keypoint(target)) + scene.obs.proprio.ee_pos) / 2
    return parse_program({"terms": [{"type": "reach", "target": {"keypoint": target}},
                                    {"type": "keep_out_sphere", "center": [float(v) for v in mid], "radius": 0.06,
                                     "weight": 5}]})


def measure(ckpts: dict[str, str], scene: Scene, calls: int, particles: tuple[int, ...] = PARTICLES) -> list[dict]:
    """Per checkpoint (policy kind → folder): the unsteered chunk, then steered ones at each particle
    count, each as median ms and × unsteered. Raises CheckpointError on an unreadable folder."""
    from bench.policy_speed import latency_ms
    from vla_core.policies.chunk_policy import ChunkPolicy
    from vla_core.steering.guidance import GuidanceConfig
    from vla_core.steering.steered import SteeredPolicy

    program = program_for(scene)
    rows = []
    for kind, ckpt in ckpts.items():
        base = latency_ms(ChunkPolicy.load(ckpt), scene.obs, scene.plan, calls)
        rows.append({"policy": kind, "checkpoint": ckpt, "particles": 0, "chunk_ms": round(base, 2), "ratio": 1.0})
        for n in particles:
            steered = SteeredPolicy(ChunkPolicy.load(ckpt), program, GuidanceConfig(particles=n))
            ms = latency_ms(steered, scene.obs, scene.plan, calls)
            rows.append({"policy": kind, "checkpoint": ckpt, "particles": n, "chunk_ms": round(ms, 2),
                         "ratio": round(ms / base, 2)})
            print(json.dumps(rows[-1]), flush=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--diffusion", default="checkpoints/kitchen_r_diffusion", help="diffusion checkpoint ('' to skip)")
    p.add_argument("--flow", default="checkpoints/kitchen_r_flow", help="flow checkpoint ('' to skip)")
    p.add_argument("--calls", type=int, default=20, help="chunks timed per setting")
    p.add_argument("--threads", type=int, default=1, help="torch threads")
    p.add_argument("--out", default=str(ROOT / "docs" / "benchmarks"), help="output folder")
    args = p.parse_args(argv)

    import torch

    from vla_core.policies.checkpoint import CheckpointError

    torch.set_num_threads(args.threads)
    scene = kitchen_scene()
    try:
        rows = measure({k: getattr(args, k) for k in ("diffusion", "flow") if getattr(args, k)}, scene, args.calls)
    except CheckpointError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    finally:
        scene.close()
    report = {"command": "python bench/steering_speed.py " + " ".join(argv if argv is not None else sys.argv[1:]),
              "date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
              "machine": {"cpu_count": os.cpu_count(), "platform": platform.platform(), "torch_threads": args.threads},
              "program": PROGRAM, "rows": rows}
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
