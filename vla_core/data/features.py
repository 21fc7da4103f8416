"""The LeRobot v3 feature schema of a recorded bench, and EpisodeArrays ↔ LeRobot frames.

Columns (per frame; T frames per episode, 10 Hz on kitchen_r):

  observation.state            float32 (18,)   Proprio.vector()
  observation.keypoints        float32 (K, 3)  base frame; rows not visible are 0 …
  observation.keypoints_valid  float32 (K,)    … and 0 here (1 = visible); names: the K keypoints
  observation.images.<cam>     video (H, W, 3) optional RGB camera streams
  action                       float32 (10,)   v, ω, EE xyz, EE quat wxyz, grip (0 open … 1 closed); (8,) on
                                               fixed-base benches (calvin): the same without v, ω
  plan.subtask                 string          the oracle's subtask, "kind:target[:dest]"
  plan.instruction             string          fine-grained instruction for the sub-step (older datasets: the subtask's text)
  plan.motion                  string          RT-H language motion of this step's action
  plan.path                    float32 (8, 4)  EE xyz + grip command for the rest of the subtask,
                                               in this step's base frame, resampled by arc length
  plan.corrected               float32 (1,)    1 where the plan was a person's correction (correction datasets only)
  task (LeRobot's own task_index → meta/tasks.parquet): the episode's instruction.

lerobot 0.6.1 stores ``dtype: "string"`` features as parquet string columns (dictionary
encoded) and returns them as Python ``str``; statistics skip them. So the plan strings
live in the frames themselves, no side tables.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from vla_core.data.episode import EpisodeArrays
from vla_core.data.labels import PATH_POINTS

STATE = "observation.state"
KEYPOINTS = "observation.keypoints"
KEYPOINTS_VALID = "observation.keypoints_valid"
ACTION = "action"
IMAGE_PREFIX = "observation.images."
PLAN_SUBTASK = "plan.subtask"
PLAN_INSTRUCTION = "plan.instruction"
PLAN_MOTION = "plan.motion"
PLAN_PATH = "plan.path"
PLAN_CORRECTED = "plan.corrected"
PLAN_STRINGS = {PLAN_SUBTASK: "subtask", PLAN_INSTRUCTION: "instruction", PLAN_MOTION: "motion"}

STATE_NAMES = tuple(f"joint_{i}" for i in range(7)) + (
    "gripper", "ee_x", "ee_y", "ee_z", "ee_qw", "ee_qx", "ee_qy", "ee_qz", "base_x", "base_y", "base_yaw")
ACTION_NAMES = ("base_v", "base_omega", "ee_x", "ee_y", "ee_z", "ee_qw", "ee_qx", "ee_qy", "ee_qz", "gripper")


def image_key(camera: str) -> str:
    return IMAGE_PREFIX + camera


def bench_features(keypoint_names: Sequence[str], cameras: Sequence[str] = (), image_size: int = 96,
                   corrections: bool = False, action_dim: int = 10) -> dict:
    """LeRobot ``features`` for ``LeRobotDataset.create`` (K = len(keypoint_names)); ``corrections``:
    with the plan.corrected column (vla_core.corrections.record); ``action_dim`` 8 for a fixed-base
    arm (the mobile layout without base v, ω)."""
    if action_dim not in (8, len(ACTION_NAMES)):
        raise ValueError(f"action_dim must be 10 (mobile) or 8 (arm), got {action_dim}")
    action_names = ACTION_NAMES[len(ACTION_NAMES) - action_dim:]
    k = len(keypoint_names)
    feats: dict[str, dict] = {
        STATE: {"dtype": "float32", "shape": (len(STATE_NAMES),), "names": list(STATE_NAMES)},
        KEYPOINTS: {"dtype": "float32", "shape": (k, 3),
                    "names": {"keypoints": list(keypoint_names), "axes": ["x", "y", "z"]}},
        KEYPOINTS_VALID: {"dtype": "float32", "shape": (k,), "names": list(keypoint_names)},
        ACTION: {"dtype": "float32", "shape": (action_dim,), "names": list(action_names)},
        PLAN_SUBTASK: {"dtype": "string", "shape": (1,), "names": None},
        PLAN_INSTRUCTION: {"dtype": "string", "shape": (1,), "names": None},
        PLAN_MOTION: {"dtype": "string", "shape": (1,), "names": None},
        PLAN_PATH: {"dtype": "float32", "shape": (PATH_POINTS, 4), "names": {"axes": ["x", "y", "z", "grip"]}},
    }
    if corrections:
        feats[PLAN_CORRECTED] = {"dtype": "float32", "shape": (1,), "names": None}
    for cam in cameras:
        feats[image_key(cam)] = {"dtype": "video", "shape": (image_size, image_size, 3),
                                 "names": ["height", "width", "channels"]}
    return feats


def keypoint_names_of(features: dict) -> tuple[str, ...]:
    """The keypoint names a feature schema carries (empty if it has no keypoints)."""
    ft = features.get(KEYPOINTS)
    if ft is None:
        return ()
    names = ft.get("names")
    if isinstance(names, dict) and isinstance(names.get("keypoints"), list):
        return tuple(names["keypoints"])
    return tuple(f"keypoint_{i}" for i in range(ft["shape"][0]))


def episode_frames(ep: EpisodeArrays, features: dict) -> Iterator[dict]:
    """One ``add_frame`` dict per step (``task`` included) for a dataset with ``features``."""
    ep.validate()
    kp = ep.keypoints
    valid = None if kp is None else np.all(np.isfinite(kp), axis=-1)
    for t in range(len(ep)):
        frame = {STATE: np.asarray(ep.state[t], dtype=np.float32), ACTION: np.asarray(ep.action[t], dtype=np.float32),
                 "task": ep.task}
        if KEYPOINTS in features:
            frame[KEYPOINTS] = np.where(valid[t][:, None], kp[t], 0.0).astype(np.float32)
            frame[KEYPOINTS_VALID] = valid[t].astype(np.float32)
        for key, attr in PLAN_STRINGS.items():
            if key in features:
                frame[key] = str(getattr(ep, attr)[t])
        if PLAN_PATH in features:
            frame[PLAN_PATH] = np.asarray(ep.path[t], dtype=np.float32)
        if PLAN_CORRECTED in features:
            frame[PLAN_CORRECTED] = np.array([ep.corrected is not None and ep.corrected[t]], np.float32)
        for cam, frames in ep.images.items():
            frame[image_key(cam)] = frames[t]
        yield frame
