"""Evaluate the stack on a benchmark.

  python sim/eval.py --bench kitchen_r                       # the whole stack: learned planner + flow policy
  python sim/eval.py --bench kitchen_r --mode policy         # oracle plans → the policy
  python sim/eval.py --bench kitchen_r --mode planner        # the planner beside the oracle + expert
  python sim/eval.py --bench kitchen_r --episodes 120 --workers 2 --no-video
  python sim/eval.py --bench kitchen_r --list                # every instruction: id, category, split
  python sim/eval.py --bench kitchen_r bench.obs_mode=depth  # hydra overrides after the flags
  python sim/eval.py --bench libero --suite spatial --episodes 20   # the real LIBERO, scripted expert
  python sim/eval.py --bench libero --suite spatial --episodes 500  # its full protocol (10 tasks x 50 states)
  python sim/eval.py --bench calvin --episodes 50            # CALVIN-style chains (layout D), scripted expert
  python sim/eval.py --bench calvin --episodes 1000          # the full protocol: success 1..5 in a row, avg length

Prints a per-category table (success with a 95% Wilson interval, mean length) and
writes a JSON report, a PNG bar chart next to it, and optional MP4 rollouts.
Success is read from simulator state only. Exit codes: 0 ok, 2 bad input, 1 failure.
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("MUJOCO_GL", "osmesa")
os.environ.setdefault("PYOPENGL_PLATFORM", "osmesa")

from sim.envs import AVAILABLE, BENCHES, NOT_YET  # noqa: E402
from vla_core.cli import OneLineParser, UsageError  # noqa: E402

CONFIG_DIR = ROOT / "configs"


def build_parser() -> argparse.ArgumentParser:
    p = OneLineParser(prog="sim/eval.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bench", default="kitchen_r", help=f"benchmark: {', '.join(BENCHES)}"
                   + (f" (not available yet: {', '.join(NOT_YET)})" if NOT_YET else ""))
    p.add_argument("--suite", help="LIBERO suite: spatial, object, goal, 10, 90 (bench.suite); CALVIN's scene "
                   "layout is bench.layout=A|B|C|D (default D)")
    p.add_argument("--mode", choices=("planner", "policy", "integrated"), help="Kitchen-R evaluation mode")
    p.add_argument("--planner", help="planner config (configs/planner): oracle (policy mode), learned (planner and "
                   "integrated modes; planner.checkpoint=DIR planner.kind=subtask|instruction|motion|path), vlm "
                   "(integrated; planner.model=DIR|HUB_ID, needs bench.cameras=[head])")
    p.add_argument("--policy", help="policy config (configs/policy): expert, diffusion, flow, remote (a policy "
                   "server: policy.server=HOST:PORT, started with python -m vla_core.serve)")
    p.add_argument("--checkpoint", help="policy checkpoint folder (config.json + model.safetensors)")
    p.add_argument("--episodes", type=int, help="number of episodes (stratified over categories; CALVIN: the "
                   "first N of its 1000 chains)")
    p.add_argument("--split", choices=("train", "test", "perturbed"), help="task split; perturbed: the test "
                   "split's pick-and-place tasks in changed scenes (an obstacle in the way, the object shifted "
                   "aside, clutter), where touching the obstacle or knocking the clutter fails the episode")
    p.add_argument("--category", help="only this task category (perturbed split: obstacle, shifted or clutter)")
    p.add_argument("--steering", choices=("on", "off"), help="VLS: steer the learned policy with the oracle's "
                   "reward programs (particles, guidance, resampling: steering.guidance.*)")
    p.add_argument("--steering-ablation", choices=("no-grad", "no-resample", "no-diversity"),
                   help="steering with one piece switched off (implies --steering on)")
    p.add_argument("--seed", type=int, help="base seed; episode i uses seed*100003+i")
    p.add_argument("--workers", type=int, help="parallel worker processes")
    p.add_argument("--video", metavar="DIR", help="write MP4 rollouts of the first episodes here "
                   "(default reports/<bench>/videos; video_episodes=N sets how many)")
    p.add_argument("--no-video", action="store_true", help="record no rollouts")
    p.add_argument("--out", metavar="REPORT.json", help="JSON report path (a PNG chart is written beside it)")
    p.add_argument("--list", action="store_true", help="print every instruction (id, category, split) and exit")
    p.add_argument("overrides", nargs="*", help="hydra overrides, e.g. bench.obs_mode=depth")
    return p


def compose(args: argparse.Namespace) -> dict:
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.errors import HydraException
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    overrides = [f"bench={args.bench}"]
    if args.suite is not None and args.bench != "libero":
        raise UsageError(f"--suite picks a LIBERO suite; bench {args.bench!r} has none")
    for flag, key in (("suite", "bench.suite"), ("mode", "mode"), ("episodes", "episodes"), ("split", "split"),
                      ("category", "category"), ("seed", "seed"), ("workers", "workers"), ("video", "video"), ("out", "out")):
        if getattr(args, flag) is not None:
            overrides.append(f"{key}={getattr(args, flag)}")
    if args.no_video:
        overrides.append("video=null")
    if args.steering or args.steering_ablation:
        overrides.append(f"steering.enabled={str(args.steering != 'off').lower()}")
    if args.steering_ablation:
        overrides.append(f"steering.ablation={args.steering_ablation}")
    given = {o.split("=", 1)[0] for o in args.overrides}
    mode = args.mode or next((o.split("=", 1)[1] for o in args.overrides if o.startswith("mode=")), None)
    if mode is None and (args.bench in ("libero", "calvin") or args.steering or args.steering_ablation):
        # no planner is trained on LIBERO/CALVIN yet; steering follows the oracle's reward programs
        mode = "policy"
        overrides.append("mode=policy")
    if args.planner:
        overrides.append(f"planner={args.planner}")
    elif mode == "policy" and "planner" not in given:
        overrides.append("planner=oracle")  # policy mode: oracle plans → the policy (the default is the learned planner)
    if args.policy:
        overrides.append(f"policy={args.policy}")
    elif (mode == "planner" or args.bench in ("libero", "calvin")) and "policy" not in given:
        # planner mode scores along the expert's episodes, whatever the default; no LIBERO/CALVIN policy ships yet
        overrides.append("policy=expert")
    if args.checkpoint:
        overrides.append(f"policy.checkpoint={args.checkpoint}")
    overrides += args.overrides
    for o in args.overrides:
        if "=" not in o:
            raise UsageError(f"malformed override {o!r}: expected key=value")
    try:
        with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base=None):
            cfg = hydra_compose("eval", overrides=overrides)
        return OmegaConf.to_container(cfg, resolve=True)
    except (HydraException, OmegaConfBaseException, ValueError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise UsageError(f"bad config: {first}") from None


def list_tasks(bench: str, suite: str | None) -> int:
    if bench == "libero":
        from sim.envs.libero.install import LiberoMissing
        from sim.envs.libero.suites import tasks

        try:
            pool = tasks(suite or "spatial")
        except (ValueError, LiberoMissing) as e:  # an unknown suite, or LIBERO not installed
            raise UsageError(str(e)) from None
    elif bench == "calvin":
        from sim.envs.calvin.tasks import all_tasks

        pool = all_tasks()
    else:
        from sim.envs.kitchen_r.tasks import all_tasks

        pool = all_tasks()
    for t in pool:
        print(f"{t.task_id}\t{t.category}\t{t.split}\t{t.instruction}")
    return 0


def git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def format_plan_metrics(by_cat: dict[str, dict[str, float]]) -> str:
    """Planner-only metrics per category: match rates in %, path errors in cm."""
    from vla_core.planners.scoring import METRICS

    cols = [k for k in METRICS if any(k in m for m in by_cat.values())]
    head = ["category"] + [k.replace("_error_m", " err cm").replace("_acc", " %").replace("_abstain", " abst %")
                           .replace("_risk", " risk %") for k in cols]
    rows = [[c] + [f"{100 * m[k]:.1f}" if k in m else "-" for k in cols] for c, m in by_cat.items()]
    widths = [max(len(r[i]) for r in [head] + rows) for i in range(len(head))]
    fmt = lambda r: "  ".join(v.ljust(w) if i == 0 else v.rjust(w) for i, (v, w) in enumerate(zip(r, widths)))  # noqa: E731
    return "\n".join([fmt(head), fmt(["-" * w for w in widths])] + [fmt(r) for r in rows])


def run(cfg: dict, argv: list[str]) -> int:
    from tqdm import tqdm

    from sim.evaluation import ConfigError, EpisodeRunner, check_config, plan_jobs
    from vla_core.eval.pool import WorkerPool
    from vla_core.eval.report import format_table, plot_success, write_json
    from vla_core.eval.results import EpisodeResult
    from vla_core.eval.stats import summarize

    check_config(cfg)
    video_dir = cfg.get("video")
    out = Path(cfg["out"])
    for folder, what in ((out.parent, "--out"), (Path(video_dir) if video_dir else None, "--video")):
        if folder is None:
            continue
        try:  # find an unwritable path now, not after the episodes have run
            folder.mkdir(parents=True, exist_ok=True)
            probe = folder / f".vla_eval_probe_{os.getpid()}"
            probe.touch()
            probe.unlink()
        except OSError as e:
            raise ConfigError(f"{what}: cannot write to {folder}: {e.strerror or e}") from None
    jobs = plan_jobs(cfg, video_dir)
    bench = cfg["bench"]["name"]  # LIBERO's episodes come from a suite, CALVIN's from chains in a layout
    split_name = {"libero": str(cfg["bench"].get("suite")), "calvin": f"layout {cfg['bench'].get('layout')}"}.get(
        bench, cfg["split"])
    split = {"libero": f"{split_name} suite", "calvin": f"{split_name} chains"}.get(bench, f"{split_name} split")
    results: list[EpisodeResult] = []
    start = time.perf_counter()
    bar = tqdm(total=len(jobs), desc=f"{cfg['bench']['name']} {split}", unit="ep", file=sys.stderr)

    def collect(d: dict) -> None:
        r = EpisodeResult.from_dict(d)
        results.append(r)
        bar.update(1)
        bar.set_postfix(success=f"{sum(x.succeeded for x in results)}/{len(results)}")

    workers = min(int(cfg["workers"]), len(jobs))
    if workers == 1:
        runner = EpisodeRunner(cfg)
        for job in jobs:
            collect(runner.run(job).to_dict())
    else:
        def lost(job: dict, reason: str) -> dict:
            from sim.envs import task_by_id

            t = task_by_id(cfg["bench"]["name"], job["task_id"])
            cat = f"{t.category}/{job['variant']}" if job.get("variant") else t.category
            return EpisodeResult(t.task_id, t.instruction, cat, t.split, job["seed"], False, 0, 0,
                                 len(t.goals), 0.0, error=f"worker lost: {reason}").to_dict()

        # workers split the cores: torch's default (all cores each) oversubscribes them several times
        threads = str(max(1, (os.cpu_count() or 1) // workers))
        env = {**os.environ, "OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads}
        pool = WorkerPool([sys.executable, str(ROOT / "sim" / "eval_worker.py")], workers, cfg, env=env)
        pool.map([j.to_dict() for j in jobs], collect, lost)
    bar.close()
    wall = time.perf_counter() - start
    results.sort(key=lambda r: r.seed)
    stats = summarize(results)
    print(format_table(stats))
    errors = [r for r in results if r.error]
    for r in errors[:3]:
        print(f"episode {r.task_id} seed {r.seed} crashed: {r.error.splitlines()[0]}", file=sys.stderr)
    meta = {"bench": cfg["bench"]["name"], "mode": cfg["mode"], "planner": cfg["planner"]["name"],
            "policy": cfg["policy"]["name"],
            "split": split_name,
            "steering": (cfg["steering"].get("ablation") or "on") if cfg["steering"].get("enabled") else "off", "seed": cfg["seed"], "episodes": len(results),
            "workers": workers, "obs_mode": cfg["bench"]["obs_mode"], "wall_time_s": round(wall, 1),
            "episodes_per_min": round(60 * len(results) / max(wall, 1e-9), 2), "commit": git_commit(),
            "command": "python sim/eval.py " + " ".join(shlex.quote(a) for a in argv), "config": cfg}
    if cfg["mode"] == "planner":
        from vla_core.planners.scoring import mean_metrics

        by_cat = {c: mean_metrics([r.plan_metrics for r in results if r.plan_metrics and r.category == c])
                  for c in sorted({r.category for r in results})}
        by_cat["all"] = mean_metrics([r.plan_metrics for r in results if r.plan_metrics])
        meta["plan_metrics"] = by_cat
        print(format_plan_metrics(by_cat))
    if bench == "calvin":
        from vla_core.eval.stats import chain_stats

        meta["chains"] = chain_stats([r.goals_met for r in results], [r.goals_total for r in results])
        c = meta["chains"]
        print("tasks completed in a row: " + "  ".join(f"{k}: {100 * v:.1f}%" for k, v in c["in_a_row"].items())
              + f"  · avg. length {c['avg_len']:.2f} (of {c['chain_len']})")
    write_json(out, meta=meta, results=results, stats=stats)
    steered = f" · steering {meta['steering']}" if meta["steering"] != "off" else ""
    plot_success(stats, out.with_suffix(".png"), f"{meta['bench']} · {meta['mode']} · {meta['planner']}+{meta['policy']}"
                 f" · {split}{steered}")
    broken = [r for r in results if r.violations]
    if broken:
        print(f"{len(broken)} episode(s) broke the split's rules (e.g. {broken[0].violations[0]})")
    print(f"report: {out}  chart: {out.with_suffix('.png')}" + (f"  videos: {video_dir}" if video_dir else ""))
    print(f"{len(results)} episodes in {wall:.0f} s with {workers} worker(s)")
    return 1 if errors and len(errors) == len(results) else 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        args = build_parser().parse_intermixed_args(argv)  # overrides may sit between flags
        if args.bench not in BENCHES:
            raise UsageError(f"unknown bench {args.bench!r}; choose from {', '.join(BENCHES)}")
        if args.bench not in AVAILABLE:
            raise UsageError(f"bench {args.bench!r} is not available: {NOT_YET[args.bench]}")
        if args.list:
            return list_tasks(args.bench, args.suite)
        cfg = compose(args)
        from sim.evaluation import ConfigError

        try:
            return run(cfg, argv)
        except ConfigError as e:
            raise UsageError(str(e)) from None
    except UsageError as e:
        print(f"sim/eval.py: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
