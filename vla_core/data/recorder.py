"""Recording episodes from the runtime loop: ``RuntimeLoop(..., on_step=recorder)``.

``EpisodeBuffer`` collects one episode's steps (the observation each action was applied
to, the action, the oracle's plan) and, when the episode is over, computes the plan
labels that need the whole episode (RT-H motions, path segments) → ``EpisodeArrays``.
``EpisodeRecorder`` adds the writing: one ``EpisodeStore`` episode per kept episode.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from vla_core.data.episode import EpisodeArrays
from vla_core.data.labels import path_labels, subtask_key
from vla_core.data.store import EpisodeStore
from vla_core.observation import Observation
from vla_core.plans import Instruction, LanguageMotion
from vla_core.plans.motion import MotionThresholds, motion_text
from vla_core.runtime.loop import StepEvent


class EpisodeBuffer:
    """RuntimeLoop ``on_step`` hook buffering one episode; ``episode()`` returns it labelled."""

    def __init__(self, cameras: Sequence[str] = (), thresholds: MotionThresholds | None = None):
        self.cameras = tuple(cameras)
        self.thresholds = thresholds or MotionThresholds()
        self.reset()

    def reset(self) -> None:
        self.steps: list[tuple[Observation, np.ndarray, object]] = []
        self.overrides: list[str] = []  # the correction override each step's action was made under
        self.last_obs: Observation | None = None

    def __len__(self) -> int:
        return len(self.steps)

    def __call__(self, ev: StepEvent) -> None:
        self.steps.append((ev.prev_obs, np.array(ev.action, dtype=np.float32), ev.plan.plan))
        self.overrides.append(ev.override)
        self.last_obs = ev.obs

    def episode(self) -> EpisodeArrays:
        """The buffered steps with their labels (needs at least one step)."""
        if not self.steps:
            raise ValueError("no steps recorded")
        obs = [o for o, _, _ in self.steps] + [self.last_obs]
        action = np.stack([a for _, a, _ in self.steps])
        plans = [p for _, _, p in self.steps]
        subtasks = [getattr(p, "subtask", None) for p in plans]
        keys = [subtask_key(s) for s in subtasks]
        # what the oracle said: its fine-grained sentence (the subtask's own is in the subtask key)
        instruction = [p.text if isinstance(p, Instruction) else (s.text() if s is not None else p.to_text())
                       for s, p in zip(subtasks, plans)]
        corrected = np.array([o != "none" for o in self.overrides], bool)
        # a person's language motion ("move left", "stop") is the step's motion label; else RT-H's from the action
        motion = [p.text if c and isinstance(p, LanguageMotion) else motion_text(a, o.proprio, self.thresholds)
                  for a, o, p, c in zip(action, obs, plans, corrected)]
        path = path_labels(np.array([o.proprio.ee_pos for o in obs], dtype=np.float64),
                           np.array([o.proprio.base_pose for o in obs], dtype=np.float64),
                           action[:, -1].astype(np.float64), keys)
        first = obs[0]
        return EpisodeArrays(
            task=first.task,
            state=np.stack([o.proprio.vector() for o in obs[:-1]]),
            action=action,
            keypoints=np.stack([o.keypoints for o in obs[:-1]]).astype(np.float32),
            keypoint_names=tuple(first.keypoint_names),
            subtask=keys, instruction=instruction, motion=motion, path=path,
            images={cam: np.stack([o.rgb[cam] for o in obs[:-1]]) for cam in self.cameras},
            corrected=corrected,
        )


class EpisodeRecorder(EpisodeBuffer):
    """``EpisodeBuffer`` that writes each finished episode to ``store``: call ``end_episode(success)``
    after ``RuntimeLoop.run_episode``. Failed episodes are dropped unless ``keep_failures``."""

    def __init__(self, store: EpisodeStore, cameras: Sequence[str] = (), thresholds: MotionThresholds | None = None,
                 keep_failures: bool = False):
        super().__init__(cameras, thresholds)
        self.store = store
        self.keep_failures = keep_failures

    def end_episode(self, success: bool, record: dict | None = None) -> int | None:
        """Write (or drop) the buffered episode, then reset; returns its episode_index or None."""
        try:
            record = {**(record or {}), "success": bool(success)}
            if (success or self.keep_failures) and self.steps:
                return self.store.write(self.episode(), record)
            self.store.skip(record)
            return None
        finally:
            self.reset()
