"""Training samples for the learned planner, built on the chunk policies' ChunkData.

Per step: the observation (as the policies see it), the task's sentence, the previous subtask
(history), and the labels of every plan kind: subtask key, fine-grained instruction, RT-H
motion (class indices) and the path segment.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from vla_core.data.labels import parse_subtask_key
from vla_core.planners.learned import history_index, motion_index
from vla_core.training.chunks import ChunkData, motion_cue_at


@dataclass
class PlannerLabels:
    subtasks: list[str]  # class → subtask key
    instructions: list[str]  # class → sentence
    subtask: np.ndarray  # (N,) class, −1 none
    instruction: np.ndarray  # (N,) class, −1 none (a sentence not in the vocabulary)
    motion: np.ndarray  # (N,) MOTION_VOCAB class, −1 none
    history: np.ndarray  # (N,) subtask class said before this one, −1 none


def planner_labels(data: ChunkData, episodes, steps: np.ndarray,
                   vocab: tuple[list[str], list[str]] | None = None, unknown: int = -1) -> PlannerLabels:
    """Labels for every step. The classes (subtask keys, instructions) come from the ``steps``
    (training) part of ``data``, or are ``vocab`` (a checkpoint's). A step whose label is not a
    class gets ``unknown``: −1 is ignored by training; calibration passes −2, an answer the
    planner cannot give, so it counts as wrong."""
    keys = {}  # subtask sentence → key
    for ep in episodes:
        for k in set(ep.subtask or ()):
            if k:
                keys[parse_subtask_key(k).text()] = k
    if data.subtask_text is None or not keys:
        raise ValueError("the dataset has no subtask labels (plan.subtask) to train a planner on")
    step_key = np.array([keys.get(data.texts[i], "") if i >= 0 else "" for i in data.subtask_text], dtype=object)
    if vocab is None:
        subtasks = sorted({k for k in step_key[steps] if k})
        instructions = sorted({data.texts[i] for i in data.instruction[steps] if i >= 0})
    else:
        subtasks, instructions = list(vocab[0]), list(vocab[1])
    sub_cls = {k: i for i, k in enumerate(subtasks)}
    subtask = np.array([sub_cls.get(k, unknown) if k else -1 for k in step_key], np.int64)
    ins_cls = {t: i for i, t in enumerate(instructions)}
    text_cls = np.array([ins_cls.get(t, unknown) for t in data.texts], np.int64)
    instruction = np.where(data.instruction >= 0, text_cls[data.instruction], -1)
    motion_of_text = np.array([motion_index(t) for t in data.texts] + [-1], np.int64)  # [-1]: index −1 → none
    motion = motion_of_text[data.motion]
    # history over every key the data holds (a subtask that is no class still ends the one before it)
    held = sorted({k for k in step_key if k})
    local = {k: i for i, k in enumerate(held)}
    said = history_index(np.array([local.get(k, -1) for k in step_key], np.int64), data.episode_start)
    history = np.array([sub_cls.get(held[h], -1) if h >= 0 else -1 for h in said], np.int64)
    return PlannerLabels(subtasks, instructions, subtask, instruction, motion, history)


class PlannerSampler:
    """Draws planner training batches from a subset of steps."""

    def __init__(self, data: ChunkData, labels: PlannerLabels, steps: np.ndarray, seed: int = 0, motion_gap: int = 8):
        if data.task is None:
            raise ValueError("ChunkData without task indices (built by an older build_chunk_data)")
        self.data, self.labels, self.steps, self.motion_gap = data, labels, steps, max(1, int(motion_gap))
        self.rng = np.random.default_rng(seed)
        sub_text = {k: i for i, k in enumerate(data.texts)}
        # the history class → its sentence's embedding (row len(subtasks): none → zeros)
        emb = [data.text_emb[sub_text[parse_subtask_key(k).text()]] for k in labels.subtasks]
        self.history_emb = np.concatenate([np.stack(emb), np.zeros((1, data.text_emb.shape[1]), np.float32)])

    def batch(self, size: int | None = None, idx: np.ndarray | None = None) -> dict[str, torch.Tensor]:
        d, lab = self.data, self.labels
        if idx is None:
            idx = self.steps[self.rng.integers(len(self.steps), size=size)]
        task = d.task[idx]
        b = {"state": d.state[idx], "motion": motion_cue_at(d, idx, self.rng, self.motion_gap),
             "keypoints": d.keypoints[idx], "keypoints_valid": d.valid[idx],
             "target": d.text_targets[task], "landmark": d.text_landmarks[task], "task": d.text_emb[task],
             "history": self.history_emb[lab.history[idx]],  # −1 → the zero row
             "subtask": lab.subtask[idx], "instruction": lab.instruction[idx], "motion_label": lab.motion[idx],
             "path": d.path[idx], "has_path": d.has_path[idx]}
        return {k: torch.as_tensor(np.ascontiguousarray(v)) for k, v in b.items()}
