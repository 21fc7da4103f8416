"""The one transform chain from raw observations/plans to model inputs, shared by
training (dataset arrays) and inference (live Observations)."""

from __future__ import annotations

import numpy as np
import torch

from vla_core.plans import Instruction, LanguageMotion, Path3D
from vla_core.policies.action_space import motion_cue
from vla_core.policies.encoders import PLAN_KINDS
from vla_core.policies.text import TEXT_DIM, TextEncoder


def keypoint_inputs(keypoints: np.ndarray, names: tuple[str, ...] | list[str],
                    model_names: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(…, K_obs, 3) with NaN rows for unseen points → ((…, K_model, 3) zeros where invalid,
    (…, K_model) validity), reordered to the model's keypoint names (absent names invalid)."""
    index = {n: i for i, n in enumerate(names)}
    shape = keypoints.shape[:-2]
    out = np.zeros((*shape, len(model_names), 3), np.float32)
    valid = np.zeros((*shape, len(model_names)), np.float32)
    for j, n in enumerate(model_names):
        i = index.get(n)
        if i is None:
            continue
        p = keypoints[..., i, :]
        ok = np.all(np.isfinite(p), axis=-1)
        out[..., j, :] = np.where(ok[..., None], p, 0.0)
        valid[..., j] = ok
    return out, valid


def observation_inputs(obs, prev: tuple[float, np.ndarray] | None,
                       model_names: list[str]) -> dict[str, np.ndarray]:
    """A live Observation (+ the (time, proprio vector) seen at the previous call, None at the
    first) → state (18,), motion cue (7,), keypoints (K, 3), keypoints_valid (K,) as the models
    take them; ValueError on non-finite proprio."""
    state = obs.proprio.vector()
    if not np.all(np.isfinite(state)):
        raise ValueError("non-finite proprio in the observation")
    t_prev, s_prev = prev if prev is not None else (obs.time, state)
    kp, valid = keypoint_inputs(obs.keypoints, obs.keypoint_names, model_names)
    # zeros on the first call or a time reset
    return {"state": state, "motion": motion_cue(state, s_prev, obs.time - t_prev), "keypoints": kp,
            "keypoints_valid": valid}


def plan_inputs(plan, text: TextEncoder, path_points: int) -> tuple[int, np.ndarray, np.ndarray]:
    """A Plan → (kind index, text embedding (TEXT_DIM,), path (path_points, 4))."""
    path = np.zeros((path_points, 4), np.float32)
    emb = np.zeros(TEXT_DIM, np.float32)
    if isinstance(plan, Path3D):
        return PLAN_KINDS.index("path"), emb, plan.to_tensor(path_points)
    if isinstance(plan, LanguageMotion):
        return PLAN_KINDS.index("motion"), text(plan.text), path
    if isinstance(plan, Instruction):
        return PLAN_KINDS.index("instruction"), text(plan.text), path
    raise TypeError(f"not a plan: {type(plan).__name__}")


def image_inputs(frames: np.ndarray, size: int) -> np.ndarray:
    """(…, H, W, 3) uint8 RGB → (…, 3, size, size) uint8, area-resampled when the size differs."""
    x = torch.as_tensor(np.ascontiguousarray(frames)).movedim(-1, -3)
    lead = x.shape[:-3]
    x = x.reshape(-1, *x.shape[-3:])
    if x.shape[-2:] != (size, size):
        x = torch.nn.functional.interpolate(x.float(), size=(size, size), mode="area").round().clamp(0, 255)
    return x.to(torch.uint8).reshape(*lead, 3, size, size).numpy()
