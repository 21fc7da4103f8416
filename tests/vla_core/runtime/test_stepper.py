"""ChunkStepper: the loop's decisions one action at a time (what the ROS agent calls each tick)."""

import numpy as np

from vla_core.observation import Observation, Proprio
from vla_core.planners.base import PlanResult
from vla_core.plans import Instruction
from vla_core.runtime import ChunkStepper, LoopConfig


def obs(t=0.0):
    p = Proprio(np.zeros(7), 0.08, np.zeros(3), np.array([1.0, 0, 0, 0]), np.zeros(3))
    return Observation(p, np.zeros((0, 3)), (), "wipe", t)


class Planner:
    def __init__(self, done_after=None):
        self.calls, self.done_after, self.task = 0, done_after, None

    def reset(self, task):
        self.task, self.calls = task, 0

    def plan(self, o):
        self.calls += 1
        if self.done_after is not None and self.calls > self.done_after:
            return None
        return PlanResult(Instruction("wipe the table"), 0.9)


class Policy:
    action_dim = 8

    def __init__(self):
        self.samples = 0

    def reset(self):
        self.samples = 0

    def sample(self, o, plan, n=1, guide=None):
        self.samples += 1
        return np.full((n, 4, 8), float(self.samples))  # chunk k holds the value k


def test_hands_out_n_exec_actions_per_chunk_then_samples_and_plans_again():
    planner, policy = Planner(), Policy()
    s = ChunkStepper(planner, policy, LoopConfig(n_exec=3))
    s.reset("wipe")
    got = [s.next(obs()) for _ in range(7)]
    assert [d.action[0] for d in got] == [1, 1, 1, 2, 2, 2, 3]
    assert [d.new_chunk for d in got] == [True, False, False, True, False, False, True]
    assert [d.index for d in got] == [0, 1, 2, 0, 1, 2, 0]
    assert planner.calls == 3 and got[0].plan.confidence == 0.9 and got[0].chunk.shape == (4, 8)
    assert got[0].sample_ms >= 0 and got[1].sample_ms == 0


def test_n_exec_beyond_the_horizon_uses_the_whole_chunk():
    s = ChunkStepper(Planner(), Policy(), LoopConfig(n_exec=10))
    s.reset("wipe")
    assert [s.next(obs()).action[0] for _ in range(5)] == [1, 1, 1, 1, 2]


def test_correction_cadence_plans_once_then_on_request_and_drop_chunk_resamples():
    planner, policy = Planner(), Policy()
    s = ChunkStepper(planner, policy, LoopConfig(n_exec=2, replan="correction"))
    s.reset("wipe")
    for _ in range(6):
        s.next(obs())
    assert planner.calls == 1 and policy.samples == 3
    s.request_replan()
    s.drop_chunk()
    d = s.next(obs())
    assert d.replanned and d.new_chunk and planner.calls == 2


def test_planner_done_returns_none_and_reset_starts_over():
    planner, policy = Planner(done_after=1), Policy()
    s = ChunkStepper(planner, policy, LoopConfig(n_exec=1))
    s.reset("wipe")
    assert s.next(obs()) is not None
    assert s.next(obs()) is None
    s.reset("wipe again")
    assert planner.task == "wipe again" and s.next(obs()).action[0] == 1
