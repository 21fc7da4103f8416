"""DART-style collection noise: executed actions are perturbed, recorded ones stay the expert's."""

import numpy as np
import pytest

from sim.envs.kitchen_r.tasks import tasks_for
from vla_core.data.noise import ActionNoise, BASE_SCALE
from vla_core.data.rollout import Job, RolloutConfig, RolloutRunner


def test_offset_statistics_and_seeding():
    n = ActionNoise(None, 0.01)
    n.rng = np.random.default_rng(0)
    x = np.stack([n.next_offset().copy() for _ in range(20000)])[200:]
    np.testing.assert_allclose(x.std(0), 0.01 * np.array([*BASE_SCALE, 1, 1, 1]), rtol=0.15)
    lag = [np.corrcoef(x[:-1, i], x[1:, i])[0, 1] for i in range(5)]
    assert np.allclose(lag, 0.9, atol=0.03)  # slowly varying, not white
    with pytest.raises(ValueError, match="sigma"):
        ActionNoise(None, -1.0)


def test_step_perturbs_position_and_a_driving_base_only(env):
    n = ActionNoise(env, 0.02)
    obs = n.reset(3, tasks_for("train", "navigate")[0])
    drive = np.concatenate([[0.3, 0.0], obs.proprio.ee_pos, obs.proprio.ee_quat, [0.0]])
    n.step(drive)
    d = n.last_executed - drive
    assert np.all(d[:5] != 0) and np.all(d[5:] == 0)  # base v ω, EE xyz moved; quaternion, gripper untouched
    first = n.last_executed.copy()
    n.reset(3, tasks_for("train", "navigate")[0])
    n.step(drive)
    np.testing.assert_array_equal(n.last_executed, first)  # an episode's noise follows its seed
    hold = drive.copy()
    hold[0] = 0.0
    for _ in range(5):
        n.step(hold)
        assert np.all(n.last_executed[:2] == 0) and np.any(n.last_executed[2:5] != hold[2:5])  # a parked base stays parked


def test_noisy_collection_records_the_experts_actions(env):
    task = tasks_for("train", "navigate")[0]
    runs = {}
    for sigma in (0.0, 0.02):
        result, ep = RolloutRunner(RolloutConfig(action_noise=sigma), env=env).run(Job(0, task.task_id, 5))
        assert result["success"], result
        runs[sigma] = ep
    assert not np.allclose(runs[0.0].state[:40, 15:18], runs[0.02].state[:40, 15:18])  # the noise was executed
    ee_cmd = runs[0.02].action[:, 2:5]
    assert np.abs(np.diff(ee_cmd, axis=0)).max() <= 0.03 + 1e-6  # the expert's own ≤ 3 cm steps, no jitter


def test_free_space_noise_is_larger_only_while_the_expert_says_so():
    free = {"now": True}
    n = ActionNoise(None, 0.01, free_sigma=0.05, free=lambda: free["now"])
    n.rng = np.random.default_rng(1)
    wide = np.stack([n.next_offset().copy() for _ in range(6000)])[200:, 2:]
    free["now"] = False
    narrow = np.stack([n.next_offset().copy() for _ in range(6000)])[200:, 2:]  # the wide offset fades first
    np.testing.assert_allclose(wide.std(0), 0.05, rtol=0.15)
    np.testing.assert_allclose(narrow.std(0), 0.01, rtol=0.15)
    with pytest.raises(ValueError, match="free"):
        ActionNoise(None, 0.01, free_sigma=0.05)


def test_the_expert_reaches_through_free_space_only_above_things(env):
    """in_free_space holds while a pick reaches above its object, not while it descends or grasps."""
    from sim.experts.policy import ExpertPolicy
    from vla_core.planners import OraclePlanner

    task = tasks_for("train", "pick_place")[0]
    obs = env.reset(5, task)
    expert, planner = ExpertPolicy(env), OraclePlanner(env, kind="instruction")
    planner.reset(task.instruction)
    seen = {}
    for _ in range(300):
        plan = planner.plan(obs).plan
        obs = env.step(expert.sample(obs, plan)[0, 0])
        seen.setdefault(plan.subtask.kind, set()).add(expert.in_free_space)
        if plan.subtask.kind == "place":
            break
    assert seen["navigate"] == {False} and seen["pick"] == {True, False}


@pytest.mark.parametrize("category", ["open_close", "light"])
def test_fixture_reaches_are_free_space_once_docked(env, category):
    """Docking is not free space (the base drives); the reach to the stand-off point in front
    of the handle or lever is; grasping and working it are not."""
    from sim.experts.policy import ExpertPolicy
    from vla_core.planners import OraclePlanner

    task = tasks_for("train", category)[0]
    obs = env.reset(5, task)
    expert, planner = ExpertPolicy(env), OraclePlanner(env, kind="instruction")
    planner.reset(task.instruction)
    flags, fixture = [], None
    for _ in range(600):
        out = planner.plan(obs)  # None once the task is done
        if out is None or (fixture is not None and out.plan.subtask != fixture):
            break
        plan = out.plan
        obs = env.step(expert.sample(obs, plan)[0, 0])
        if plan.subtask.kind == "navigate":
            assert not expert.in_free_space
            continue
        fixture = plan.subtask
        flags.append(expert.in_free_space)
    assert flags and not flags[0], "a fixture subtask starts by docking the base"
    first = flags.index(True)
    assert False in flags[first:], "free space ends before the handle is touched"
