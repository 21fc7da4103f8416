"""Learner roll-in, expert hand-over: the learner drives first, only the expert's part is recorded."""

from pathlib import Path

import numpy as np
import pytest

from sim.envs.kitchen_r import predicates as P
from sim.envs.kitchen_r.tasks import tasks_for
from sim.experts.kitchen_r import KitchenRExpert
from sim.experts.policy import ExpertPolicy
from vla_core.data.rollout import Job, RolloutConfig, RolloutRunner
from vla_core.planners import OraclePlanner

CKPT = Path(__file__).resolve().parents[3] / "checkpoints" / "kitchen_r_flow"


def _job(category: str, seed: int = 5) -> Job:
    return Job(0, tasks_for("train", category)[0].task_id, seed)


def test_handover_at_step_zero_records_the_plain_expert_episode(env):
    job = _job("open_close")
    plain, ep_plain = RolloutRunner(RolloutConfig(), env=env).run(job)
    handed, ep_handed = RolloutRunner(RolloutConfig(rollin=str(CKPT), rollin_frac=0.0), env=env).run(job)
    assert plain["success"] and handed["success"] and handed["handover"] == 0
    np.testing.assert_array_equal(ep_plain.action, ep_handed.action)
    np.testing.assert_array_equal(ep_plain.state, ep_handed.state)


def test_the_learner_drives_until_the_handover_and_only_the_expert_is_recorded(env):
    job = _job("knob")
    runner = RolloutRunner(RolloutConfig(rollin=str(CKPT), rollin_frac=0.3), env=env)
    result, ep = runner.run(job)
    at = result["handover"]
    assert 0 < at <= 0.3 * env.task.max_steps
    handed = result["handed_at"]
    assert handed >= at and handed % runner.handover.n_exec == 0  # a learner's chunk is not cut
    assert result["success"], result
    assert len(ep) == result["length"] - handed
    start = env.reset(job.seed, env.task)
    assert not np.allclose(ep.state[0], start.proprio.vector(), atol=1e-3)  # recording starts where the learner left it
    assert np.abs(np.diff(ep.action[:, 2:5], axis=0)).max() <= 0.03 + 1e-6  # the expert's own ≤ 3 cm EE steps
    # the expert had the task's whole budget after the hand-over
    assert runner.loop.config.max_steps == at + env.task.max_steps


def _run_expert_until(env, task, seed, stop):
    """Oracle + expert from reset until ``stop(plan, expert)``; returns that plan's subtask and the previous one's kind."""
    obs = env.reset(seed, task)
    expert, planner = ExpertPolicy(env), OraclePlanner(env, kind="instruction")
    planner.reset(task.instruction)
    prev = None
    for _ in range(800):
        plan = planner.plan(obs).plan
        if stop(plan, expert.expert):
            return plan.subtask, prev
        prev = plan.subtask.kind
        obs = env.step(expert.sample(obs, plan)[0, 0])
    raise AssertionError("the expert never got there")


def test_take_over_keeps_a_held_object_and_skips_a_drive_already_done(env):
    place, prev = _run_expert_until(env, tasks_for("train", "pick_place")[0], 5, lambda p, e: p.subtask.kind == "place")
    assert any(P.is_held(env.model, env.data, o, env.robot.finger_geoms) for o in env.layout.objects)
    fresh = KitchenRExpert(env)
    fresh.take_over(place, prev)
    assert fresh.grip == 1.0 and fresh.prev_kind == prev == "navigate"  # a fresh expert would open its hand here
    assert fresh.act(place)[-1] == 1.0

    task = tasks_for("train", "light")[0]
    # the expert's own drive in has just ended (the oracle's 'arrived' is looser than docked)
    switch, _ = _run_expert_until(env, task, 5, lambda p, e: e.memory.get("docked"))
    fresh.take_over(switch, "navigate")
    assert fresh.memory == {"docked": True} and fresh.grip == 0.0  # at the fixture's dock: straight to the lever
    env.reset(5, task)
    fresh.take_over(switch, None)
    assert fresh.memory == {"docked": False}  # from the start pose it drives there first


def test_no_hand_over_in_the_middle_of_a_grasp_the_learner_made(env):
    """A fresh expert starts a pick or a knob turn by opening its hand: it does not take over while the
    pick's target is in the fingers or the fingers are closed on a knob (it would demonstrate letting go)."""
    fresh = KitchenRExpert(env)
    task = tasks_for("train", "pick_place")[0]
    place, _ = _run_expert_until(env, task, 5, lambda p, e: p.subtask.kind == "place")
    pick = next(s for s in env.ground_truth_plan() if s.kind == "pick")
    assert not fresh.can_take_over(pick) and fresh.can_take_over(place)
    env.reset(5, task)
    assert fresh.can_take_over(pick)

    task = tasks_for("train", "knob")[0]
    turn, _ = _run_expert_until(env, task, 5, lambda p, e: p.subtask.kind != "navigate" and e.phase == 4)
    assert env.robot.gripper_width(env.data) < 0.06 and not fresh.can_take_over(turn)
    env.reset(5, task)
    assert fresh.can_take_over(turn)


@pytest.mark.parametrize("category, phase", [("pick_place", 1), ("knob", 2), ("light", 2)])
def test_take_over_resumes_a_final_approach_instead_of_starting_it_over(env, category, phase):
    """Handed a hand already on its way down onto the object (or in onto the knob, lever), a fresh expert
    carries on along that line; restarting would draw back first, the opposite of what demonstrations do there."""
    task = tasks_for("train", category)[0]
    sub, prev = _run_expert_until(env, task, 5, lambda p, e: p.subtask.kind != "navigate" and e.phase == phase
                                  and e.phase_steps == 3)
    ee = env.robot.ee_base(env.data)[0]
    fresh = KitchenRExpert(env)
    fresh.take_over(sub, prev)
    assert fresh.phase == phase
    step = fresh.act(sub)[2:5] - ee
    assert np.linalg.norm(step) < 0.031
    if category == "pick_place":
        assert step[2] < 0  # still going down
    env.reset(5, task)
    fresh.take_over(sub, None)
    assert fresh.phase == 0  # from the start pose: the approach from the beginning
