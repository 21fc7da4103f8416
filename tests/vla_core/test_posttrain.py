"""A YAY round end to end on the real parts: a (tiny, misled) learned planner drives the shipped
flow policy, the simulated corrector fixes its plans (collect --corrector), the corrected steps land in a
LeRobot dataset, and posttrain fine-tunes the planner on them until it says what the corrector said."""

import json
from pathlib import Path

import numpy as np
import pytest

from vla_core.collect import main as collect
from vla_core.corrections.rounds import main as rounds
from vla_core.data import read_episodes
from vla_core.planners.learned import LearnedPlanner
from vla_core.posttrain import main as posttrain
from vla_core.train_planner import main as train_planner

POLICY = Path(__file__).resolve().parents[2] / "checkpoints" / "kitchen_r_flow"
TINY = ["model.d_model=32", "model.layers=1", "model.heads=2", "batch_size=8", "val_every=2", "save_every=2",
        "warmup=1", "val_frac=0.5"]


def oracle_sentence(task: str) -> str:
    from sim.envs.kitchen_r.tasks import task_by_instruction

    return f"drive to the {task_by_instruction(task).goals[0].target}"


def mislead(ckpt: Path) -> None:
    """Teach the tiny planner a wrong rule: never the place the task names. (Two steps of training
    leave its choice to chance, and its mention features make chance often right.)"""
    from safetensors.torch import load_file, save_file

    from vla_core.planners.factors import MAX_MENTIONS

    w = load_file(str(ckpt / "model.safetensors"))
    w["out.target.gate.bias"][:MAX_MENTIONS] = -3.0
    save_file(w, str(ckpt / "model.safetensors"))


@pytest.fixture(scope="module")
def round_one(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("yay")
    data, planner, corr = tmp / "expert", tmp / "planner", tmp / "corrections"
    # eight episodes: the corrections' destinations are among the planner's entities
    assert collect(["--episodes", "8", "--out", str(data), "--category", "navigate", "--seed", "3"]) == 0
    assert train_planner([f"dataset={data}", f"out={planner}", *TINY, "steps=2"]) == 0
    mislead(planner / "final")
    assert collect(["--episodes", "2", "--out", str(corr), "--category", "navigate", "--seed", "5", "--corrector",
                    "--planner", str(planner / "final"), "--policy", str(POLICY), "--patience", "2",
                    "--max-steps", "60"]) == 0
    return data, planner, corr


def test_a_correction_round_records_every_episode_with_the_corrected_steps(round_one):
    _, _, corr = round_one
    episodes = read_episodes(corr)
    assert len(episodes) == 2  # kept whether they succeeded or not
    marked = np.concatenate([ep.corrected for ep in episodes])
    assert marked.any() and not marked.all()  # the corrector spoke after its patience, not before
    for ep in episodes:
        assert not ep.corrected[:2].any()
        said = {ep.instruction[t] for t in np.flatnonzero(ep.corrected)}
        assert said == {oracle_sentence(ep.task)}, (ep.task, said)  # what the oracle says for this task
    log = [json.loads(line) for line in (corr / "meta" / "vla_stack" / "episodes.jsonl").read_text().splitlines()]
    assert all(r["said"] for r in log) and all(r["corrected_steps"] > 0 for r in log)


def test_posttrain_learns_what_the_corrector_said(round_one, tmp_path):
    data, planner, corr = round_one
    out = tmp_path / "post"
    assert posttrain(["--planner", str(planner / "final"), "--corrections", str(corr), "--data", str(data),
                      "--out", str(out), "--steps", "150", "--lr", "3e-3", "--mix", "0.5", "--batch-size", "16",
                      "--ema", "0.5", "--threads", "1"]) == 0
    doc = json.loads((out / "final" / "config.json").read_text())
    before, after = doc["posttrain"]["before"], doc["metrics"]
    assert after["corrected_instruction_acc"] > before["corrected_instruction_acc"], (before, after)
    assert after["corrected_instruction_acc"] >= 0.9
    assert "corrected_subtask_acc" not in after  # the subtask a corrected step was on is the planner's own
    # 'drive to the X' was only ever said under a navigation: the corrections label the subtask kind too
    assert doc["posttrain"]["kind_from_sentence"] == doc["posttrain"]["corrected_steps"] > 0
    card = (out / "final" / "card.md").read_text()
    assert "python -m vla_core.posttrain" in card and "python -m vla_core.train_planner" in card
    assert LearnedPlanner.load(out / "final").kind == "instruction"
    # trained with history dropout (configs/train_planner.yaml): both run without their history input
    base = json.loads((planner / "final" / "config.json").read_text())
    assert base["inference"] == doc["inference"] == {"history": False}
    assert not LearnedPlanner.load(out / "final").history and LearnedPlanner.load(out / "final", history=True).history


def test_rounds_run_the_loop_and_report_its_curve(round_one, tmp_path):
    """evaluate P_0 → correction round → posttrain → evaluate P_1, each step the real CLI; the report
    comes from what they wrote, and a second run finds every step done."""
    data, planner, _ = round_one
    out = tmp_path / "rounds"
    args = ["--planner", str(planner / "final"), "--data", str(data), "--policy", str(POLICY), "--split", "train",
            "--category", "navigate", "--rounds", "1", "--episodes", "1", "--eval-episodes", "1", "--steps", "2",
            "--collect-seed", "5", "--workers", "1", "--threads", "1", "--out", str(out)]
    assert rounds(args) == 0
    doc = json.loads((out / "rounds.json").read_text())
    r0, r1 = doc["rounds"]
    assert (r0["round"], r1["round"], r1["planner"]) == (0, 1, str(out / "round1" / "planner" / "final"))
    assert r0["corrections"]["episodes"] == 1 and r0["corrections"]["corrected_steps"] > 0  # it was misled
    assert "corrections" not in r1 and r1["autonomous"]["n"] == 1
    for row, r in ((r0, 0), (r1, 1)):  # the numbers are the evaluations'
        ev = json.loads((out / f"round{r}" / "eval.json").read_text())
        assert row["autonomous"]["successes"] == sum(e["success"] for e in ev["episodes"])
        assert row["autonomous"]["episodes"] == [[e["task_id"], e["seed"], e["success"]] for e in ev["episodes"]]
    assert len(doc["meta"]["commands"]) == 4 and (out / "rounds.png").stat().st_size > 0
    stamp = (out / "round1" / "eval.json").stat().st_mtime_ns
    assert rounds(args) == 0 and (out / "round1" / "eval.json").stat().st_mtime_ns == stamp


def test_rounds_refuse_bad_input(round_one, tmp_path, capsys):
    data, planner, _ = round_one
    base = ["--planner", str(planner / "final"), "--data", str(data), "--out", str(tmp_path / "r")]
    assert rounds([*base, "--rounds", "-1"]) == 2 and "--rounds" in capsys.readouterr().err
    assert rounds([*base[:1], str(tmp_path / "none"), *base[2:]]) == 2 and "--planner" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_bad_input_is_refused(round_one, tmp_path, capsys):
    data, planner, corr = round_one
    base = ["--planner", str(planner / "final"), "--corrections", str(corr), "--data", str(data), "--out",
            str(tmp_path / "x")]
    assert posttrain([*base, "--mix", "1.5"]) == 2 and "--mix" in capsys.readouterr().err
    assert posttrain([*base, "--ema", "1"]) == 2 and "--ema" in capsys.readouterr().err
    assert posttrain([*base[:1], str(tmp_path / "none"), *base[2:]]) == 2 and "--planner" in capsys.readouterr().err
    assert posttrain([*base[:3], str(data), *base[4:]]) == 2 and "plan.corrected" in capsys.readouterr().err
    assert collect(["--episodes", "1", "--out", str(tmp_path / "c"), "--corrector"]) == 2
    assert "--planner" in capsys.readouterr().err
    assert collect(["--episodes", "1", "--out", str(tmp_path / "c"), "--planner", str(planner / "final")]) == 2
