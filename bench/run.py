"""`make bench`: measure, then write docs/benchmarks/report.json and report.md.

Figures from one run on one machine; ratios are taken within the run."""

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

from bench import sim_speed  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--seconds", type=float, default=3.0, help="measuring time per figure")
    p.add_argument("--out", default=str(ROOT / "docs" / "benchmarks"), help="output folder")
    p.add_argument("--asr", action="store_true", help="also run bench/asr_accuracy.py (~1-2 min; "
                   "writes docs/results/asr_accuracy.json)")
    args = p.parse_args(argv)
    if args.asr:  # `make bench BENCH_ARGS=--asr`
        from bench import asr_accuracy

        asr_accuracy.main([])
    sim = sim_speed.measure(args.seconds)
    base = sim["env_steps_per_s_privileged_keypoints"]
    report = {
        "command": "make bench",
        "date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
        "machine": {"cpu_count": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
                    "gl": os.environ.get("MUJOCO_GL")},
        "sim": sim,
        "ratios": {"depth_vs_privileged": sim["env_steps_per_s_depth_keypoints_224"] / base,
                   "rgb_vs_privileged": sim["env_steps_per_s_rgb_224"] / base},
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    lines = [
        "# Benchmarks", "", f"Command: `{report['command']}` · {report['date']} · {report['machine']['cpu_count']} CPUs · "
        f"rendering {report['machine']['gl']}", "", "## kitchen_r simulation", "",
        "| figure | value |", "|---|---|",
        f"| physics steps/s (2 ms step) | {sim['physics_steps_per_s']:.0f} |",
        f"| env steps/s, privileged keypoints ({sim['physics_substeps_per_env_step']} substeps + IK) | {base:.1f} |",
        f"| env steps/s, depth keypoints (224² head camera → open3d) | {sim['env_steps_per_s_depth_keypoints_224']:.1f} "
        f"({report['ratios']['depth_vs_privileged']:.2f}×) |",
        f"| env steps/s, one 224² RGB camera | {sim['env_steps_per_s_rgb_224']:.1f} "
        f"({report['ratios']['rgb_vs_privileged']:.2f}×) |", ""]
    (out / "report.md").write_text("\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
