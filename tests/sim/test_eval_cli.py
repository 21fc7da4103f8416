"""sim/eval.py: clear errors with exit code 2, --list, and a real (small) run with a report."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
EVAL = [sys.executable, str(ROOT / "sim" / "eval.py")]


def run(*args, timeout=300):
    return subprocess.run(EVAL + list(args), capture_output=True, text=True, timeout=timeout, cwd=ROOT)


@pytest.mark.parametrize("args, message", [
    (["--bench", "nope"], "unknown bench"),
    (["--bench", "calvin", "--episodes", "1001"], "the CALVIN protocol has 1000 chains"),
    (["--bench", "calvin", "bench.layout=E"], "unknown CALVIN layout 'E'"),
    (["--bench", "calvin", "--category", "stack"], "runs whole chains"),
    (["--bench", "calvin", "--mode", "integrated"], "CALVIN is evaluated in --mode policy"),
    (["--bench", "calvin", "--policy", "flow"], "acts in 10-D, calvin in 8-D"),
    (["--bench", "calvin", "bench.obs_mode=depth"], "CALVIN observations are privileged"),
    (["--mode", "dance"], "invalid choice"),
    (["--split", "val"], "invalid choice"),
    (["--policy", "nope"], "bad config"),
    (["--policy", "expert", "--checkpoint", "/no/such"], "takes no checkpoint"),
    (["--policy", "remote", "--checkpoint", "/no/such"], "the server loads its own"),
    (["--policy", "remote", "policy.server=localhost"], "policy.server: policy server must be 'host:port'"),
    (["--policy", "remote", "policy.server=127.0.0.1:9"], "no policy server ready at 127.0.0.1:9"),
    (["--policy", "diffusion", "--checkpoint", "/no/such"], "checkpoint not found"),
    (["--policy", "flow", "--checkpoint", str(ROOT / "configs")], "not a checkpoint folder"),
    (["episodes==3"], "bad config"),
    (["justaword"], "malformed override"),
    (["--episodes", "0"], "at least 1"),
    (["--category", "juggling"], "unknown category"),
    (["split=foo"], "unknown split"),
    (["seed=abc"], "seed must be an integer"),
    (["n_exec=0"], "n_exec must be at least 1"),
    (["replan=sometimes"], "replan must be one of"),
    (["video_every=0"], "video_every must be at least 1"),
    (["bench.obs_mode=foo"], "obs_mode"),
    (["--mode", "integrated", "--planner", "oracle"], "--mode integrated evaluates a learned planner: --planner learned"),
    (["--mode", "integrated", "--planner", "learned", "planner.checkpoint=/no/such"], "planner.checkpoint: checkpoint not found"),
    (["--mode", "planner", "--planner", "oracle"], "--mode planner evaluates a learned planner"),
    (["--mode", "integrated", "--planner", "vlm", "--policy", "expert"], "planner.model must name"),
    (["--mode", "integrated", "--planner", "vlm", "planner.model=/x"], "add it to bench.cameras"),
    (["--mode", "planner", "--policy", "flow"], "--mode planner scores the planner along the oracle + expert"),
    (["--mode", "policy", "--planner", "learned"], "--mode policy evaluates a policy under oracle plans"),
    (["mode=policy", "planner.kind=poem"], "planner.kind must be one of subtask, instruction, path,"),
    (["planner.kind=poem"], "planner.kind must be one of"),
    (["--split", "perturbed", "--category", "knob"], "choose from obstacle, shifted, clutter"),
    (["--policy", "expert", "--steering", "on"], "steering steers a learned diffusion or flow policy"),
    (["--steering", "off", "--steering-ablation", "no-grad"], "needs steering on"),
    (["--steering", "sometimes"], "invalid choice"),
    (["steering.enabled=true", "steering.ablation=no-luck"], "steering.ablation must be one of"),
    (["--out", "report.png"], ".json"),
    (["--out", "/proc/no/such/report.json"], "cannot write"),
    (["--suite", "spatial"], "--suite picks a LIBERO suite; bench 'kitchen_r' has none"),
    (["--bench", "libero", "--suite", "kitchen"], "unknown LIBERO suite 'kitchen'"),
    (["--bench", "libero", "--category", "spatial/12"], "category names one task of the suite"),
    (["--bench", "libero", "--episodes", "501"], "the spatial protocol has 500 episodes"),
    (["--bench", "libero", "--mode", "integrated"], "LIBERO is evaluated in --mode policy"),
    (["--bench", "libero", "--policy", "flow"], "acts in 10-D, libero in 8-D"),
    (["--bench", "libero", "bench.obs_mode=depth"], "LIBERO observations are privileged"),
])
def test_bad_input_is_one_line_and_exit_2(args, message):
    r = run(*args)
    assert r.returncode == 2, r.stderr
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and message in lines[0], r.stderr


def test_list_prints_every_instruction():
    r = run("--list")
    assert r.returncode == 0
    rows = [line.split("\t") for line in r.stdout.splitlines()]
    assert len(rows) >= 500 and all(len(row) == 4 for row in rows)
    assert {row[2] for row in rows} == {"train", "test"}


def test_libero_list_names_the_suites_tasks():
    r = run("--bench", "libero", "--suite", "object", "--list")
    assert r.returncode == 0, r.stderr[-2000:]
    rows = [line.split("\t") for line in r.stdout.splitlines()]
    assert [row[0] for row in rows] == [f"object/{i}" for i in range(10)]
    assert rows[1][3] == "pick up the cream cheese and place it in the basket"


def test_calvin_list_names_its_34_tasks():
    r = run("--bench", "calvin", "--list")
    assert r.returncode == 0, r.stderr[-2000:]
    rows = [line.split("\t") for line in r.stdout.splitlines()]
    assert len(rows) == 34 and rows[0][0] == "calvin/rotate_red_block_left"
    assert ("calvin/open_drawer", "drawer", "calvin", "pull the handle to open the drawer") in map(tuple, rows)


def test_calvin_chains_run_with_the_expert_and_a_video(tmp_path):
    """The chain protocol through the CLI: the first chains, judged instruction by instruction."""
    out = tmp_path / "report.json"
    r = run("--bench", "calvin", "--episodes", "3", "--workers", "1", "--video", str(tmp_path / "v"),
            "video_episodes=1", "video_every=8", "--out", str(out), timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    report = json.loads(out.read_text())
    meta = report["meta"]
    assert meta["bench"] == "calvin" and meta["split"] == "layout D" and meta["policy"] == "expert"
    eps = report["episodes"]
    assert [e["seed"] for e in eps] == [0, 1, 2] and all(e["error"] is None for e in eps)
    assert all(e["goals_total"] == 5 and 0 <= e["goals_met"] <= 5 for e in eps)
    chains = meta["chains"]
    assert chains["avg_len"] == sum(e["goals_met"] for e in eps) / 3
    assert chains["in_a_row"]["1"] >= chains["in_a_row"]["5"]
    assert (tmp_path / "v" / "chain0000.mp4").stat().st_size > 0
    assert "avg. length" in r.stdout


@pytest.mark.slow
def test_libero_protocol_run_with_the_expert_and_a_video(tmp_path):
    """The real LIBERO through the CLI: the protocol's first episodes, LIBERO's checker, a report."""
    out = tmp_path / "report.json"
    r = run("--bench", "libero", "--suite", "spatial", "--episodes", "2", "--category", "spatial/8", "--workers", "1",
            "--video", str(tmp_path / "v"), "video_episodes=1", "video_every=4", "--out", str(out), timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    report = json.loads(out.read_text())
    assert report["meta"]["bench"] == "libero" and report["meta"]["split"] == "spatial"
    assert report["meta"]["policy"] == "expert"
    eps = report["episodes"]
    assert [(e["task_id"], e["seed"]) for e in eps] == [("spatial/8", 0), ("spatial/8", 1)]  # initial states 0, 1
    assert all(e["error"] is None and e["length"] <= 220 for e in eps)
    assert sum(e["success"] for e in eps) >= 1
    assert len(list((tmp_path / "v").glob("*.mp4"))) == 1


def test_small_run_writes_report_chart_and_video(tmp_path):
    out = tmp_path / "report.json"
    r = run("--mode", "policy", "--policy", "expert", "--episodes", "2", "--category", "navigate", "--workers", "2",
            "--video", str(tmp_path / "v"),
            "--out", str(out), "video_episodes=1")
    assert r.returncode == 0, r.stderr[-2000:]
    assert "navigate" in r.stdout and "95% CI" in r.stdout
    report = json.loads(out.read_text())
    assert report["meta"]["episodes"] == 2 and len(report["episodes"]) == 2
    assert all(e["success"] for e in report["episodes"])  # the expert navigates reliably
    assert out.with_suffix(".png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(list((tmp_path / "v").glob("*.mp4"))) == 1


def tiny_checkpoint(path):
    import torch

    from sim.envs.kitchen_r.env import KEYPOINT_NAMES
    from vla_core.policies.checkpoint import save_checkpoint
    from vla_core.policies.chunk_model import ChunkModel, ChunkModelConfig

    cfg = ChunkModelConfig(kind="diffusion", keypoint_names=list(KEYPOINT_NAMES), horizon=8, n_exec=4, d_model=32,
                           layers=1, heads=2, unet_dims=[16, 32], infer_steps=2)
    return save_checkpoint(ChunkModel(cfg, torch.randn(len(KEYPOINT_NAMES), 384)), path)


def test_sampler_must_fit_the_checkpoint_kind(tmp_path):
    r = run("--policy", "diffusion", "--checkpoint", str(tiny_checkpoint(tmp_path / "ck")), "policy.sampler=euler")
    assert r.returncode == 2 and "does not fit a diffusion policy" in r.stderr


def test_loop_executes_the_policys_own_n_exec_unless_overridden(tmp_path):
    from sim.evaluation import EpisodeRunner

    ck = str(tiny_checkpoint(tmp_path / "ck"))
    cfg = {"bench": {"name": "kitchen_r", "obs_mode": "privileged", "cameras": [], "image_size": 64},
           "policy": {"name": "diffusion", "checkpoint": ck}, "n_exec": None, "video_every": 1}
    assert EpisodeRunner(cfg).loop_config.n_exec == 4
    assert EpisodeRunner({**cfg, "n_exec": 2}).loop_config.n_exec == 2
    assert EpisodeRunner({**cfg, "policy": {"name": "expert"}}).loop_config.n_exec == 1


def test_learned_policy_runs_through_the_cli(tmp_path):
    """A (tiny, untrained) diffusion checkpoint drives the real loop: load, sample, step, report."""
    tiny_checkpoint(tmp_path / "ck")
    out = tmp_path / "report.json"
    r = run("--mode", "policy", "--policy", "diffusion", "--checkpoint", str(tmp_path / "ck"), "--episodes", "1",
            "--category", "navigate", "--workers", "1", "--no-video", "--out", str(out), "policy.steps=1")
    assert r.returncode == 0, r.stderr[-2000:]
    report = json.loads(out.read_text())
    assert report["meta"]["policy"] == "diffusion"
    assert report["episodes"][0]["error"] is None and report["episodes"][0]["length"] > 0


def test_steered_policy_on_the_perturbed_split_through_the_cli(tmp_path):
    """--split perturbed --steering on: the oracle writes programs, the steered policy samples
    particles through the tiny checkpoint's sampler, and the report names variants and steering."""
    tiny_checkpoint(tmp_path / "ck")
    out = tmp_path / "report.json"
    r = run("--split", "perturbed", "--category", "obstacle", "--policy", "diffusion", "--checkpoint",
            str(tmp_path / "ck"), "--episodes", "1", "--workers", "1", "--no-video", "--out", str(out),
            "policy.steps=2", "--steering-ablation", "no-resample", "steering.guidance.particles=2",
            "n_exec=8")
    assert r.returncode == 0, r.stderr[-2000:]
    report = json.loads(out.read_text())
    assert report["meta"]["steering"] == "no-resample" and report["meta"]["split"] == "perturbed"
    ep = report["episodes"][0]
    assert ep["error"] is None and ep["category"] == "pick_place/obstacle" and ep["length"] > 0


def test_a_policy_server_drives_the_same_episode_as_the_policy_in_process(tmp_path):
    """--policy remote: the runtime loop's chunks come from `python -m vla_core.serve` over loopback (the
    client the ROS agent uses), and they are the chunks the same checkpoint gives in-process for the same
    observations and plans, call after call (the server keeps the episode's history as the local policy does).
    Compared on the in-process episode's inputs, not on two closed loops: a random network turns the
    1e-6 float differences of another process into diverging episodes within a few chunks."""
    sys.path.insert(0, str(ROOT / "tests" / "vla_core" / "serve"))
    from serve_fixtures import ServerProcess, free_port

    from sim.envs import make_env
    from sim.envs.kitchen_r.tasks import tasks_for
    from sim.evaluation import make_policy
    from vla_core.planners import OraclePlanner
    from vla_core.runtime import LoopConfig, RuntimeLoop

    ckpt = tiny_checkpoint(tmp_path / "ck")
    port = free_port()
    server = ServerProcess(ckpt, port, tmp_path / "server.log", "--noise", "zero").start().wait_ready()
    try:
        r = run("--policy", "remote", f"policy.server=127.0.0.1:{port}", "--episodes", "1", "--category", "navigate",
                "--workers", "1", "--no-video", "--out", str(tmp_path / "r.json"))
        assert r.returncode == 0, r.stderr[-2000:]
        episode = json.loads((tmp_path / "r.json").read_text())["episodes"][0]
        assert episode["error"] is None and episode["length"] > 0
        env = make_env("kitchen_r")
        local = make_policy({"name": "diffusion", "checkpoint": str(ckpt), "noise": "zero"}, env)
        remote = make_policy({"name": "remote", "server": f"127.0.0.1:{port}"}, env)
        calls = []  # (obs, plan, chunk) the in-process policy was asked and answered

        class Recorded:
            n_exec, action_dim = local.n_exec, local.action_dim
            reset = local.reset

            def sample(self, obs, plan, n=1, guide=None):
                calls.append((obs, plan, local.sample(obs, plan, n)[0]))
                return calls[-1][2][None]

        loop = RuntimeLoop(env, OraclePlanner(env, kind="instruction"), Recorded(),
                           LoopConfig(n_exec=local.n_exec, max_steps=24))
        loop.run_episode(7, tasks_for("test", "pick_place")[0])
        env.close()
        remote.reset()
        served = [remote.sample(obs, plan)[0] for obs, plan, _ in calls]
    finally:
        server.stop()
    assert len(calls) == 6 and remote.n_exec == 4  # 24 steps in chunks of the server's n_exec, from its hello
    np.testing.assert_allclose(np.array(served), np.array([c for _, _, c in calls]), atol=1e-4)
