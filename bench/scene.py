"""The live kitchen_r moment every latency benchmark times on: the first test pick-and-place task
just after reset, with the oracle planner's instruction plan for it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class Scene:
    env: Any  # KitchenREnv (imported lazily: mujoco is slow to import)
    obs: Any  # vla_core.observation.Observation
    planner: Any  # vla_core.planners.OraclePlanner (kind instruction), reset to obs.task
    plan: Any  # vla_core.plans.Plan

    def close(self) -> None:
        self.env.close()


def kitchen_scene() -> Scene:
    from sim.envs import make_env
    from sim.envs.kitchen_r.tasks import tasks_for
    from vla_core.planners import OraclePlanner

    env = make_env("kitchen_r")
    obs = env.reset(0, tasks_for("test", "pick_place")[0])
    planner = OraclePlanner(env, kind="instruction")  # what sim/eval.py gives the shipped policies (configs/planner)
    planner.reset(obs.task)
    return Scene(env, obs, planner, planner.plan(obs).plan)
