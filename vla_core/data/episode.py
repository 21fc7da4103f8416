"""EpisodeArrays: one recorded episode as plain arrays — what the recorder writes and the reader returns.

Also its on-disk hand-over form between processes: an ``.npz`` of numeric and
fixed-width unicode arrays, loaded with ``allow_pickle=False`` (no pickle crosses
a process).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass
class EpisodeArrays:
    """T steps of one episode. Step t pairs the observation an action was applied to with that action.

    state        (T, 18) float32  Proprio.vector(): joints 7, gripper 1, EE pos 3, EE quat 4, base x y yaw
    keypoints    (T, K, 3) float32, base frame; NaN rows were not visible. None if the dataset has none
    action       (T, D) float32   (D = 10 on kitchen_r: v, ω, EE xyz, EE quat wxyz, grip)
    subtask      T strings "kind:target[:dest]" (e.g. "place:red_mug:table"); "" when the plan had none
    instruction  T fine-grained instruction strings (the oracle's sentence for the sub-step; older datasets: the subtask's)
    motion       T RT-H language motions (vla_core.plans.motion)
    path         (T, 8, 4) float32: EE xyz + grip command of the rest of the step's subtask, in
                 that step's base frame, resampled by arc length
    images       camera -> (T, H, W, 3) uint8; empty unless recorded (and asked for when reading)
    corrected    (T,) bool: the step's plan was a person's correction, not the planner's (correction datasets)
    Plan fields are None when a dataset does not carry them.
    """

    task: str
    state: np.ndarray
    action: np.ndarray
    keypoints: np.ndarray | None = None
    keypoint_names: tuple[str, ...] = ()
    subtask: list[str] | None = None
    instruction: list[str] | None = None
    motion: list[str] | None = None
    path: np.ndarray | None = None
    images: dict[str, np.ndarray] = field(default_factory=dict)
    corrected: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.state.shape[0])

    def validate(self) -> None:
        """Raise ValueError unless every field covers the same T steps with the documented shapes."""
        t = len(self)
        if t == 0:
            raise ValueError("an episode needs at least one step")
        if self.state.ndim != 2 or self.action.ndim != 2 or len(self.action) != t:
            raise ValueError(f"state {self.state.shape} and action {self.action.shape} must be (T, n) with one T")
        if self.keypoints is not None:
            if self.keypoints.shape != (t, len(self.keypoint_names), 3):
                raise ValueError(f"keypoints {self.keypoints.shape} != (T, K={len(self.keypoint_names)}, 3)")
        for name in ("subtask", "instruction", "motion"):
            values = getattr(self, name)
            if values is not None and len(values) != t:
                raise ValueError(f"{name} has {len(values)} entries for {t} steps")
        if self.path is not None and (self.path.ndim != 3 or self.path.shape[0] != t or self.path.shape[2] != 4):
            raise ValueError(f"path {self.path.shape} != (T, N, 4)")
        if self.corrected is not None and self.corrected.shape != (t,):
            raise ValueError(f"corrected {self.corrected.shape} != (T,)")
        for cam, frames in self.images.items():
            if frames.ndim != 4 or frames.shape[0] != t or frames.shape[3] != 3 or frames.dtype != np.uint8:
                raise ValueError(f"images[{cam!r}] {frames.shape} {frames.dtype} != (T, H, W, 3) uint8")

    # ---- hand-over file --------------------------------------------------------------
    def save_npz(self, path: str | Path, meta: dict | None = None) -> None:
        """Write atomically (a temp file renamed into place), so a reader never sees half a file."""
        self.validate()
        arrays: dict[str, np.ndarray] = {"state": self.state, "action": self.action}
        header = {"task": self.task, "keypoint_names": list(self.keypoint_names), "meta": meta or {},
                  "has": [k for k in ("keypoints", "subtask", "instruction", "motion", "path", "corrected")
                          if getattr(self, k) is not None], "cameras": sorted(self.images)}
        for k in header["has"]:
            v = getattr(self, k)
            arrays[k] = np.asarray(v, dtype=str) if isinstance(v, list) else v
        for cam, frames in self.images.items():
            arrays[f"image.{cam}"] = frames
        arrays["header"] = np.asarray(json.dumps(header))
        path = Path(path)
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)
        os.replace(tmp, path)

    @classmethod
    def load_npz(cls, path: str | Path) -> tuple["EpisodeArrays", dict]:
        """(episode, meta) from ``save_npz``'s file."""
        with np.load(path, allow_pickle=False) as z:
            header = json.loads(str(z["header"]))
            get = {k: z[k] for k in header["has"]}
            ep = cls(task=header["task"], state=z["state"], action=z["action"],
                     keypoints=get.get("keypoints"), keypoint_names=tuple(header["keypoint_names"]),
                     subtask=_strings(get.get("subtask")), instruction=_strings(get.get("instruction")),
                     motion=_strings(get.get("motion")), path=get.get("path"), corrected=get.get("corrected"),
                     images={cam: z[f"image.{cam}"] for cam in header["cameras"]})
        return ep, header["meta"]


def _strings(a: np.ndarray | None) -> list[str] | None:
    return None if a is None else [str(s) for s in a.tolist()]
