"""Planner-only metrics: a planner's per-step answers against the oracle's labels of the same
steps (``--mode planner``: the oracle and the expert drive, the planner is asked alongside)."""

from __future__ import annotations

import numpy as np

from vla_core.data.episode import EpisodeArrays

METRICS = ("subtask_acc", "instruction_acc", "motion_acc", "path_mean_error_m", "path_final_error_m",
           "subtask_abstain", "subtask_risk", "instruction_abstain", "instruction_risk", "motion_abstain", "motion_risk")


def plan_metrics(predictions: list[dict], episode: EpisodeArrays,
                 thresholds: dict[str, float] | None = None) -> dict[str, float]:
    """``predictions``: per step, ``LearnedPlanner.predict``'s dict; ``episode``: the same steps
    labelled by the recorder (subtask keys, the oracle's instructions, RT-H motions of the
    expert's actions, path segments). → the fraction of steps each class head matched, and the
    mean distance of the predicted path's points (and of its last point) from the label's. With
    calibrated ``thresholds`` per head: the fraction of steps it would abstain on, and the error
    rate among the rest (the selective risk the calibration bounds)."""
    n = len(predictions)
    if n != len(episode.action):
        raise ValueError(f"{n} predictions for {len(episode.action)} labelled steps")
    if n == 0:
        return {}
    out = {}
    for head, labels in (("subtask", episode.subtask), ("instruction", episode.instruction),
                         ("motion", episode.motion)):
        if labels is None:
            continue
        hit = np.array([p[head][0] == lab for p, lab in zip(predictions, labels)])
        out[f"{head}_acc"] = float(hit.mean())
        tau = (thresholds or {}).get(head)
        if tau is not None:
            acted = np.array([p[head][1] >= tau for p in predictions])
            out[f"{head}_abstain"] = float(1.0 - acted.mean())
            if acted.any():
                out[f"{head}_risk"] = float(1.0 - hit[acted].mean())
    if episode.path is not None:
        pred = np.stack([p["path"][:, :3] for p in predictions])
        d = np.linalg.norm(pred - episode.path[..., :3], axis=-1)  # (T, P)
        out["path_mean_error_m"] = float(d.mean())
        out["path_final_error_m"] = float(d[:, -1].mean())
    return {k: round(v, 4) for k, v in out.items()}


def mean_metrics(per_episode: list[dict[str, float]]) -> dict[str, float]:
    """Mean of each metric over the episodes that have it."""
    keys = [k for k in METRICS if any(k in m for m in per_episode)]
    return {k: round(float(np.mean([m[k] for m in per_episode if k in m])), 4) for k in keys}
