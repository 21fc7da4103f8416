"""A plan as factors the learned planner can recombine: subtask = (kind, target, dest) and
instruction = a template over the subtask's names.

The test split holds object–destination compositions never seen in training ('place:red_mug:sink'
when training only placed the red mug elsewhere and only other objects in the sink). A head over
whole subtask keys or whole sentences cannot say one; heads over their factors can: every kind,
name and template was seen, only not together. Targets and destinations are scored per named
entity with features that say how the task and the scene relate to it (``entity_features``).
"""

from __future__ import annotations

import re

import numpy as np

from vla_core.plans import Subtask
from vla_core.policies.text import keypoint_phrase as _phrase  # 'red_mug' → 'red mug'

MAX_MENTIONS = 8  # entities a task names, in order (multi-step tasks name up to four goals: up to eight things)
NEAR_SCALE = 1.0  # m: nearness feature = −distance / this, clipped below at −3
# per entity: mention one-hot (MAX_MENTIONS); nearness of its map pose to each mentioned thing,
# once for places (areas) and once for operable things (a fixture's dock), since a drive goes to
# the area an object stands in but to a fixture only when it is named (MAX_MENTIONS each); named
# by the previous subtask; is a landmark; is operable
ENTITY_FEATURES = 3 * MAX_MENTIONS + 3


def to_template(sentence: str, subtask: Subtask | None) -> str | None:
    """'lower the red mug onto the shelf' with place:red_mug:shelf → 'lower the {target} onto the
    {dest}'; None when the sentence does not name the subtask's target as 'the <target>' or
    ``fill`` would not give it back."""
    if not sentence or subtask is None:
        return None
    out = sentence
    names = [("target", subtask.target)] + ([("dest", subtask.dest)] if subtask.dest else [])
    for slot, name in sorted(names, key=lambda s: -len(s[1])):  # longer name first: 'drawer' inside 'top drawer'
        out = re.sub(rf"\bthe {re.escape(_phrase(name))}\b", f"the {{{slot}}}", out)
    if "{target}" not in out or "{" in out.replace("{target}", "").replace("{dest}", ""):
        return None
    return out if fill(out, subtask) == sentence else None


def fill(template: str, subtask: Subtask) -> str:
    """The template's sentence for ``subtask`` (str.replace, never str.format: nothing in it runs)."""
    out = template.replace("{target}", _phrase(subtask.target))
    return out.replace("{dest}", _phrase(subtask.dest)) if subtask.dest else out


def parse(sentence: str, templates: list[str], entities: list[str]) -> tuple[int, int, int] | None:
    """A sentence read against a vocabulary: (template, target, dest) class indices (dest −1 where
    the template names none), the first template that ``fill`` gives the sentence back with; None
    when none does. What a person's corrected instruction says, whichever subtask it came under."""
    slots = {"{target}", "{dest}"}
    names = {_phrase(e): i for i, e in enumerate(entities)}
    alt = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
    for ti, t in enumerate(templates):
        parts = re.split(r"(\{target\}|\{dest\})", t)
        rx = "".join(f"(?P<{p[1:-1]}>{alt})" if p in slots else re.escape(p) for p in parts)
        try:
            m = re.fullmatch(rx, sentence) if alt else None
        except re.error:  # a slot twice in one template: not one this reader handles
            continue
        if m:
            g = m.groupdict()
            return ti, names[g["target"]], names[g["dest"]] if g.get("dest") else -1
    return None


def compose(kind: str, target: str, dest: str | None) -> Subtask | None:
    """The subtask of the factors, None when they do not make one (a place without a destination,
    a destination on anything else is dropped)."""
    try:
        return Subtask(kind, target, dest if kind == "place" else None)
    except ValueError:
        return None


def mentions(text: str, entities: list[str], aliases: dict[str, list[str]] | None = None) -> np.ndarray:
    """(MAX_MENTIONS,) entity indices in the order ``text`` names them, by their own phrase ('red
    mug' for red_mug) or an alias ('shelving unit' for shelf): whole phrases, longest first, each
    entity once; −1 pads."""
    t = " " + re.sub(r"[^a-z0-9]+", " ", text.lower()) + " "
    phrases = {(_phrase(e), i) for i, e in enumerate(entities)}
    phrases |= {(a.lower(), i) for i, e in enumerate(entities) for a in (aliases or {}).get(e, ())}
    taken = np.zeros(len(t), bool)
    hits: dict[int, int] = {}  # entity → where it is first named
    for phrase, i in sorted(phrases, key=lambda p: (-len(p[0]), p[1])):
        for m in re.finditer(re.escape(f" {phrase} "), t):
            span = slice(m.start() + 1, m.end() - 1)
            if not taken[span].any():
                taken[span] = True
                hits[i] = min(hits.get(i, m.start()), m.start())
    order = sorted(hits, key=hits.get)
    out = np.full(MAX_MENTIONS, -1, np.int64)
    out[:min(len(order), MAX_MENTIONS)] = order[:MAX_MENTIONS]
    return out


def entity_points(entities: list[str], keypoint_names: list[str],
                  landmarks: dict[str, list[float]]) -> tuple[np.ndarray, np.ndarray]:
    """Per entity: its keypoint index (−1 none: the stove area has none), and (E, 5) its map pose,
    a landmark flag (areas and fixture docks) and an 'operable' flag: its keypoint is a part of it
    ('microwave_handle' for the microwave), what fixtures have and places do not."""
    kp = {n: i for i, n in enumerate(keypoint_names)}
    part = {}
    for n in keypoint_names:
        for suf in ("_handle", "_top"):
            if n.endswith(suf):
                part.setdefault(n[: -len(suf)], kp[n])
    index = np.array([kp.get(e, part.get(e, -1)) for e in entities], np.int64)
    pose = np.array([landmarks.get(e, [0.0, 0.0, 0.0]) for e in entities], np.float32).reshape(-1, 3)
    flags = np.array([[e in landmarks, e not in kp and e in part] for e in entities], np.float32).reshape(-1, 2)
    return index, np.concatenate([pose, flags], axis=1)


def entity_features(mention: np.ndarray, history: np.ndarray, state: np.ndarray, keypoints: np.ndarray,
                    valid: np.ndarray, kp_index: np.ndarray, landmark: np.ndarray) -> np.ndarray:
    """(B, E, ENTITY_FEATURES) for batch rows: ``mention`` (B, M) entity indices the task names,
    ``history`` (B, M) those the previous subtask names, ``state`` (B, 18) proprio (base pose in
    15:18), ``keypoints`` (B, K, 3) base frame with ``valid`` (B, K); ``kp_index`` (E,) and
    ``landmark`` (E, 5) from ``entity_points``. Nearness ties a navigation to the area where the
    named object stands: −(distance from each mentioned entity's keypoint, in the world, to this
    entity's map pose)."""
    b, e = mention.shape[0], len(kp_index)
    rows = np.arange(b)
    out = np.zeros((b, e, ENTITY_FEATURES), np.float32)
    m = MAX_MENTIONS
    x, y, yaw = state[:, 15], state[:, 16], state[:, 17]
    cos, sin = np.cos(yaw), np.sin(yaw)
    for j in range(m):
        has = mention[:, j] >= 0
        out[rows[has], mention[has, j], j] = 1.0
        hk = history[:, j] >= 0
        out[rows[hk], history[hk, j], 3 * m] = 1.0
        # world xy of the j-th mentioned entity's keypoint
        ki = np.where(has, kp_index[np.maximum(mention[:, j], 0)], -1)
        ok = ki >= 0
        p = keypoints[rows, np.maximum(ki, 0)]  # (B, 3)
        ok &= valid[rows, np.maximum(ki, 0)] > 0
        wx = x + cos * p[:, 0] - sin * p[:, 1]
        wy = y + sin * p[:, 0] + cos * p[:, 1]
        d = np.hypot(wx[:, None] - landmark[None, :, 0], wy[:, None] - landmark[None, :, 1])  # (B, E)
        near = np.maximum(-d / NEAR_SCALE, -3.0) * landmark[None, :, 3] * ok[:, None]
        out[:, :, m + j] = near * (1.0 - landmark[None, :, 4])
        out[:, :, 2 * m + j] = near * landmark[None, :, 4]
    out[:, :, 3 * m + 1] = landmark[None, :, 3]
    out[:, :, 3 * m + 2] = landmark[None, :, 4]
    return out
