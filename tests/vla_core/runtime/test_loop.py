"""End to end: the runtime loop drives oracle planner + scripted expert in the real sim."""

import numpy as np
import pytest

from sim.envs.kitchen_r.env import KitchenREnv
from sim.envs.kitchen_r.tasks import tasks_for
from sim.experts.policy import ExpertPolicy
from vla_core.planners import OraclePlanner
from vla_core.runtime import LoopConfig, RuntimeLoop


def test_expert_completes_navigation_and_pick_place_episodes():
    env = KitchenREnv()
    steps = []
    loop = RuntimeLoop(env, OraclePlanner(env), ExpertPolicy(env), LoopConfig(n_exec=8),
                       on_step=lambda ev: steps.append(ev.t))
    nav = loop.run_episode(1, tasks_for("test", "navigate")[0])
    assert nav.success and nav.goals_met == nav.goals_total == 1
    assert steps[-1] == nav.length < 150
    pp = loop.run_episode(2, tasks_for("train", "pick_place")[0])
    assert pp.success, pp


def test_a_short_budget_stops_the_episode_and_fails():
    env = KitchenREnv()
    for budget in (0, 3):
        loop = RuntimeLoop(env, OraclePlanner(env), ExpertPolicy(env), LoopConfig(max_steps=budget))
        out = loop.run_episode(1, tasks_for("test", "navigate")[0])
        assert not out.success and out.length == budget


def test_loop_config_rejects_what_would_hang():
    with pytest.raises(ValueError, match="n_exec"):
        LoopConfig(n_exec=0)


def test_expert_episode_does_not_depend_on_what_ran_before():
    env = KitchenREnv()
    task = tasks_for("test", "pick_place")[5]
    loop = RuntimeLoop(env, OraclePlanner(env), ExpertPolicy(env))
    first = [env.data.qpos.copy() for _ in [loop.run_episode(11, task)]][0]
    loop.run_episode(12, tasks_for("train", "pick_place")[9])  # another episode in between
    loop.run_episode(11, task)
    np.testing.assert_array_equal(env.data.qpos, first)
