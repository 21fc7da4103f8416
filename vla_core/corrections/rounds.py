"""Yell At Your Robot's loop, round after round: evaluate the planner on its own, collect a round of
episodes under the simulated corrector, post-train on every correction so far, evaluate again.

    python -m vla_core.corrections.rounds --planner checkpoints/kitchen_r_planner \\
        --data data/kitchen_r_std data/kitchen_r_std2 --split test --category pick_place \\
        --rounds 2 --episodes 80 --eval-episodes 100 --out outputs/yay_pick_place \\
        --report docs/results/kitchen_r_correction_rounds.json

Round r's planner P_r (P_0 = --planner) is evaluated autonomously (sim/eval.py --mode integrated, no
corrections, the same --eval-seed episodes every round: success from simulator state); then, unless it
is the last round, it drives ``collect --corrector`` on the same split and category in other scenes
(collection seeds never meet evaluation seeds), and ``posttrain`` starts from P_r on the original data
plus all correction rounds so far, giving P_{r+1}. Each step is one of those commands, run as a child
process and printed; a step whose output exists is not run again, so a killed run continues where it
stopped (a half-written correction round resumes with collect --resume).

Writes --report (JSON: per round the planner, its autonomous success with a 95 % Wilson interval, and the
correction round it drove: episodes, success with help, corrected steps) and a PNG of the success curve
beside it. Exit codes: 0 ok, 2 bad input, 1 a step failed.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

from vla_core.cli import OneLineParser, UsageError

def build_parser() -> argparse.ArgumentParser:
    p = OneLineParser(prog="python -m vla_core.corrections.rounds", description=__doc__,
                      formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--planner", required=True, metavar="CKPT", help="the learned planner of round 0")
    p.add_argument("--data", required=True, nargs="+", metavar="DIR", help="the planner's original training data")
    p.add_argument("--policy", default="checkpoints/kitchen_r_flow", metavar="CKPT",
                   help="the chunk policy that executes (default checkpoints/kitchen_r_flow)")
    p.add_argument("--out", required=True, metavar="DIR", help="rounds' evaluations, corrections and planners")
    p.add_argument("--report", metavar="JSON", help="the curve's report (default OUT/rounds.json); a PNG beside it")
    p.add_argument("--split", default="test", help="kitchen_r task split (default test)")
    p.add_argument("--category", default=None, help="only this task category (default all)")
    p.add_argument("--rounds", type=int, default=2, help="correction rounds (default 2: planners P_0..P_2)")
    p.add_argument("--episodes", type=int, default=80, help="episodes per correction round (default 80)")
    p.add_argument("--eval-episodes", type=int, default=100, help="evaluation episodes per planner (default 100)")
    p.add_argument("--eval-seed", type=int, default=0, help="sim/eval.py --seed of every evaluation (default 0)")
    p.add_argument("--collect-seed", type=int, default=1000,
                   help="round r's corrections: collect --seed COLLECT_SEED + r, its own scenes (default 1000)")
    p.add_argument("--kind", default="instruction", help="the plan kind the planner speaks (default instruction)")
    p.add_argument("--steps", type=int, default=1000, help="posttrain steps per round (default 1000)")
    p.add_argument("--mix", type=float, default=0.1, help="posttrain --mix (default 0.1, YAY's)")
    p.add_argument("--ema", type=float, default=0.99, help="posttrain --ema (default 0.99)")
    p.add_argument("--workers", type=int, default=2, help="simulation worker processes (default 2)")
    p.add_argument("--threads", type=int, default=2, help="posttrain torch threads (default 2)")
    return p


class Rounds:
    """The paths and commands of each round; ``run`` skips a step whose output is already there."""

    def __init__(self, args: argparse.Namespace):
        self.args, self.out = args, Path(args.out)

    def planner(self, r: int) -> str:
        return self.args.planner if r == 0 else str(self.out / f"round{r}" / "planner" / "final")

    def evaluation(self, r: int) -> Path:
        return self.out / f"round{r}" / "eval.json"

    def corrections(self, r: int) -> Path:
        return self.out / f"round{r}" / "corrections"

    def eval_cmd(self, r: int) -> list[str]:
        a = self.args
        cat = ["--category", a.category] if a.category else []
        return [sys.executable, "sim/eval.py", "--bench", "kitchen_r", "--mode", "integrated", "--split", a.split,
                *cat, "--episodes", str(a.eval_episodes), "--workers", str(a.workers), "--seed", str(a.eval_seed),
                "--no-video", "--out", str(self.evaluation(r)), "--policy", "flow", "--checkpoint", a.policy,
                f"planner.checkpoint={self.planner(r)}", f"planner.kind={a.kind}", "policy.noise=zero"]

    def collect_cmd(self, r: int) -> list[str]:
        a = self.args
        cat = ["--category", a.category] if a.category else []
        resume = ["--resume"] if self.corrections(r).exists() else []
        return [sys.executable, "-m", "vla_core.collect", "--bench", "kitchen_r", "--corrector",
                "--planner", self.planner(r), "--planner-kind", a.kind, "--policy", a.policy, "--split", a.split,
                *cat, "--episodes", str(a.episodes), "--workers", str(a.workers), "--seed", str(a.collect_seed + r),
                "--out", str(self.corrections(r)), *resume]

    def posttrain_cmd(self, r: int) -> list[str]:
        """P_{r+1} from P_r on the original data and correction rounds 0..r."""
        a = self.args
        return [sys.executable, "-m", "vla_core.posttrain", "--planner", self.planner(r),
                "--corrections", *[str(self.corrections(i)) for i in range(r + 1)], "--data", *a.data,
                "--out", str(self.out / f"round{r + 1}" / "planner"), "--steps", str(a.steps), "--mix", str(a.mix),
                "--ema", str(a.ema), "--threads", str(a.threads)]

    def collected(self, r: int) -> bool:
        from vla_core.data.store import read_records

        try:
            return len(read_records(self.corrections(r))) >= self.args.episodes
        except (OSError, ValueError):
            return False

    def steps(self):
        """(name, done?, command) in order."""
        for r in range(self.args.rounds + 1):
            yield f"round {r}: evaluate", self.evaluation(r).exists(), self.eval_cmd(r)
            if r < self.args.rounds:
                yield f"round {r}: corrections", self.collected(r), self.collect_cmd(r)
                yield f"round {r + 1}: posttrain", Path(self.planner(r + 1)).exists(), self.posttrain_cmd(r)


def check_args(args: argparse.Namespace) -> None:
    for name, low in (("rounds", 0), ("episodes", 1), ("eval_episodes", 1), ("workers", 1), ("steps", 1),
                      ("threads", 1), ("collect_seed", 0), ("eval_seed", 0)):
        if getattr(args, name) < low:
            raise UsageError(f"--{name.replace('_', '-')} must be at least {low}, got {getattr(args, name)}")
    for flag, path in (("planner", args.planner), ("policy", args.policy), *[("data", d) for d in args.data]):
        if not Path(path).exists():
            raise UsageError(f"--{flag}: {path} does not exist")


def report(rounds: Rounds, path: Path, argv: list[str], commands: list[str]) -> dict:
    """The rounds' JSON and its PNG from what the steps wrote (a round not evaluated yet is left out)."""
    from vla_core.data.store import read_records
    from vla_core.eval.report import read_json

    rows = []
    for r in range(rounds.args.rounds + 1):
        if not rounds.evaluation(r).exists():
            break
        _, results, stats = read_json(rounds.evaluation(r))
        s = next(x for x in stats if x.category == "all")
        row = {"round": r, "planner": rounds.planner(r), "autonomous": {
            "n": s.n, "successes": s.successes, "rate": s.rate, "ci_low": s.ci_low, "ci_high": s.ci_high,
            "mean_length": s.mean_length,  # each episode: [task_id, seed, succeeded]
            "episodes": [[e.task_id, e.seed, e.succeeded] for e in results]}}
        if r < rounds.args.rounds and rounds.collected(r):
            recs = read_records(rounds.corrections(r))
            row["corrections"] = {"episodes": len(recs), "success_with_help": sum(bool(x.get("success")) for x in recs)
                                  / max(len(recs), 1), "corrected_steps": sum(int(x.get("corrected_steps") or 0)
                                                                              for x in recs)}
        rows.append(row)
    a = rounds.args
    doc = {"meta": {"command": "python -m vla_core.corrections.rounds " + " ".join(map(shlex.quote, argv)),
                    "split": a.split, "category": a.category or "all", "policy": a.policy, "kind": a.kind,
                    "eval_seed": a.eval_seed, "steps": a.steps, "mix": a.mix, "commands": commands},
           "rounds": rows}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2))
    if rows:
        plot_rounds(rows, path.with_suffix(".png"), f"kitchen_r {a.split} / {a.category or 'all'}: "
                                                     "autonomous success after each correction round")
    return doc


def plot_rounds(rows: list[dict], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    r = [x["round"] for x in rows]
    rate = [100 * x["autonomous"]["rate"] for x in rows]
    err = [[100 * (x["autonomous"]["rate"] - x["autonomous"]["ci_low"]) for x in rows],
           [100 * (x["autonomous"]["ci_high"] - x["autonomous"]["rate"]) for x in rows]]
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.errorbar(r, rate, yerr=err, marker="o", capsize=4, label="autonomous success (95 % Wilson)")
    helped = [(x["round"], 100 * x["corrections"]["success_with_help"]) for x in rows if "corrections" in x]
    if helped:
        ax.plot(*zip(*helped), "s--", color="gray", label="success with the corrector (its round)")
    ax.set(xlabel="correction rounds (post-trainings)", ylabel="success (%)", ylim=(0, 100), xticks=r, title=title)
    ax.title.set_fontsize(9)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    try:
        check_args(args)
    except UsageError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    rounds = Rounds(args)
    path = Path(args.report) if args.report else rounds.out / "rounds.json"
    commands = []
    for name, done, cmd in rounds.steps():
        shown = " ".join(map(shlex.quote, ["python", *cmd[1:]]))
        commands.append(shown)
        if done:
            print(f"== {name}: done already ({shown})", flush=True)
            continue
        print(f"== {name}: {shown}", flush=True)
        t0 = time.perf_counter()
        rc = subprocess.call(cmd, env={**os.environ, "HF_HUB_OFFLINE": "1"})
        if rc != 0:
            print(f"error: {name} exited with {rc}", file=sys.stderr)
            report(rounds, path, argv, commands)
            return 2 if rc == 2 else 1
        print(f"== {name}: {time.perf_counter() - t0:.0f} s", flush=True)
        report(rounds, path, argv, commands)
    doc = report(rounds, path, argv, commands)
    for row in doc["rounds"]:
        a = row["autonomous"]
        print(f"round {row['round']}: autonomous {100 * a['rate']:.1f} % [{100 * a['ci_low']:.1f}, "
              f"{100 * a['ci_high']:.1f}] of {a['n']}")
    print(f"wrote {path} and {path.with_suffix('.png')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
