"""Ground a text plan's referents in the named keypoints: which keypoints it is about.

'place the red mug on the table' → (red_mug, table). The policy then sees those two
keypoints as explicit features (their exact offsets from the EE) instead of having to
pick them out of all K keypoints by attention, which blurs positions by centimetres.
Matching is on whole keypoint phrases ('red mug', 'microwave' for 'microwave_handle'),
longest first, ordered by where they occur in the text; the same function labels
training samples and live plans, so both see the same targets.
"""

from __future__ import annotations

import math
import re

import numpy as np

N_TARGETS = 2  # what the plan acts on, and where it goes (place)
PART_SUFFIXES = ("_handle", "_top")  # 'microwave_handle' is what 'open the microwave' grasps


def _phrases(names: tuple[str, ...]) -> list[tuple[str, int]]:
    out = []
    for i, n in enumerate(names):
        out.append((n.replace("_", " "), i))
        for suf in PART_SUFFIXES:
            if n.endswith(suf):
                out.append((n[: -len(suf)].replace("_", " "), i))
    return sorted(out, key=lambda p: -len(p[0]))


def check_landmarks(landmarks: dict[str, list[float]]) -> None:
    """ValueError unless every landmark is a finite (x, y, yaw)."""
    for name, pose in landmarks.items():
        if len(pose) != 3 or not all(isinstance(v, (int, float)) and math.isfinite(v) for v in pose):
            raise ValueError(f"landmark {name!r} must be a finite (x, y, yaw), got {pose!r}")


def ground_landmark(text: str, landmarks: dict[str, list[float]]) -> np.ndarray:
    """(4,) world x, y, yaw and a validity flag of the first map landmark (an area, a fixture's
    dock) the text names; zeros for none."""
    out = np.zeros(4, np.float32)
    if landmarks:
        i = ground(text, list(landmarks))[0]
        if i >= 0:
            out[:3], out[3] = list(landmarks.values())[i], 1.0
    return out


def ground(text: str, names: tuple[str, ...] | list[str]) -> np.ndarray:
    """(N_TARGETS,) int keypoint indices into ``names`` in order of mention; -1 for none."""
    t = " " + re.sub(r"[^a-z0-9]+", " ", text.lower()) + " "
    taken = np.zeros(len(t), bool)
    hits: list[tuple[int, int]] = []
    for phrase, i in _phrases(tuple(names)):
        for m in re.finditer(re.escape(f" {phrase} "), t):
            span = slice(m.start() + 1, m.end() - 1)
            if not taken[span].any() and all(i != j for _, j in hits):
                taken[span] = True
                hits.append((m.start(), i))
    hits.sort()
    out = np.full(N_TARGETS, -1, np.int64)
    for k, (_, i) in enumerate(hits[:N_TARGETS]):
        out[k] = i
    return out
