"""The kitchen_r expert's wrist turns: one way for every demonstration of a reach, and no 16-step
chunk of its commands spans near a half turn (where a policy's relative rotations lose their sign)."""

import numpy as np
import pytest
import torch

from sim.envs.kitchen_r.tasks import task_by_id
from sim.experts.kitchen_r import DOWN, ROT_SPEED, ROT_SPEED_WIDE, slerp_toward, wide_turn
from sim.experts.policy import ExpertPolicy
from vla_core.planners import OraclePlanner
from vla_core.policies.action_space import to_model
from vla_core.runtime import RuntimeLoop

# the carry pose (fingers down) to a knob grasp from below: the two ways round are 173° and 187°
GRASP_FROM_BELOW = np.array([0.94, 0.0, 0.33, 0.0])


def test_a_near_half_turn_goes_the_same_way_whatever_the_rounding():
    ends = []
    for eps in (-1e-3, 1e-3):  # the sign of q·target flips between these two
        q = DOWN + np.array([eps, 0.0, 0.0, 0.0])
        q /= np.linalg.norm(q)
        target, rate = wide_turn(q, GRASP_FROM_BELOW)
        assert rate == ROT_SPEED_WIDE
        ends.append(slerp_toward(q, target, 0.5, shortest=False)[0])
    # plain shortest-way slerp turns these two opposite ways: the fix is what makes them agree
    plain = [slerp_toward(q / np.linalg.norm(q), GRASP_FROM_BELOW, 0.5)[0]
             for q in (DOWN + [-1e-3, 0, 0, 0], DOWN + [1e-3, 0, 0, 0])]
    assert abs(np.dot(*plain)) < 0.99
    assert abs(np.dot(*ends)) > 0.999


def test_a_small_turn_takes_the_short_way_at_full_speed():
    q = DOWN
    target = -np.array([0.0, 0.98, 0.2, 0.0]) / np.linalg.norm([0.0, 0.98, 0.2, 0.0])  # ~23° away, other sign
    out, rate = wide_turn(q, target)
    assert rate == ROT_SPEED and np.dot(q, out) > 0


@pytest.mark.parametrize("task_id, seed", [("knob/0011", 111), ("open_close/0019", 2), ("light/0007", 4)])
def test_demonstration_chunks_never_span_a_half_turn(env, task_id, seed):
    states, actions = [], []

    def record(ev):
        states.append(ev.prev_obs.proprio.vector())
        actions.append(ev.action)

    loop = RuntimeLoop(env, OraclePlanner(env, kind="instruction"), ExpertPolicy(env), on_step=record)
    assert loop.run_episode(seed, task_by_id(task_id)).success
    s, a = torch.tensor(np.array(states), dtype=torch.float32), torch.tensor(np.array(actions), dtype=torch.float32)
    h = 16
    windows = torch.stack([a[t:t + h] for t in range(len(a) - h)])
    rel = to_model(windows, s[: len(a) - h])[..., 5:9]  # (N, H, 4) w ≥ 0
    # w = cos(angle / 2): 0.2 is 157°; the reach used to reach 0.0-0.07 (173-180°), either way round
    assert float(rel[..., 0].min()) > 0.2
