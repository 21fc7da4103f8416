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
    with pytest.raises(ValueError, match="replan"):
        LoopConfig(replan="sometimes")


class Counting(OraclePlanner):
    calls = 0

    def plan(self, obs):
        self.calls += 1
        return super().plan(obs)


@pytest.mark.parametrize("replan", ["chunk", "subtask", "correction"])
def test_replanning_cadence(replan):
    """chunk: every chunk; subtask: when the simulator says the plan's subtask is done (the expert
    then acts exactly as under chunk cadence); correction: once, then on request only."""
    env = KitchenREnv()
    task = tasks_for("train", "pick_place")[0]
    planner = Counting(env)
    loop = RuntimeLoop(env, planner, ExpertPolicy(env), LoopConfig(n_exec=1, max_steps=120, replan=replan),
                       on_step=lambda ev: loop.request_replan() if replan == "correction" and ev.t == 10 else None)
    out = loop.run_episode(4, task)
    end = env.data.qpos.copy()
    if replan == "chunk":
        assert planner.calls == out.length
    elif replan == "subtask":
        subtasks = len(planner.steps[: planner.index + 1])
        assert subtasks <= planner.calls <= subtasks + 2  # the start, then once per finished subtask
        ref = RuntimeLoop(env, OraclePlanner(env), ExpertPolicy(env), LoopConfig(n_exec=1, max_steps=120))
        ref.run_episode(4, task)
        np.testing.assert_array_equal(env.data.qpos, end)  # the same episode, fewer planner calls
    else:
        assert planner.calls == 2  # the first plan, and the one the correction asked for


def test_expert_episode_does_not_depend_on_what_ran_before():
    env = KitchenREnv()
    task = tasks_for("test", "pick_place")[5]
    loop = RuntimeLoop(env, OraclePlanner(env), ExpertPolicy(env))
    first = [env.data.qpos.copy() for _ in [loop.run_episode(11, task)]][0]
    loop.run_episode(12, tasks_for("train", "pick_place")[9])  # another episode in between
    loop.run_episode(11, task)
    np.testing.assert_array_equal(env.data.qpos, first)


class ProgramTaker(ExpertPolicy):
    """The expert, recording the programs the loop hands a steered policy."""

    def __init__(self, env):
        super().__init__(env)
        self.programs = []

    def use_program(self, spec):
        self.programs.append(spec)


def test_a_broken_rule_ends_the_episode_and_plans_carry_programs_to_a_steered_policy():
    """Perturbed split, obstacle: the expert's way runs through it, so the episode fails the
    moment it is touched (not at the budget); the oracle's programs reach the policy."""
    env = KitchenREnv()
    env.set_variant("obstacle")
    policy = ProgramTaker(env)
    loop = RuntimeLoop(env, OraclePlanner(env, programs=True), policy, LoopConfig(n_exec=1))
    out = loop.run_episode(100, tasks_for("test", "pick_place")[0])
    assert not out.success and env.violations() == ["touched the obstacle"]
    assert out.length < env.task.max_steps
    assert policy.programs[0] is None  # navigating: nothing to steer
    assert any(p is not None and "pick" in p["name"] for p in policy.programs)
    with pytest.raises(ValueError, match="writes no reward programs"):
        OraclePlanner(object(), programs=True)
