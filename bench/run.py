"""`make bench`: the benchmark suite → docs/benchmarks/report.json and report.md.

Sections (each skippable with --skip, each one's failure recorded in the report while the rest run):
sim (kitchen_r simulation rates), policy (chunk latency per sampler and step count vs lerobot's
DiffusionPolicy), steering (steered chunk latency per particle count), planner (oracle and learned
planner latency), asr (only with --asr), eval (sim/eval.py episodes/min at 1 and 2 workers), gpu
(chunk latency on CUDA when present), memory (peak resident sets). Figures come from one run on one
machine; every ratio divides by a baseline measured in the same run."""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("MUJOCO_GL", "osmesa")
os.environ.setdefault("PYOPENGL_PLATFORM", "osmesa")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bench import sections, suite_report  # noqa: E402

TORCH_THREADS = 1  # latency figures are per core: comparable across machines and with a loaded one


def _sections(text: str) -> set[str]:
    names = {s.strip() for s in text.split(",") if s.strip()}
    unknown = names - set(sections.ORDER)
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown section(s) {', '.join(sorted(unknown))}; "
                                         f"choose from {', '.join(sections.ORDER)}")
    return names


def _positive(cast):
    def check(text: str):
        v = cast(text)
        if v <= 0:
            raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
        return v
    return check


def _non_negative_int(text: str) -> int:
    v = int(text)
    if v < 0:
        raise argparse.ArgumentTypeError(f"must be ≥ 0, got {text}")
    return v


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seconds", type=_positive(float), default=3.0, help="sim: measuring time per figure")
    p.add_argument("--calls", type=_positive(int), default=20, help="latency sections: calls timed per figure "
                   "(median, after one warm-up)")
    p.add_argument("--skip", type=_sections, default=set(), metavar="A,B",
                   help=f"sections to leave out: {', '.join(sections.ORDER)}")
    p.add_argument("--asr", action="store_true", help="also the ASR section (bench/asr_accuracy.py, ~1-2 min; "
                   "rewrites docs/results/asr_accuracy.json)")
    p.add_argument("--eval-episodes", type=_non_negative_int, default=8, help="eval: episodes per worker count "
                   "(0 skips the section)")
    p.add_argument("--seed", type=int, default=0, help="eval: sim/eval.py's --seed")
    p.add_argument("--diffusion", default="checkpoints/kitchen_r_diffusion", help="diffusion checkpoint folder")
    p.add_argument("--flow", default="checkpoints/kitchen_r_flow", help="flow checkpoint folder")
    p.add_argument("--planner-checkpoint", default=None, help="learned planner checkpoint (default: "
                   f"{sections.DEFAULT_PLANNER} when it exists; a path given here must load)")
    p.add_argument("--out", default=str(ROOT / "docs" / "benchmarks"), help="output folder")
    return p


def machine(torch) -> dict:
    return {"cpu_count": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
            "torch": torch.__version__, "torch_threads": torch.get_num_threads(),
            "cuda": torch.cuda.is_available(), "gl": os.environ.get("MUJOCO_GL"),
            "load_avg_1m_start": round(os.getloadavg()[0], 2)}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser().parse_args(argv)
    import torch

    torch.set_num_threads(TORCH_THREADS)
    start = time.perf_counter()
    report = {"command": shlex.join(["python", "bench/run.py", *argv]),
              "date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()), "machine": machine(torch),
              "settings": {k: sorted(v) if isinstance(v, set) else v for k, v in vars(args).items()}}
    suite = sections.Suite(args)
    try:
        sections.run(suite, args.skip)
    finally:
        suite.close()
    report["machine"]["load_avg_1m_end"] = round(os.getloadavg()[0], 2)
    report["wall_s"] = round(time.perf_counter() - start, 1)
    out = Path(args.out)
    suite_report.write(report, suite.sections, out)
    failed = [k for k, s in suite.sections.items() if s.status == "error"]
    print(f"[bench] wrote {out / 'report.json'} and report.md in {report['wall_s']:.0f} s"
          + (f"; failed: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
