"""Record scripted-expert rollouts as a LeRobot v3 dataset with per-step plan labels.

  python -m vla_core.collect --bench kitchen_r --episodes 200 --out data/kitchen_r_train --workers 2
  python -m vla_core.collect --episodes 20 --out data/nav --category navigate --cameras head --image-size 96
  python -m vla_core.collect --episodes 400 --out data/kitchen_r_train --workers 2 --resume   # after a kill
  python -m vla_core.collect --episodes 400 --out data/kitchen_r_rollin --workers 2 --rollin checkpoints/kitchen_r_flow
  python -m vla_core.collect --episodes 60 --out data/corrections_r1 --corrector --planner PLANNER_CKPT --workers 2
  python -m vla_core.collect --bench calvin --episodes 1500 --out data/calvin_abc --workers 2   # layouts A, B, C

CALVIN (--bench calvin): episode i is instruction i % 5 of training chain i // 5 (drawn like the
protocol's chains from --seed, never its evaluation list), in layout number i // 5 of --layouts; the
chain's earlier instructions replay first, unrecorded and without a reset, so each recording starts
where the chain left the scene.

Episodes are drawn from the split's tasks, stratified over categories (as sim/eval.py
does), with env seeds derived from --seed: the same arguments give the same dataset.
Each episode runs the oracle planner + scripted expert (in --workers processes); this
process alone writes the dataset with lerobot's LeRobotDataset. Only successful
episodes are kept unless --keep-failures.

--corrector records a round of Yell At Your Robot instead: a learned planner and a learned policy
drive, the simulated corrector (vla_core/corrections/simulated.py) says the oracle's sub-step when
the robot's plan strays, the override executes it, and every episode (success or not) is kept with
the plan acted upon per step and plan.corrected = 1 where it was the person's. Those steps are what
python -m vla_core.posttrain fine-tunes the planner on.

Every written episode is committed at once (see vla_core/data/store.py): a collection
killed at any moment loses only the episodes in flight, the folder still loads
(vla_core.data.read_episodes, or LeRobotDataset after vla_core.data.recover), and
--resume continues it (same settings; a larger --episodes extends it).

Columns: observation.state (18), observation.keypoints (K,3) + keypoints_valid (K),
action (10), plan.subtask / plan.instruction / plan.motion (strings), plan.path (8,4),
observation.images.<camera> (video) with --cameras. Exit codes: 0 ok, 2 bad input,
1 every episode failed with an error, 130 interrupted.
"""

from __future__ import annotations

import argparse
import os
import queue
import sys
import threading
import time
from pathlib import Path

from vla_core.cli import OneLineParser, UsageError

os.environ.setdefault("MUJOCO_GL", "osmesa")
os.environ.setdefault("PYOPENGL_PLATFORM", "osmesa")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

COLLECT_SEED_OFFSET = 1_000_000_007  # collection env seeds never coincide with sim/eval.py's (seed*100003+i)
STAGING = ".staging"  # inside --out: finished episodes from workers, waiting for the writer
SETTINGS = ("bench", "split", "category", "seed", "obs_mode", "cameras", "image_size", "max_steps",
            "keep_failures", "thresholds", "action_noise", "free_space_noise", "instructions",
            "rollin", "rollin_frac", "corrections", "layouts")  # what --resume must match
INSTRUCTIONS = "substep"  # plan.instruction holds the oracle's fine-grained sentence (sim/envs/kitchen_r/substeps.py)
# settings added later: what collections without them used
SETTING_DEFAULTS = {"action_noise": 0.0, "free_space_noise": 0.0, "instructions": "subtask", "rollin": None,
                    "rollin_frac": None, "corrections": None, "layouts": None}
CALVIN_CHAIN_SEED = 10_007  # + --seed: training chains (the evaluation's are tasks.CHAIN_SEED's)


def build_parser() -> argparse.ArgumentParser:
    p = OneLineParser(prog="python -m vla_core.collect", description=__doc__,
                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bench", default="kitchen_r", help="benchmark to record (default kitchen_r)")
    p.add_argument("--episodes", type=int, required=True, help="number of episodes to run (kept or not)")
    p.add_argument("--layouts", default="A,B,C", help="CALVIN: the scene layouts chains cycle through (default "
                   "A,B,C: train there, evaluate on D)")
    p.add_argument("--out", required=True, metavar="DIR",
                   help="dataset folder: must be new or empty, unless --resume (e.g. data/kitchen_r_train)")
    p.add_argument("--workers", type=int, default=1, help="parallel rollout processes (default 1: in-process)")
    p.add_argument("--split", default="train", help="task split to draw from: train or test (default train)")
    p.add_argument("--category", help="only this task category (default: stratified over all)")
    p.add_argument("--seed", type=int, default=0, help="base seed: task draws and env seeds (default 0)")
    p.add_argument("--cameras", nargs="+", default=[], metavar="CAM",
                   help="RGB cameras to record as videos, e.g. head (kitchen_r: head, overview)")
    p.add_argument("--image-size", type=int, default=96, help="square camera image size in pixels (default 96)")
    p.add_argument("--obs-mode", default="privileged", help="keypoints from simulator state (privileged, "
                   "default) or from head-camera depth (depth)")
    p.add_argument("--max-steps", type=int, help="cap every episode at this many steps (default: task budget)")
    p.add_argument("--keep-failures", action="store_true", help="also keep episodes that did not succeed")
    p.add_argument("--thresholds", default=None, metavar="YAML",
                   help="motion label thresholds (default configs/labels/motion.yaml)")
    p.add_argument("--action-noise", type=float, default=0.0, metavar="SIGMA",
                   help="DART-style noise: execute the expert's action plus a slowly varying offset of SIGMA m "
                        "on the EE (5·SIGMA m/s, 20·SIGMA rad/s on the base) while recording its own action, so "
                        "the data shows corrections back to its path (default 0: none; try 0.01)")
    p.add_argument("--free-space-noise", type=float, default=0.0, metavar="SIGMA",
                   help="EE noise scale (m) while the expert reaches above an object or a place spot, where a "
                        "bump breaks nothing; larger than --action-noise so the data shows recoveries from the "
                        "5-10 cm misses a learned policy makes (default 0: --action-noise everywhere; try 0.05)")
    p.add_argument("--rollin", metavar="CKPT",
                   help="a chunk-policy checkpoint that drives each episode first; the expert takes over at a "
                        "step drawn per episode and finishes the task, and only its part is recorded: recoveries "
                        "from the states that policy reaches (DAgger-style; default: the expert alone)")
    p.add_argument("--rollin-frac", type=float, default=0.5, metavar="F",
                   help="with --rollin: the hand-over step is drawn uniformly from [0, F x the task's step budget]; "
                        "the expert then has the whole budget (default 0.5)")
    p.add_argument("--corrector", action="store_true",
                   help="a correction round: --planner and --policy drive, the simulated corrector corrects, every "
                        "episode is kept with plan.corrected marking the person's steps")
    p.add_argument("--planner", metavar="CKPT", help="with --corrector: the learned planner checkpoint that drives")
    p.add_argument("--planner-kind", default="instruction",
                   help="with --corrector: the plan kind the planner speaks (default instruction)")
    p.add_argument("--policy", default="checkpoints/kitchen_r_flow", metavar="CKPT",
                   help="with --corrector: the chunk policy that executes (default checkpoints/kitchen_r_flow)")
    p.add_argument("--patience", type=int, default=8,
                   help="with --corrector: actions the robot's plan may stray before the corrector speaks (default 8)")
    p.add_argument("--resume", action="store_true", help="continue the collection in --out (same settings)")
    return p


def check_args(args: argparse.Namespace) -> dict:
    """Everything that can be rejected before any env or dataset work; returns the settings."""
    from sim.envs import AVAILABLE, BENCHES, NOT_YET
    from vla_core.plans.motion import DEFAULT_CONFIG, MotionThresholds

    if args.bench not in BENCHES:
        raise UsageError(f"unknown bench {args.bench!r}; choose from {', '.join(AVAILABLE)}")
    if args.bench not in AVAILABLE:
        raise UsageError(f"bench {args.bench!r} is not available: {NOT_YET[args.bench]}")
    if args.bench not in ("kitchen_r", "calvin"):
        raise UsageError(f"collect records kitchen_r and calvin so far; {args.bench} demonstrations are not built "
                         f"yet (evaluate its scripted expert with sim/eval.py --bench {args.bench})")
    layouts = None
    if args.bench == "calvin":
        layouts = check_calvin(args)
    for name, low in (("episodes", 1), ("workers", 1), ("image_size", 16), ("seed", 0)):
        if getattr(args, name) < low:
            raise UsageError(f"--{name.replace('_', '-')} must be at least {low}, got {getattr(args, name)}")
    for name in ("action_noise", "free_space_noise"):
        if not 0.0 <= getattr(args, name) <= 0.1:
            raise UsageError(f"--{name.replace('_', '-')} must be in [0, 0.1] m, got {getattr(args, name)}")
    rollin = None
    if args.rollin is not None:
        if not 0.0 <= args.rollin_frac <= 1.0:
            raise UsageError(f"--rollin-frac must be in [0, 1], got {args.rollin_frac}")
        from vla_core.policies.checkpoint import CheckpointError, load_checkpoint

        try:
            load_checkpoint(args.rollin)
        except CheckpointError as e:
            raise UsageError(f"--rollin: {e}") from None
        rollin = str(Path(args.rollin))
    corrections = check_corrector(args)
    if args.max_steps is not None and args.max_steps < 1:
        raise UsageError(f"--max-steps must be at least 1, got {args.max_steps}")
    if args.obs_mode not in ("privileged", "depth"):
        raise UsageError(f"--obs-mode must be privileged or depth, got {args.obs_mode!r}")
    if layouts is None:  # CALVIN draws chains, not kitchen_r's splits and categories (check_calvin)
        check_split(args)
    cameras = [c for arg in args.cameras for c in arg.split(",") if c]
    if len(set(cameras)) != len(cameras):
        raise UsageError(f"--cameras lists a camera twice: {cameras}")
    path = Path(args.thresholds) if args.thresholds else DEFAULT_CONFIG
    try:
        thresholds = MotionThresholds.from_yaml(path)
    except FileNotFoundError:
        raise UsageError(f"--thresholds: no such file {path}") from None
    except Exception as e:  # yaml or value errors
        raise UsageError(f"--thresholds {path}: {e}") from None
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} exists and is not a folder")
    if out.is_dir() and any(out.iterdir()):
        if not args.resume:
            raise UsageError(f"--out {out} exists and is not empty; pass --resume to continue the collection "
                             "there, or choose a new folder")
        from vla_core.data.store import COMMIT_FILE

        if not (out / COMMIT_FILE).is_file():
            raise UsageError(f"--resume: {out} holds no {COMMIT_FILE} (not a collection written by "
                             "vla_core.collect, or one killed before its first commit)")
    return {"bench": args.bench, "split": args.split, "category": args.category, "seed": args.seed,
            "obs_mode": args.obs_mode, "cameras": cameras, "image_size": args.image_size,
            "max_steps": args.max_steps, "keep_failures": bool(args.keep_failures),
            "thresholds": thresholds.to_dict(), "action_noise": float(args.action_noise),
            "free_space_noise": float(args.free_space_noise), "instructions": INSTRUCTIONS,
            "rollin": rollin, "rollin_frac": float(args.rollin_frac) if rollin else None,
            "corrections": corrections, "layouts": layouts}


def check_split(args: argparse.Namespace) -> None:
    from sim.envs.kitchen_r.tasks import CATEGORIES, SPLITS, tasks_for

    if args.split not in SPLITS:
        raise UsageError(f"unknown split {args.split!r}; choose from {', '.join(SPLITS)}")
    if args.category is not None:
        if args.category not in CATEGORIES:
            raise UsageError(f"unknown category {args.category!r}; choose from {', '.join(CATEGORIES)}")
        if not tasks_for(args.split, args.category):
            raise UsageError(f"no {args.category} tasks in the {args.split} split")


def check_calvin(args: argparse.Namespace) -> list[str]:
    """The layouts a CALVIN collection cycles through; what does not apply to it is an error."""
    from sim.envs.calvin.catalog import check_layout

    if args.category is not None or args.split != "train":
        raise UsageError("CALVIN collections draw training chains: no --split or --category")
    if args.obs_mode != "privileged":
        raise UsageError("CALVIN observations are privileged (block and fixture poses): no --obs-mode depth")
    if args.rollin is not None or args.corrector:
        raise UsageError("CALVIN collections record the scripted expert: no --rollin or --corrector")
    layouts = [x.strip() for x in args.layouts.split(",") if x.strip()]
    try:
        layouts = [check_layout(x) for x in layouts]
    except ValueError as e:
        raise UsageError(f"--layouts: {e}") from None
    if not layouts or len(set(layouts)) != len(layouts):
        raise UsageError(f"--layouts must name distinct layouts, e.g. A,B,C; got {args.layouts!r}")
    return layouts


def check_corrector(args: argparse.Namespace) -> dict | None:
    """--corrector's settings (checkpoints loadable), or None without it; its flags alone are errors."""
    if not args.corrector:
        if args.planner is not None:
            raise UsageError("--planner drives a correction round: pass --corrector too")
        return None
    if args.rollin is not None or args.action_noise or args.free_space_noise:
        raise UsageError("--corrector records a learned robot under correction: no --rollin or noise")
    if args.planner is None:
        raise UsageError("--corrector needs --planner CKPT (a learned planner: python -m vla_core.train_planner)")
    if args.patience < 1:
        raise UsageError(f"--patience must be at least 1, got {args.patience}")
    from vla_core.planners.learned import OUTPUT_KINDS, LearnedPlanner
    from vla_core.policies.checkpoint import CheckpointError, load_checkpoint

    if args.planner_kind not in OUTPUT_KINDS:
        raise UsageError(f"--planner-kind must be one of {', '.join(OUTPUT_KINDS)}, got {args.planner_kind!r}")
    for flag, load in (("--planner", LearnedPlanner.load), ("--policy", load_checkpoint)):
        try:
            load(getattr(args, flag[2:]))
        except CheckpointError as e:
            raise UsageError(f"{flag}: {e}") from None
    return {"planner": str(Path(args.planner)), "planner_kind": args.planner_kind, "policy": str(Path(args.policy)),
            "patience": int(args.patience)}


def plan_collection(settings: dict, episodes: int):
    """The collection's jobs: sim/eval.py's stratified task draw, with collection env seeds (CALVIN:
    job i's seed is i, which names its chain and instruction)."""
    from sim.evaluation import plan_jobs
    from vla_core.data.rollout import Job

    if settings["bench"] == "calvin":
        from sim.envs.calvin.tasks import CHAIN_LEN, training_chain

        seed = CALVIN_CHAIN_SEED + settings["seed"]
        return [Job(i, f"calvin/{training_chain(i // CHAIN_LEN, seed).tasks[i % CHAIN_LEN]}", i)
                for i in range(episodes)]

    cfg = {"split": settings["split"], "category": settings["category"], "seed": settings["seed"],
           "episodes": episodes, "video_episodes": 0}
    return [Job(j.index, j.task_id, COLLECT_SEED_OFFSET + j.seed) for j in plan_jobs(cfg, None)]


def open_store(out: Path, settings: dict, resume: bool, env):
    """The EpisodeStore to write: a new one, or the one in ``out`` (checked against ``settings``)."""
    from vla_core.data.features import bench_features
    from vla_core.data.store import EpisodeStore, StoreError

    if resume and out.is_dir() and any(out.iterdir()):
        try:
            store = EpisodeStore.open(out)
        except StoreError as e:
            raise UsageError(str(e)) from None
        was = {k: store.config.get(k, SETTING_DEFAULTS.get(k)) for k in SETTINGS}
        diff = [f"{k} {was[k]!r} -> {settings[k]!r}" for k in SETTINGS if was[k] != settings[k]]
        if diff:
            store.close()
            raise UsageError(f"--resume needs the settings {out} was started with; differs: {'; '.join(diff)}")
        return store
    if out.is_dir():
        out.rmdir()  # empty
    out.parent.mkdir(parents=True, exist_ok=True)
    names = env.reset(0).keypoint_names  # any episode: the keypoint set is the bench's
    feats = bench_features(names, settings["cameras"], settings["image_size"], corrections=bool(settings["corrections"]),
                           action_dim=env.action_dim)
    robot = "mobile_panda" if env.action_dim == 10 else "panda"
    return EpisodeStore.create(out, feats, fps=round(1.0 / env.dt), config=settings, robot_type=robot)


def check_cameras(env, cameras: list[str]) -> None:
    known = [env.model.camera(i).name for i in range(env.model.ncam)]
    for cam in cameras:
        if cam not in known:
            raise UsageError(f"unknown camera {cam!r} for this bench; choose from {', '.join(known)}")


def run(args: argparse.Namespace, settings: dict) -> int:
    from tqdm import tqdm

    from vla_core.data.episode import EpisodeArrays
    from vla_core.data.rollout import RolloutConfig, RolloutRunner
    from vla_core.data.store import MIN_FRAMES
    from vla_core.data.worker import staging_path

    start = time.perf_counter()
    rollout = RolloutConfig(settings["bench"], settings["obs_mode"], tuple(settings["cameras"]),
                            settings["image_size"], settings["max_steps"], settings["keep_failures"],
                            settings["thresholds"], settings["action_noise"], settings["free_space_noise"],
                            settings["rollin"], settings["rollin_frac"] or 0.0, settings["corrections"],
                            tuple(settings["layouts"] or ()), CALVIN_CHAIN_SEED + settings["seed"])
    runner = RolloutRunner(rollout)  # also checks the bench builds, before anything is written
    check_cameras(runner.env, settings["cameras"])
    out = Path(args.out)
    jobs = plan_collection(settings, args.episodes)
    store = open_store(out, settings, args.resume, runner.env)
    done = {int(r["job"]) for r in store.records()}
    pending = [j for j in jobs if j.index not in done]
    staging = out / STAGING
    staging.mkdir(exist_ok=True)
    ready: dict[int, tuple[dict, EpisodeArrays | None]] = {}
    for j in pending:  # episodes a killed run finished but had not written yet
        path = staging_path(staging, j.index)
        try:
            ep, meta = EpisodeArrays.load_npz(path)
            # (staged by an older version that kept recordings too short to store: run again)
            if (meta.get("task_id"), meta.get("seed")) == (j.task_id, j.seed) and len(ep) >= MIN_FRAMES:
                ready[j.index] = (meta, ep)
        except Exception:  # missing or unreadable
            pass
    keep = {staging_path(staging, i).name for i in ready}
    for f in staging.iterdir():
        if f.name not in keep:
            f.unlink()
    todo = [j for j in pending if j.index not in ready]
    counts = {"kept": 0, "dropped": 0, "errors": 0, "frames": 0, "steps": 0, "write_s": 0.0}
    setup_s = time.perf_counter() - start
    bar = tqdm(total=len(jobs), initial=len(done), unit="ep", desc="collect", dynamic_ncols=True)
    first_error: list[str] = []

    def write(result: dict, episode: EpisodeArrays | None) -> None:
        record = {"job": result["index"], **{k: result.get(k) for k in ("task_id", "seed", "category", "success",
                                                                          "length", "wall_s")}}
        # --rollin: the step drawn for the hand-over, the one it happened at; --corrector: what it said
        for key in ("handover", "handed_at", "said", "corrected_steps"):
            if key in result:
                record[key] = result[key]
        if result.get("error"):
            record["error"] = result["error"].splitlines()[0]
            counts["errors"] += 1
            if not first_error:
                first_error.append(result["error"])
        counts["steps"] += int(result.get("length") or 0)
        t0 = time.perf_counter()
        if episode is not None:
            store.write(episode, record)
            counts["kept"] += 1
            counts["frames"] += len(episode)
        else:
            store.skip(record)
            counts["dropped"] += 1
        counts["write_s"] += time.perf_counter() - t0
        staging_path(staging, result["index"]).unlink(missing_ok=True)
        bar.update(1)
        bar.set_postfix(kept=counts["kept"], dropped=counts["dropped"])

    try:
        if args.workers == 1 or len(todo) <= 1:
            for j in pending:
                write(*(ready.pop(j.index) if j.index in ready else runner.run(j)))
        else:
            runner.close()
            _run_pool(args.workers, rollout, staging, todo, pending, ready, write)
    except KeyboardInterrupt:
        bar.close()
        print(f"\ninterrupted: {store.commit.episodes} episodes are committed in {out}; "
              "run again with --resume to continue", file=sys.stderr)
        return 130
    finally:
        store.close()
    bar.close()
    if not any(staging.iterdir()):
        staging.rmdir()
    wall = time.perf_counter() - start - setup_s
    ran = counts["kept"] + counts["dropped"]
    print(f"collected {ran} episodes: kept {counts['kept']}, dropped {counts['dropped']} ({counts['errors']} with "
          f"errors); {counts['frames']} frames kept of {counts['steps']} steps run")
    print(f"time: {wall:.1f} s collecting ({counts['frames'] / max(wall, 1e-9):.1f} kept frames/s, "
          f"{counts['steps'] / max(wall, 1e-9):.1f} steps/s with {args.workers} worker(s); {counts['write_s']:.1f} s "
          f"of it writing) + {setup_s:.1f} s setup")
    print(f"dataset {out}: {store.commit.episodes} episodes, {store.commit.frames} frames")
    if first_error:
        print(f"first error: {first_error[0]}", file=sys.stderr)
    return 1 if ran and counts["errors"] == ran else 0


def _run_pool(workers, rollout, staging, todo, pending, ready, write) -> None:
    """Workers simulate; this thread writes episodes in job order as they become ready."""
    from vla_core.data.episode import EpisodeArrays
    from vla_core.eval.pool import WorkerPool

    results: queue.Queue = queue.Queue()

    def lost(job: dict, reason: str) -> dict:
        return {**job, "success": False, "length": 0, "error": f"worker lost: {reason}"}

    # workers split the cores (a --rollin policy runs torch in each: its default of all cores oversubscribes)
    threads = str(max(1, (os.cpu_count() or 1) // workers))
    pool = WorkerPool([sys.executable, "-m", "vla_core.data.worker"], min(workers, len(todo)),
                      {"rollout": rollout.to_dict(), "staging": str(staging)},
                      env={**os.environ, "OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads})
    failure: list[BaseException] = []

    def serve() -> None:
        try:
            pool.map([j.to_dict() for j in todo], results.put, lost)
        except BaseException as e:  # noqa: BLE001 - handed to the writer thread
            failure.append(e)
        finally:
            results.put(None)

    threading.Thread(target=serve, daemon=True).start()
    waiting: dict[int, dict] = {}
    position = 0
    while position < len(pending):
        j = pending[position]
        if j.index in ready:
            write(*ready.pop(j.index))
            position += 1
            continue
        if j.index in waiting:
            result = waiting.pop(j.index)
            episode = EpisodeArrays.load_npz(result["npz"])[0] if result.get("npz") else None
            write(result, episode)
            position += 1
            continue
        item = results.get()
        if item is None:
            raise failure[0] if failure else RuntimeError("the worker pool ended before every job was answered")
        waiting[int(item["index"])] = item


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        args = build_parser().parse_args(argv)
        settings = check_args(args)
        return run(args, settings)
    except UsageError as e:
        print(f"vla_core.collect: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
