"""Per-step plan labels computed once an episode is over: subtask keys and 3D path segments."""

from __future__ import annotations

import numpy as np

from vla_core.frames import base_to_world, world_to_base
from vla_core.plans import Path3D, Subtask

PATH_POINTS = 8


def subtask_key(subtask: Subtask | None) -> str:
    """"kind:target" or "place:target:dest"; "" for no subtask."""
    if subtask is None:
        return ""
    return ":".join([subtask.kind, subtask.target] + ([subtask.dest] if subtask.dest is not None else []))


def parse_subtask_key(key: str) -> Subtask | None:
    """Inverse of ``subtask_key``."""
    if not key:
        return None
    parts = key.split(":")
    if len(parts) not in (2, 3):
        raise ValueError(f"not a subtask key: {key!r}")
    return Subtask(*parts)


def path_labels(ee_pos: np.ndarray, base_pose: np.ndarray, grip: np.ndarray, keys: list[str],
                n: int = PATH_POINTS) -> np.ndarray:
    """(T, n, 4) path segments: for step t, the EE positions from t to the end of t's subtask run.

    ee_pos (T+1, 3) EE positions in each step's own base frame, base_pose (T+1, 3) world x, y, yaw;
    row T is the state after the last action. grip (T,) commands; keys (T,) subtask keys.
    A run is a maximal stretch of equal keys; its segment ends at the state after the run's
    last action. Each segment is expressed in step t's base frame, with the grip command of
    each point (the run's last command for its end state), and resampled to n points by arc length.
    """
    t_len = len(keys)
    if ee_pos.shape != (t_len + 1, 3) or base_pose.shape != (t_len + 1, 3) or grip.shape != (t_len,):
        raise ValueError(f"path_labels: ee_pos {ee_pos.shape}, base_pose {base_pose.shape}, grip {grip.shape} "
                         f"do not fit {t_len} steps")
    world = np.stack([base_to_world(p, b) for p, b in zip(ee_pos, base_pose)])
    g = np.asarray(grip, dtype=np.float64)
    out = np.empty((t_len, n, 4), dtype=np.float32)
    start = 0
    while start < t_len:
        end = start
        while end + 1 < t_len and keys[end + 1] == keys[start]:
            end += 1
        for t in range(start, end + 1):  # points t … end+1 (the state after the run's last action)
            pts = world_to_base(world[t:end + 2], base_pose[t])
            grips = np.append(g[t:end + 1], g[end])  # the end state keeps the run's last command
            out[t] = Path3D(np.column_stack([pts, grips])).to_tensor(n)
        start = end + 1
    return out
