"""Planner latency per call on the live kitchen_r scene: the oracle planner (kind instruction) and a
trained LearnedPlanner when a checkpoint is given, beside one privileged env step (the control-step
cost a planner call adds to)."""

from __future__ import annotations

from pathlib import Path

from bench.scene import Scene
from bench.timing import median_ms


def env_step_ms(scene: Scene, calls: int) -> float:
    """Median ms of one 10 Hz env step (50 physics substeps + IK) holding the EE and base still.
    Moves the scene's simulator on; its ``obs`` stays the reset-time snapshot."""
    import numpy as np

    p = scene.obs.proprio
    hold = np.concatenate([[0.0, 0.0], p.ee_pos, p.ee_quat, [0.0]])
    return median_ms(lambda: scene.env.step(hold), calls)


def oracle_ms(scene: Scene, calls: int) -> float:
    """Median ms of OraclePlanner.plan(obs): subtask checks against the simulator + the sentence."""
    return median_ms(lambda: scene.planner.plan(scene.obs), calls)


def learned_ms(path: str | Path, scene: Scene, calls: int) -> float:
    """Median ms of LearnedPlanner.plan(obs) (features, model forward, every head) after reset(task);
    the task's sentence embedding is computed once at reset, as in an episode."""
    from vla_core.planners.learned import LearnedPlanner

    planner = LearnedPlanner.load(path)
    planner.reset(scene.obs.task)
    return median_ms(lambda: planner.plan(scene.obs), calls)
