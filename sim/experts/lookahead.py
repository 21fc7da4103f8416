"""The expert's own future: roll a fresh scripted expert forward from the current
simulator state to the end of a subtask, record its EE path, and put the state back.

This is how the oracle planner emits ground-truth ``Path3D`` plans (GeneralVLA-style)
at evaluation time: the same EE positions, in the same form, that ``path_labels`` cut
from recorded demonstrations. Privileged (it runs the simulator ahead), so sim only.
"""

from __future__ import annotations

import numpy as np

from vla_core.plans.subtask import Subtask

MAX_LOOKAHEAD = 600  # steps; a subtask the expert cannot finish in this long gets the path it made


def ee_world(env) -> np.ndarray:
    """(3,) the EE position in the world frame (from the arm joints and the base pose)."""
    return env.robot.base_to_world(env.data, env.robot.ee_base(env.data)[0])


def expert_path(env, subtask: Subtask, prev_kind: str | None = None, max_steps: int = MAX_LOOKAHEAD) -> np.ndarray:
    """(T+1, 4) world-frame EE xyz + gripper command of a fresh expert doing ``subtask``
    from the current state until ``env.subtask_done`` (row 0 is now). The env is left
    exactly as it was (``get_state``/``reset_to``)."""
    from sim.experts.kitchen_r import KitchenRExpert

    state = env.get_state()
    expert = KitchenRExpert(env)
    expert.take_over(subtask, prev_kind)  # e.g. backing off a handle first after a fixture subtask
    pts, grips = [ee_world(env)], []
    try:
        for _ in range(max_steps):
            if env.subtask_done(subtask):
                break
            a = expert.act(subtask)
            grips.append(float(a[-1]))
            env.step(a)
            pts.append(ee_world(env))
    finally:
        env.reset_to(state)
    grips.append(grips[-1] if grips else expert.grip)  # the end state keeps the last command
    return np.column_stack([np.array(pts), np.array(grips)]).astype(np.float32)
