"""The learned planner: labels from a real recorded dataset, training through the CLI, save/load,
and planning every kind on live kitchen_r observations."""

import json
from pathlib import Path

import numpy as np
import pytest

from sim.envs.kitchen_r.env import KitchenREnv
from sim.envs.kitchen_r.tasks import tasks_for
from vla_core.collect import main as collect
from vla_core.planners.learned import LearnedPlanner, history_index, motion_index
from vla_core.plans import Instruction, LanguageMotion, Path3D
from vla_core.plans.motion import MOTION_VOCAB
from vla_core.train_planner import main as train_planner

ROOT_CKPT = Path(__file__).resolve().parents[3] / "checkpoints" / "kitchen_r_planner"
TINY = ["model.d_model=32", "model.layers=1", "model.heads=2", "batch_size=8", "val_every=2", "save_every=2",
        "warmup=1", "val_frac=0.5"]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("ds") / "kitchen"
    assert collect(["--episodes", "2", "--out", str(root), "--category", "pick_place", "--max-steps", "120",
                    "--keep-failures"]) == 0
    return root


@pytest.fixture(scope="module")
def trained(dataset, tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "planner"
    assert train_planner([f"dataset={dataset}", f"out={out}", *TINY, "steps=4"]) == 0
    return out


def test_history_is_the_previous_different_subtask_of_the_episode():
    ids = np.array([0, 0, 1, 1, 2, 5, 5, 6])
    start = np.array([0, 0, 0, 0, 0, 5, 5, 5])  # a second episode starts at step 5
    assert history_index(ids, start).tolist() == [-1, -1, 0, 0, 1, -1, -1, 5]
    assert motion_index(MOTION_VOCAB[3]) == 3 and motion_index("dance") == -1 and motion_index(None) == -1


def test_training_writes_a_checkpoint_with_per_head_accuracy(trained):
    doc = json.loads((trained / "final" / "config.json").read_text())
    assert doc["format"] == "vla_stack.planner/2" and doc["step"] == 4
    m = doc["metrics"]
    assert {"subtask_acc", "instruction_acc", "motion_acc", "path_mean_error_m"} <= set(m)
    assert all(0.0 <= m[k] <= 1.0 for k in ("subtask_acc", "instruction_acc", "motion_acc"))
    mc = doc["model"]
    assert {"navigate", "pick"} <= set(mc["kinds"])  # two pick-and-place episodes cut at 120 steps
    assert all("_" in e or e.isalpha() for e in mc["entities"]) and len(mc["entities"]) >= 3
    assert "drive to the {target}" in mc["templates"]  # fine-grained sentences over the subtask's names
    assert all("{target}" in t for t in mc["templates"])
    assert "python -m vla_core.train_planner" in (trained / "final" / "card.md").read_text()


@pytest.mark.parametrize("kind, plan_type", [("subtask", Instruction), ("instruction", Instruction),
                                             ("motion", LanguageMotion), ("path", Path3D)])
def test_loaded_planner_speaks_every_kind(trained, kind, plan_type):
    env = KitchenREnv()
    task = tasks_for("test", "pick_place")[0]
    obs = env.reset(7, task)
    planner = LearnedPlanner.load(trained / "final", kind=kind)
    planner.reset(obs.task)
    for _ in range(3):
        res = planner.plan(obs)
        assert isinstance(res.plan, plan_type) and 0.0 <= res.confidence <= 1.0
        assert res.plan.subtask is not None
        obs = env.step(np.concatenate([[0.0, 0.0], obs.proprio.ee_pos, obs.proprio.ee_quat, [0.0]]))
    if kind == "path":
        assert res.plan.waypoints.shape == (8, 4) and np.all(np.isfinite(res.plan.waypoints))
    env.close()


def test_bad_input_is_exit_2(dataset, trained, tmp_path, capsys):
    assert train_planner([f"dataset={tmp_path / 'none'}", f"out={tmp_path / 'x'}"]) == 2
    assert "dataset not found" in capsys.readouterr().err
    assert train_planner([f"dataset={dataset}", f"out={trained}", *TINY, "steps=6", "model.d_model=16"]) == 2
    assert "cannot resume" in capsys.readouterr().err
    assert train_planner(["steps=oops"]) == 2 and "steps must be a positive integer" in capsys.readouterr().err
    assert train_planner(["nosuchkey=1"]) == 2 and "bad config/override" in capsys.readouterr().err
    with pytest.raises(ValueError, match="kind"):
        LearnedPlanner.load(trained / "final", kind="poem")


def test_integrated_mode_runs_the_learned_planner_in_closed_loop(trained, tmp_path):
    """sim/eval.py --mode integrated: the learned planner's subtasks drive the expert (a planner-only
    closed-loop check); the report is written whatever the (tiny model's) success."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[3]
    out = tmp_path / "r.json"
    r = subprocess.run([sys.executable, str(root / "sim" / "eval.py"), "--mode", "integrated", "--planner", "learned",
                        "--policy", "expert", "--episodes", "1", "--category", "navigate", "--workers", "1",
                        "--no-video", "--out", str(out), f"planner.checkpoint={trained / 'final'}",
                        "planner.kind=subtask"], capture_output=True, text=True, cwd=root, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    rep = json.loads(out.read_text())
    assert rep["meta"]["mode"] == "integrated" and rep["meta"]["planner"] == "learned"
    assert len(rep["episodes"]) == 1 and rep["episodes"][0]["error"] is None


def test_planner_mode_scores_every_head_against_the_oracle(trained, tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[3]
    out = tmp_path / "p.json"
    r = subprocess.run([sys.executable, str(root / "sim" / "eval.py"), "--mode", "planner", "--planner", "learned",
                        "--episodes", "1", "--category", "navigate", "--workers", "1", "--no-video", "--out", str(out),
                        f"planner.checkpoint={trained / 'final'}"], capture_output=True, text=True, cwd=root, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    rep = json.loads(out.read_text())
    ep = rep["episodes"][0]
    assert ep["success"] and ep["error"] is None  # the oracle + expert drove
    m = ep["plan_metrics"]
    assert set(m) == {"subtask_acc", "instruction_acc", "motion_acc", "path_mean_error_m", "path_final_error_m"}
    assert all(0.0 <= m[k] <= 1.0 for k in ("subtask_acc", "instruction_acc", "motion_acc"))
    assert rep["meta"]["plan_metrics"]["all"] == m
    assert "subtask %" in r.stdout and "path_mean err cm" in r.stdout


def test_plan_metrics_count_matches_and_path_distances():
    from vla_core.data.episode import EpisodeArrays
    from vla_core.planners.scoring import plan_metrics

    path = np.zeros((2, 8, 4), np.float32)
    ep = EpisodeArrays(task="t", state=np.zeros((2, 18), np.float32), action=np.zeros((2, 10), np.float32),
                       subtask=["pick:red_mug", "pick:red_mug"], instruction=["grasp the red mug", "lift the red mug"],
                       motion=["stop", "close gripper"], path=path)
    shifted = np.zeros((8, 4))
    shifted[:, 0] = 0.1
    shifted[-1, 0] = 0.3
    preds = [{"subtask": ("pick:red_mug", 0.9), "instruction": ("grasp the red mug", 0.8), "motion": ("stop", 0.5),
              "path": shifted},
             {"subtask": ("navigate:table", 0.9), "instruction": ("grasp the red mug", 0.8), "motion": ("close gripper", 0.5),
              "path": np.zeros((8, 4))}]
    m = plan_metrics(preds, ep)
    assert m["subtask_acc"] == 0.5 and m["instruction_acc"] == 0.5 and m["motion_acc"] == 1.0
    assert m["path_mean_error_m"] == pytest.approx((7 * 0.1 + 0.3) / 8 / 2) and m["path_final_error_m"] == pytest.approx(0.15)
    with pytest.raises(ValueError, match="predictions"):
        plan_metrics(preds[:1], ep)


def test_calibration_writes_thresholds_the_planner_abstains_below(dataset, trained, tmp_path, capsys):
    import shutil

    from vla_core.planners.calibrate import main as calibrate

    ck = tmp_path / "ck"
    shutil.copytree(trained / "final", ck)
    assert calibrate([str(ck), "--dataset", str(dataset), "--risk", "0.5", "--delta", "0.5"]) == 0
    cal = json.loads((ck / "config.json").read_text())["calibration"]
    assert set(cal) == {"subtask", "instruction", "motion"}
    for c in cal.values():
        assert c["n"] > 0 and c["risk"] == 0.5 and (c["threshold"] is None or 0.0 <= c["threshold"] <= 1.0)
        if c["threshold"] is not None:  # what it acts on meets the target on the calibration data
            assert c["empirical_risk"] <= 0.5
    assert "threshold" in capsys.readouterr().out
    # the semantics, with thresholds set by hand: τ = 1.01 always abstains, τ = 0 never does
    env = KitchenREnv()
    obs = env.reset(7, tasks_for("test", "pick_place")[0])
    for tau, abstains in ((1.01, True), (0.0, False)):
        doc = json.loads((ck / "config.json").read_text())
        doc["calibration"]["instruction"]["threshold"] = tau
        (ck / "config.json").write_text(json.dumps(doc))
        planner = LearnedPlanner.load(ck, kind="instruction")
        planner.reset(obs.task)
        res = planner.plan(obs)
        assert (res.abstain_reason is not None) == abstains and isinstance(res.plan, Instruction)
    env.close()
    assert calibrate([str(ck), "--dataset", str(tmp_path / "none")]) == 2
    assert calibrate([str(ck), "--dataset", str(dataset), "--risk", "2"]) == 2


def test_plan_metrics_report_abstention_and_selective_risk():
    from vla_core.data.episode import EpisodeArrays
    from vla_core.planners.scoring import plan_metrics

    ep = EpisodeArrays(task="t", state=np.zeros((4, 18), np.float32), action=np.zeros((4, 10), np.float32),
                       subtask=["pick:red_mug"] * 4)
    preds = [{"subtask": (k, c), "path": np.zeros((8, 4))} for k, c in
             (("pick:red_mug", 0.9), ("navigate:table", 0.8), ("pick:red_mug", 0.2), ("navigate:table", 0.1))]
    m = plan_metrics(preds, ep, {"subtask": 0.5})
    assert m["subtask_acc"] == 0.5 and m["subtask_abstain"] == 0.5 and m["subtask_risk"] == 0.5


def test_history_dropout_hides_the_history_of_training_draws_only(dataset):
    """The planner says its own history at inference; training draws lose theirs at history_dropout,
    validation batches (drawn by index) keep it."""
    from sim.envs import landmarks
    from vla_core.data.reader import read_datasets
    from vla_core.policies.text import shared_encoder
    from vla_core.training.chunks import build_chunk_data
    from vla_core.training.planner_data import PlannerSampler, planner_labels

    episodes, fps = read_datasets([str(dataset)])
    names = list(episodes[0].keypoint_names)
    data = build_chunk_data(episodes, names, shared_encoder(), 8, fps=fps, landmarks=landmarks("kitchen_r"))
    steps = np.arange(len(data))
    labels = planner_labels(data, episodes, steps)
    with_history = steps[labels.history >= 0]
    assert len(with_history)
    s = PlannerSampler(data, labels, with_history, names, landmarks("kitchen_r"), seed=0, history_dropout=0.999)
    assert float(s.batch(64)["history"].abs().sum()) == 0.0  # every draw without it
    assert float(s.batch(idx=with_history[:8])["history"].abs().sum(-1).min()) > 0  # by index: kept
    keep = PlannerSampler(data, labels, with_history, names, landmarks("kitchen_r"), seed=0)
    assert float(keep.batch(64)["history"].abs().sum(-1).min()) > 0


def test_a_sentence_never_keeps_a_slot_its_subtask_cannot_fill(tmp_path):
    """Stage two picks among every template; one naming a destination under a subtask without one
    ('carry the blue block over the {dest}' for a pick) is not a sentence: it is never chosen."""
    import shutil

    from safetensors.torch import load_file, save_file

    ckpt = tmp_path / "planner"
    shutil.copytree(ROOT_CKPT, ckpt)
    w = load_file(str(ckpt / "model.safetensors"))
    cfg = json.loads((ckpt / "config.json").read_text())["model"]
    w["out.kind.bias"][:] = -50.0
    w["out.kind.bias"][cfg["kinds"].index("pick")] = 50.0  # every subtask a pick: no destination
    for i, t in enumerate(cfg["templates"]):
        w["out.template.bias"][i] = 50.0 if "{dest}" in t else 0.0  # and the destination templates favoured
    save_file(w, str(ckpt / "model.safetensors"))
    env = KitchenREnv()
    obs = env.reset(7, tasks_for("test", "pick_place")[0])
    planner = LearnedPlanner.load(ckpt, kind="instruction")
    planner.reset(obs.task)
    res = planner.plan(obs)
    env.close()
    assert res.plan.subtask.kind == "pick" and "{" not in res.plan.text and res.plan.text, res.plan
