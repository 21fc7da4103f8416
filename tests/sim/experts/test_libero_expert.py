"""The scripted LIBERO expert, run for real: oracle plans → expert → LIBERO's checker."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("task_id", ["spatial/4", "object/1"])
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
