"""The scripted LIBERO expert, run for real: oracle plans → expert → LIBERO's checker."""

from __future__ import annotations

import numpy as np
import pytest


def test_hand_hits_counts_obstacles_under_the_fingers_hand_and_wrist():
    from sim.experts.libero import Extent, hand_hits

    site = np.array([0.0, 0.0, 0.1])  # fingertips at z 0.089, fingers at y ±0.05 when the axis is y
    y = np.array([0.0, 1.0, 0.0])
    wall = Extent(np.array([-0.1, 0.045, 0.0]), np.array([0.1, 0.06, 0.2]))  # a wall where the +y finger goes
    assert hand_hits(site, y, [wall]) == 2  # the +y finger and the hand's span both cross it
    x = np.array([1.0, 0.0, 0.0])
    assert hand_hits(site, x, [wall]) == 0  # turned 90°, the fingers straddle along x and miss it
    shelf = Extent(np.array([-0.2, -0.2, 0.3]), np.array([0.2, 0.2, 0.32]))  # something above the wrist
    assert hand_hits(site, x, [shelf]) == 1
    assert hand_hits(site, x, []) == 0


def test_axis_angle_recovers_a_rotation():
    from sim.envs.libero.env import axis_angle
    from vla_core.frames import quat_to_mat

    axis = np.array([0.3, -0.5, 0.8]) / np.linalg.norm([0.3, -0.5, 0.8])
    q = np.concatenate([[np.cos(0.35)], np.sin(0.35) * axis])
    np.testing.assert_allclose(axis_angle(quat_to_mat(q)), 0.7 * axis, atol=1e-9)
    np.testing.assert_allclose(axis_angle(np.eye(3)), np.zeros(3))


@pytest.mark.slow
@pytest.mark.parametrize("task_id", ["spatial/7", "object/0"])
def test_the_expert_solves_a_libero_task_through_the_runtime_loop(task_id):
    from sim.envs.libero.env import LiberoEnv
    from sim.experts.policy import ExpertPolicy
    from vla_core.planners.oracle import OraclePlanner
    from vla_core.runtime import LoopConfig, RuntimeLoop

    env = LiberoEnv(suite=task_id.split("/")[0])
    try:
        loop = RuntimeLoop(env, OraclePlanner(env), ExpertPolicy(env), LoopConfig(n_exec=1))
        out = loop.run_episode(0, task_id)
        assert out.success, f"{task_id}: not solved in {out.length} steps"
        assert out.length <= env.task.max_steps
    finally:
        env.close()
