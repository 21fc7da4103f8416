"""The oracle's Path3D plans: the expert's own future EE path, looked ahead in the simulator."""

import numpy as np
import pytest

from sim.envs import make_env
from sim.envs.kitchen_r.tasks import tasks_for
from sim.experts.lookahead import ee_world
from sim.experts.policy import ExpertPolicy
from vla_core.planners import OraclePlanner
from vla_core.plans import Path3D


@pytest.fixture(scope="module")
def env():
    e = make_env("kitchen_r", obs_mode="privileged", cameras=(), image_size=64)
    yield e
    e.close()


def test_path_plan_is_the_path_the_expert_then_takes(env):
    obs = env.reset(5, tasks_for("test", "navigate")[0])
    planner = OraclePlanner(env, kind="path")
    planner.reset(obs.task)
    before = env.get_state()
    res = planner.plan(obs)
    after = env.get_state()
    assert np.array_equal(before.physics, after.physics) and before.step == after.step  # looked ahead, put back
    assert isinstance(res.plan, Path3D) and res.plan.frame == "base"
    assert np.allclose(res.plan.waypoints[0, :3], obs.proprio.ee_pos, atol=1e-5)
    path = planner._path
    expert = ExpertPolicy(env)
    expert.reset()
    walked = [ee_world(env)]
    while not env.subtask_done(res.plan.subtask):
        obs = env.step(expert.sample(obs, res.plan)[0, 0])
        walked.append(ee_world(env))
    assert len(walked) == len(path) > 10
    assert np.allclose(np.array(walked), path[:, :3], atol=1e-6)


def test_cursor_follows_progress_and_a_drifted_ee_gets_a_fresh_lookahead(env):
    obs = env.reset(6, tasks_for("test", "navigate")[0])
    planner = OraclePlanner(env, kind="path")
    planner.reset(obs.task)
    first = planner.plan(obs).plan
    expert = ExpertPolicy(env)
    expert.reset()
    for _ in range(8):
        obs = env.step(expert.sample(obs, first)[0, 0])
    second = planner.plan(obs).plan
    assert planner._cursor == 8 and planner.replans == 0
    assert len(second.waypoints) == len(first.waypoints) - 8
    env.step(np.concatenate([[0.0, 0.0], obs.proprio.ee_pos + [0.0, 0.0, -0.3], obs.proprio.ee_quat, [0.0]]))
    for _ in range(10):
        obs = env.step(np.concatenate([[0.0, 0.0], obs.proprio.ee_pos + [0.0, 0.0, -0.3], obs.proprio.ee_quat, [0.0]]))
    planner.plan(obs)
    assert planner.replans == 1 and planner._cursor == 0


def test_unknown_kind_is_refused(env):
    with pytest.raises(ValueError, match="plan kind"):
        OraclePlanner(env, kind="poem")
