"""End to end: the runtime loop drives oracle planner + scripted expert in the real sim."""

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


def test_a_zero_step_budget_fails():
    env = KitchenREnv()
    loop = RuntimeLoop(env, OraclePlanner(env), ExpertPolicy(env), LoopConfig(max_steps=3))
    out = loop.run_episode(1, tasks_for("test", "navigate")[0])
    assert not out.success and out.length == 3
