"""The benchmark suite's sections (bench/run.py runs them in ORDER). Each fills its Section with
figures and their ratios to a baseline it measures itself, in this same run; each may raise, and the
runner records the error and goes on."""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from bench.scene import Scene, kitchen_scene
from bench.suite_report import Section

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PLANNER = "checkpoints/kitchen_r_planner"
ASR_REPORT = ROOT / "docs" / "results" / "asr_accuracy.json"  # where bench/asr_accuracy.py has always written
EVAL_DIR = ROOT / "reports" / "bench"  # the eval runs' own reports and logs (git-ignored)
EVAL_WORKERS = (1, 2)
SAMPLER_NAMES = {"ddim": "DDIM", "ddpm": "DDPM", "euler": "Euler", "heun": "Heun"}


@dataclass
class Suite:
    """The run's settings (bench/run.py's parsed flags), what the sections measured so far, and the
    live scene the latency sections share (built on first use)."""
    args: argparse.Namespace
    sections: dict[str, Section] = field(default_factory=dict)
    _scene: Scene | None = None

    def scene(self) -> Scene:
        if self._scene is None:
            self._scene = kitchen_scene()
        return self._scene

    def close(self) -> None:
        if self._scene is not None:
            self._scene.close()


def _shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def sim(suite: Suite, sec: Section) -> None:
    from bench import sim_speed

    r = sim_speed.measure(suite.args.seconds)
    base, n = r["env_steps_per_s_privileged_keypoints"], r["physics_substeps_per_env_step"]
    sec.what = (f"steps completed in {suite.args.seconds:g} s per figure on the first test pick_place task after "
                "reset; rendering with shadows and multisampling off")
    sec.baseline = (f"env steps/s with privileged keypoints; the physics row divides physics steps/s ÷ {n} "
                    "substeps (the env step rate if physics were all an env step did) by it")
    sec.add("physics steps/s (2 ms step)", r["physics_steps_per_s"], "steps/s", r["physics_steps_per_s"] / n / base)
    sec.add(f"env steps/s, privileged keypoints ({n} substeps + IK)", base, "steps/s", 1.0)
    sec.add("env steps/s, depth keypoints (224² head camera → open3d)", r["env_steps_per_s_depth_keypoints_224"],
            "steps/s", r["env_steps_per_s_depth_keypoints_224"] / base)
    sec.add("env steps/s, one 224² RGB camera", r["env_steps_per_s_rgb_224"], "steps/s",
            r["env_steps_per_s_rgb_224"] / base)


def policy(suite: Suite, sec: Section) -> None:
    from bench import lerobot_baseline, policy_speed
    from vla_core.policies.checkpoint import load_checkpoint

    a, scene = suite.args, suite.scene()
    sec.what = (f"ChunkPolicy.sample(obs, plan) on the live kitchen_r scene: one chunk (horizon 16), batch 1, "
                f"CPU, median of {a.calls} calls after one warm-up (the plan's sentence embedding is cached by "
                "then, as in an episode)")
    lr = lerobot_baseline.chunk_ms(scene, a.calls)
    ours = lerobot_baseline.param_count(load_checkpoint(a.diffusion)[0])
    sec.baseline = (f"lerobot {lr['lerobot']}'s DiffusionPolicy with random weights, down_dims {tuple(lr['down_dims'])}, "
                    f"{lr['params'] / 1e6:.2f} M parameters (ours, diffusion: {ours / 1e6:.2f} M), timed as "
                    f"{lerobot_baseline.TIMED}")
    for r in policy_speed.curve({"diffusion": a.diffusion, "flow": a.flow}, scene, a.calls):
        name = f"{r['policy']} {SAMPLER_NAMES.get(r['sampler'], r['sampler'])} {r['steps']}"
        sec.add(name, r["chunk_ms"], "ms/chunk", r["chunk_ms"] / lr["chunk_ms"], policy=r["policy"],
                sampler=r["sampler"], steps=r["steps"], checkpoint=r["checkpoint"],
                params=ours if r["policy"] == "diffusion" else None)
    sec.add(f"lerobot DiffusionPolicy DDIM {lr['steps']} (baseline)", lr["chunk_ms"], "ms/chunk", 1.0,
            policy="lerobot_diffusion", sampler="ddim", steps=lr["steps"], params=lr["params"])
    sec.notes.append(f"parameters: ours (diffusion) {ours:,}, lerobot's {lr['params']:,}")


def steering(suite: Suite, sec: Section) -> None:
    from bench import steering_speed

    a = suite.args
    sec.what = (f"SteeredPolicy.sample(obs, plan) (all particles in one batched forward pass, the checkpoint's own "
                f"sampler, program: {steering_speed.PROGRAM}); unsteered: ChunkPolicy.sample; batch 1, CPU, median "
                f"of {a.calls} calls after one warm-up")
    sec.baseline = "the same checkpoint's unsteered chunk"
    for r in steering_speed.measure({"diffusion": a.diffusion, "flow": a.flow}, suite.scene(), a.calls):
        n = r["particles"]
        label = "unsteered" if n == 0 else f"{n} particle{'s' if n > 1 else ''}"
        sec.add(f"{r['policy']} {label}", r["chunk_ms"], "ms/chunk", r["ratio"], policy=r["policy"],
                particles=r["particles"], checkpoint=r["checkpoint"])
    sec.notes.append("issue goal: ≤ 3× unsteered at 16 particles on CPU")


def planner(suite: Suite, sec: Section) -> None:
    from bench import planner_speed

    a, scene = suite.args, suite.scene()
    sec.what = (f"Planner.plan(obs) on the live kitchen_r scene, CPU, median of {a.calls} calls after one warm-up")
    sec.baseline = "one 10 Hz env step with privileged keypoints (50 physics substeps + IK, holding still)"
    oracle = planner_speed.oracle_ms(scene, a.calls)
    step = planner_speed.env_step_ms(scene, a.calls)  # after the oracle: stepping moves the simulator on
    sec.add("env step (baseline)", step, "ms", 1.0)
    sec.add("oracle planner (kind instruction)", oracle, "ms/call", oracle / step)
    path = a.planner_checkpoint or DEFAULT_PLANNER
    if a.planner_checkpoint is None and not (ROOT / path).exists():
        sec.notes.append(f"learned planner: skipped, no checkpoint at {path} (none ships yet; --planner-checkpoint)")
        return
    learned = planner_speed.learned_ms(ROOT / path, scene, a.calls)  # ROOT / an absolute path: that path
    sec.add("learned planner (kind instruction)", learned, "ms/call", learned / step, checkpoint=path)


def asr(suite: Suite, sec: Section) -> None:
    if not suite.args.asr:
        sec.skip("run with --asr (~1-2 min; it rewrites docs/results/asr_accuracy.json)")
        return
    from bench import asr_accuracy

    if asr_accuracy.main(["--out", str(ASR_REPORT)]) != 0:
        raise RuntimeError("bench/asr_accuracy.py failed")
    r = json.loads(ASR_REPORT.read_text())["prompted"]
    sec.what = (f"ASR wall time per utterance, bench/asr_accuracy.py: {len(r['rows'])} spoken commands (espeak-ng, "
                "noise at 30/20/10 dB SNR) through VoiceCore's energy VAD and Whisper base (faster-whisper int8, "
                "grammar prompt) as the voice node runs them")
    sec.baseline = "the ASR p50"
    p50 = r["asr_ms_p50"]
    sec.add("ASR p50", p50, "ms/utterance", 1.0)
    sec.add("ASR p95", r["asr_ms_p95"], "ms/utterance", r["asr_ms_p95"] / p50)
    sec.add("end of speech → text p50 (VAD hangover + ASR)", r["speech_end_to_text_ms_p50"], "ms",
            r["speech_end_to_text_ms_p50"] / p50)
    sec.notes.append(f"WER {100 * r['wer']:.1f} %, correction accuracy {100 * r['correction_accuracy']:.1f} %, "
                     f"wrong action {100 * r['wrong_action_rate']:.1f} %; full report {_shown(ASR_REPORT)}")


def evaluation(suite: Suite, sec: Section) -> None:
    from bench import eval_speed

    a = suite.args
    if a.eval_episodes == 0:
        sec.skip("--eval-episodes 0")
        return
    sec.what = (f"episodes per minute from sim/eval.py's own report (meta.episodes_per_min: episodes ÷ its wall time "
                f"from the first episode's setup to the last result), kitchen_r policy mode, the same "
                f"{a.eval_episodes} test episodes (seed {a.seed}) at each worker count, each run a subprocess")
    sec.baseline = f"the {EVAL_WORKERS[0]}-worker run"
    EVAL_DIR.mkdir(parents=True, exist_ok=True)
    base = None
    for w in EVAL_WORKERS:
        r = eval_speed.run_eval(a.eval_episodes, w, a.seed, EVAL_DIR)
        base = base or r["episodes_per_min"]
        sec.add(f"{w} worker{'s' if w > 1 else ''}", r["episodes_per_min"], "episodes/min",
                r["episodes_per_min"] / base, **r)
        used = "" if r["workers_used"] == w else f", only {r['workers_used']} used: fewer episodes than workers"
        sec.notes.append(f"{w} worker(s): `{r['command']}` ({r['wall_s']:.0f} s{used})")
    sec.notes.append("threads: sim/eval.py runs 1 worker in its own process with torch's default threads (all "
                     "cores) and gives each of W ≥ 2 workers cores ÷ W (OMP_NUM_THREADS); on a busy machine the "
                     "1-worker run suffers most, so read this section from an idle one")
    sec.notes.append("issue goal: ≥ 1.7× with 2 workers")


def memory(suite: Suite, sec: Section) -> None:
    sec.what = ("peak resident set, ru_maxrss: of this suite process over every section before this one "
                "(getrusage RUSAGE_SELF), and of each sim/eval.py run (getrusage RUSAGE_CHILDREN in the small "
                "bench/peak_rss.py launcher: the largest single process of the run, the eval or one of its "
                "workers, not their sum)")
    sec.baseline = "the suite process's peak"
    self_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB
    sec.add("suite process", self_mib, "MiB", 1.0)
    for r in suite.sections.get("eval", Section("")).rows:
        sec.add(f"sim/eval.py --workers {r['workers']} (largest process)", r["peak_rss_mib"], "MiB",
                r["peak_rss_mib"] / self_mib)
    # not the suite's own RUSAGE_CHILDREN: Linux gives each child the parent's peak at fork/exec, so
    # there it would read back the suite's size (bench/peak_rss.py)


def gpu(suite: Suite, sec: Section) -> None:
    import torch

    if not torch.cuda.is_available():
        sec.skip("no CUDA device present (torch.cuda.is_available() is False)")
        return
    from bench.policy_speed import device_latency_ms

    a = suite.args
    sec.what = (f"ChunkPolicy.sample(obs, plan) under torch.inference_mode, the checkpoint's own sampler, batch 1, "
                f"median of {a.calls} calls after one warm-up; the chunk's copy back to the CPU is in the time "
                f"(GPU: {torch.cuda.get_device_name(0)})")
    sec.baseline = "the same checkpoint on the CPU, same code path, 1 torch thread"
    for kind in ("diffusion", "flow"):
        ckpt = getattr(a, kind)
        cpu = device_latency_ms(ckpt, suite.scene(), a.calls, "cpu")
        cuda = device_latency_ms(ckpt, suite.scene(), a.calls, "cuda")
        sec.add(f"{kind} CPU (baseline)", cpu, "ms/chunk", 1.0, policy=kind, device="cpu")
        sec.add(f"{kind} GPU", cuda, "ms/chunk", cuda / cpu, policy=kind, device="cuda")


# key → (title, function), in the order they run; memory after the others so that its peaks cover them
ORDER: dict[str, tuple[str, Callable[[Suite, Section], None]]] = {
    "sim": ("kitchen_r simulation rates", sim),
    "policy": ("Policy chunk latency", policy),
    "steering": ("Steered chunk latency", steering),
    "planner": ("Planner latency", planner),
    "asr": ("ASR latency", asr),
    "eval": ("Evaluation throughput", evaluation),
    "gpu": ("GPU chunk latency", gpu),
    "memory": ("Peak memory", memory),
}


def run(suite: Suite, skip: set[str]) -> None:
    for key, (title, fn) in ORDER.items():
        sec = suite.sections[key] = Section(title)
        if key in skip:
            sec.skip("--skip")
            print(f"[bench] {key}: skipped: --skip", flush=True)
            continue
        print(f"[bench] {key}: {title} …", flush=True)
        t = time.perf_counter()
        try:
            fn(suite, sec)
        except Exception as e:  # noqa: BLE001 - a broken section is reported, not fatal: the rest still run
            sec.fail(f"{type(e).__name__}: {e}")
            print(f"[bench] {key} failed: {sec.reason}", file=sys.stderr, flush=True)
        sec.seconds = round(time.perf_counter() - t, 1)
        if sec.status == "skipped":
            print(f"[bench] {key}: skipped: {sec.reason}", flush=True)
