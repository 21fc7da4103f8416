"""Oracle reward programs (VLS) for kitchen_r subtasks, written from scene state.

A pick: come down onto the target from above (approach), keep out of every other object near the
way there (spheres of its footprint + margin, centred on its keypoint), stay above the support
surface, until the gripper closes; then lift (progress up, smooth). A place: the same toward the
destination, without the grasp stage. Fixtures: reach the handle, keeping out of nothing.
Obstacles the scene names (the perturbed split's) are kept out of in every stage, with a margin
for the hand around the EE point. Spec
dicts (``vla_core.steering.programs``), so they are validated like any program and can be cached.
"""

from __future__ import annotations

import numpy as np

from sim.envs.kitchen_r import catalog as C
from sim.envs.kitchen_r.layout import footprint
from vla_core.plans.subtask import Subtask

NEAR_PATH = 0.15  # m: objects this close to the straight EE → target segment get a keep-out term
KEEP_OUT_WEIGHT = 5.0
HAND_MARGIN = 0.12  # m: the hand reaches this far from the EE point (fingers, the 0.2 m wide palm)
DOWN = [0.0, 0.0, -1.0]


def _near_segment(p: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    ab = b - a
    u = float(np.clip(np.dot(p - a, ab) / max(np.dot(ab, ab), 1e-12), 0.0, 1.0))
    return float(np.linalg.norm(p - (a + u * ab)))


def oracle_program(obs, s: Subtask, support_height: float | None = None,
                   obstacles: tuple[tuple[np.ndarray, float], ...] = ()) -> dict | None:
    """A reward-program spec for subtask ``s`` from the observation's (base-frame) keypoints;
    None for navigation (steering shapes arm motion). ``support_height``: base-frame z of the
    surface under the target, for the stay-above term; ``obstacles``: (centre (3,), radius)
    spheres in the base frame."""
    if s.kind == "navigate":
        return None
    walls = [{"type": "keep_out_sphere", "center": [round(float(c), 4) for c in centre], "radius": float(r),
              "margin": HAND_MARGIN, "weight": KEEP_OUT_WEIGHT} for centre, r in obstacles]
    names = list(obs.keypoint_names)
    ee = np.asarray(obs.proprio.ee_pos, float)
    if s.kind in ("pick", "place"):
        goal = s.target if s.kind == "pick" else s.dest
        if goal not in names or not np.all(np.isfinite(obs.keypoint(goal))):
            return None
        target = np.asarray(obs.keypoint(goal), float)
        avoid = []
        for n, p in zip(names, obs.keypoints):
            if n in (s.target, s.dest) or n not in C.OBJECT_BY_NAME and n not in C.RECEPTACLE_BY_NAME:
                continue
            if np.all(np.isfinite(p)) and _near_segment(np.asarray(p, float), ee, target) < NEAR_PATH:
                avoid.append({"type": "keep_out_sphere", "center": {"keypoint": n}, "radius": round(footprint(n), 4),
                              "weight": KEEP_OUT_WEIGHT})
        reach = [{"type": "approach", "target": {"keypoint": goal}, "axis": DOWN, "standoff": 0.12}] + avoid + walls
        if support_height is not None:
            reach.append({"type": "above_surface", "height": float(support_height), "margin": 0.02})
        if s.kind == "place":
            return {"name": s.text(), "terms": reach}
        return {"name": s.text(), "stages": [
            {"name": "reach", "until": {"gripper": "closed"}, "terms": reach},
            {"name": "lift", "terms": [{"type": "progress", "axis": [0.0, 0.0, 1.0]}, {"type": "smoothness"}] + walls}]}
    handle = next((n for n in names if n == f"{s.target}_handle"), None)
    if handle is None or not np.all(np.isfinite(obs.keypoint(handle))):
        return None
    return {"name": s.text(), "terms": [{"type": "reach", "target": {"keypoint": handle}}, {"type": "smoothness"}] + walls}
