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

from bench.scene import Scene, kitchen_scene  # noqa: E402
from bench.timing import median_ms  # noqa: E402

CURVE = {"diffusion": [("ddim", 1), ("ddim", 5), ("ddim", 10), ("ddim", 100)],
         "flow": [("euler", 1), ("euler", 5), ("euler", 10)]}


def latency_ms(policy, obs, plan, calls: int) -> float:
    """Median ms of ``policy.sample(obs, plan)`` (one chunk, batch 1) over ``calls`` calls."""
    return median_ms(lambda: policy.sample(obs, plan), calls)


def curve(ckpts: dict[str, str], scene: Scene, calls: int) -> list[dict]:
    """Chunk latency at every CURVE setting of each checkpoint in ``ckpts`` (policy kind → folder), in
    this process with the caller's torch threads. Raises CheckpointError on an unreadable folder."""
    from vla_core.policies.chunk_policy import ChunkPolicy

    rows = []
    for kind, ckpt in ckpts.items():
        for sampler, steps in CURVE[kind]:
            policy = ChunkPolicy.load(ckpt, steps=steps, sampler=sampler)
            rows.append({"policy": kind, "checkpoint": ckpt, "sampler": sampler, "steps": steps,
                         "chunk_ms": round(latency_ms(policy, scene.obs, scene.plan, calls), 2)})
            print(json.dumps(rows[-1]), flush=True)
    return rows


def device_latency_ms(ckpt: str, scene: Scene, calls: int, device: str) -> float:
    """Median ms of one unsteered chunk (the checkpoint's own sampler) with the model on ``device``,
    under torch.inference_mode; the result's copy back to the CPU is in the time (it syncs the GPU)."""
    import torch

    from vla_core.policies.chunk_policy import ChunkPolicy

    policy = ChunkPolicy.load(ckpt)
    policy.model.to(device)
    with torch.inference_mode():
        return latency_ms(policy, scene.obs, scene.plan, calls)


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

    from vla_core.policies.checkpoint import CheckpointError

    torch.set_num_threads(1)
    scene = kitchen_scene()
    try:
        rows = curve({"diffusion": args.diffusion, "flow": args.flow}, scene, args.calls)
    except CheckpointError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    finally:
        scene.close()
    if args.episodes:
        for row in rows:
            row.update(success(row["policy"], row["checkpoint"], row["sampler"], row["steps"], args.episodes,
                               args.workers, args.seed))
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
