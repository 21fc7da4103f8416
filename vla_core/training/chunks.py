"""Action-chunk training samples from recorded episodes, held in memory as flat arrays.

Batches are built vectorised (no per-item DataLoader): sample step indices, gather
the (H, D) action chunk from each (padded with the episode's last action), the
observation at the step, the motion cue against an observation 1…motion_gap steps
earlier (what the policy saw at its previous call) and one plan kind drawn from the
configured mix.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from vla_core.data.labels import parse_subtask_key
from vla_core.policies.action_space import motion_cue
from vla_core.policies.encoders import PLAN_KINDS
from vla_core.policies.features import image_inputs, keypoint_inputs
from vla_core.policies.grounding import N_TARGETS, ground, ground_landmark
from vla_core.policies.text import TextEncoder

SOURCES = PLAN_KINDS + ("subtask",)  # plan_mix keys; a subtask's sentence is a (coarse) instruction plan


@dataclass
class ChunkData:
    state: np.ndarray  # (N, 18)
    keypoints: np.ndarray  # (N, K, 3) zeros where invalid
    valid: np.ndarray  # (N, K)
    action: np.ndarray  # (N, D)
    instruction: np.ndarray  # (N,) index into texts: the oracle's (fine-grained) sentence
    motion: np.ndarray  # (N,) index into texts, -1 when absent
    path: np.ndarray  # (N, P, 4)
    has_path: np.ndarray  # (N,) bool
    episode_start: np.ndarray  # (N,) index of the episode's first step
    episode_end: np.ndarray  # (N,) index of the episode's last step
    episode: np.ndarray  # (N,) episode number
    texts: list[str]
    text_emb: np.ndarray  # (len(texts), 384)
    fps: float = 10.0  # control rate the steps were recorded at
    subtask_kind: np.ndarray | None = None  # (N,) index into kinds: the subtask the step belonged to
    kinds: list[str] = field(default_factory=list)
    images: dict[str, np.ndarray] = field(default_factory=dict)  # camera -> (N, 3, S, S) uint8
    text_targets: np.ndarray | None = None  # (len(texts), N_TARGETS) keypoints each text names (grounding)
    text_landmarks: np.ndarray | None = None  # (len(texts), 4) map pose each text names (ground_landmark)
    subtask_text: np.ndarray | None = None  # (N,) index into texts of the subtask's own sentence, -1 when absent
    task: np.ndarray | None = None  # (N,) index into texts of the episode's task
    subtask_end: np.ndarray | None = None  # (N,) index of the last step of the step's subtask (episode end if unknown)

    def __len__(self) -> int:
        return len(self.state)


def build_chunk_data(episodes, keypoint_names: list[str], text: TextEncoder, path_points: int = 8,
                     fps: float = 10.0, cameras: tuple[str, ...] = (), image_size: int = 96,
                     landmarks: dict[str, list[float]] | None = None) -> ChunkData:
    """``episodes``: EpisodeArrays (vla_core.data.reader), read with images when ``cameras``
    are wanted; frames are resized to ``image_size`` once here, not per batch. ``landmarks``:
    the bench's map (sim.envs.landmarks) that plans may name."""
    for cam in cameras:
        missing = [i for i, ep in enumerate(episodes) if cam not in ep.images]
        if missing:
            raise ValueError(f"camera {cam!r} is not in episode {missing[0]} of the dataset "
                             f"(it has {sorted(episodes[missing[0]].images)}); collect with --cameras {cam}")
    texts: dict[str, int] = {}

    def idx(s: str | None) -> int:
        if s is None:
            return -1
        return texts.setdefault(s, len(texts))

    cols: dict[str, list] = {k: [] for k in ("state", "kp", "valid", "action", "instr", "motion", "path", "has_path",
                                             "start", "end", "ep", "kind", "sub_text", "task", "sub_end")}
    kinds: dict[str, int] = {}
    start = 0
    for e_i, ep in enumerate(episodes):
        t = len(ep.action)
        kp, valid = keypoint_inputs(ep.keypoints, ep.keypoint_names, keypoint_names)
        cols["state"].append(ep.state)
        cols["kp"].append(kp)
        cols["valid"].append(valid)
        cols["action"].append(ep.action)
        instr = ep.instruction if ep.instruction is not None else [ep.task] * t
        cols["instr"].append(np.array([idx(s) for s in instr]))
        cols["motion"].append(np.array([idx(s) for s in ep.motion]) if ep.motion is not None else np.full(t, -1))
        has = ep.path is not None
        cols["path"].append(ep.path if has else np.zeros((t, path_points, 4), np.float32))
        cols["has_path"].append(np.full(t, has))
        cols["start"].append(np.full(t, start))
        cols["end"].append(np.full(t, start + t - 1))
        cols["ep"].append(np.full(t, e_i))
        subtasks = ep.subtask if ep.subtask is not None else [""] * t
        cols["kind"].append(np.array([kinds.setdefault(st.split(":")[0], len(kinds)) for st in subtasks]))
        cols["task"].append(np.full(t, idx(ep.task)))
        cols["sub_text"].append(np.array([idx(parse_subtask_key(st).text()) if st else -1 for st in subtasks]))
        cols["sub_end"].append(start + run_ends(subtasks))
        start += t
    cat = {k: np.concatenate(v) for k, v in cols.items()}
    images = {cam: np.concatenate([image_inputs(ep.images[cam], image_size) for ep in episodes]) for cam in cameras}
    names = list(texts)
    return ChunkData(cat["state"].astype(np.float32), cat["kp"], cat["valid"], cat["action"].astype(np.float32),
                     cat["instr"], cat["motion"], cat["path"].astype(np.float32), cat["has_path"], cat["start"],
                     cat["end"], cat["ep"], names, text.encode(names) if names else np.zeros((0, 384), np.float32),
                     float(fps), subtask_kind=cat["kind"], kinds=list(kinds), images=images, subtask_text=cat["sub_text"],
                     task=cat["task"], subtask_end=cat["sub_end"],
                     text_targets=np.array([ground(s, keypoint_names) for s in names], np.int64).reshape(-1, N_TARGETS),
                     text_landmarks=np.array([ground_landmark(s, landmarks or {}) for s in names], np.float32).reshape(-1, 4))


def run_ends(keys) -> np.ndarray:
    """(T,) index of the last step of each step's run of equal consecutive ``keys``."""
    n = len(keys)
    last = np.array([i for i in range(n) if i == n - 1 or keys[i + 1] != keys[i]], np.int64)
    return last[np.searchsorted(last, np.arange(n))] if n else np.zeros(0, np.int64)


CHUNK_ENDS = ("episode", "subtask")


class ChunkSampler:
    """Draws training batches from a subset of steps of a ChunkData."""

    def __init__(self, data: ChunkData, steps: np.ndarray, horizon: int, plan_mix: dict[str, float], seed: int = 0,
                 motion_gap: int = 8, balance: float = 0.0, chunk_end: str = "episode"):
        """``balance`` in [0, 1]: a step of subtask kind k is drawn ∝ freq(k)^−balance (0 = every step
        alike; 1 = every kind alike — navigation is most of the frames, grasps a few per cent).
        ``chunk_end``: where a chunk's actions stop and the last one repeats — the episode's end, or
        the subtask's (a chunk conditioned on 'go to the counter' then never holds the next
        subtask's first moves, which the policy would otherwise start before the planner switches)."""
        self.data, self.steps, self.horizon, self.motion_gap = data, steps, horizon, max(1, int(motion_gap))
        if chunk_end not in CHUNK_ENDS:
            raise ValueError(f"chunk_end must be one of {CHUNK_ENDS}, got {chunk_end!r}")
        self.end = data.subtask_end if chunk_end == "subtask" and data.subtask_end is not None else data.episode_end
        if not 0.0 <= balance <= 1.0:
            raise ValueError(f"balance must be in [0, 1], got {balance}")
        self.p = None
        if balance > 0 and data.subtask_kind is not None and len(steps):
            kind = data.subtask_kind[steps]
            freq = np.bincount(kind) / len(kind)
            w = freq[kind] ** -balance
            self.p = w / w.sum()
        unknown = set(plan_mix) - set(SOURCES)
        if unknown:
            raise ValueError(f"plan_mix keys must be among {SOURCES}, got {sorted(unknown)}")
        kinds = [k for k in SOURCES if plan_mix.get(k, 0) > 0]
        if not kinds:
            raise ValueError(f"plan_mix needs a positive weight for one of {SOURCES}")
        w = np.array([plan_mix[k] for k in kinds], dtype=float)
        self.kinds, self.kind_p = np.array([SOURCES.index(k) for k in kinds]), w / w.sum()
        self.rng = np.random.default_rng(seed)

    def batch(self, size: int | None = None, idx: np.ndarray | None = None) -> dict[str, torch.Tensor]:
        d = self.data
        if idx is None:
            pick = self.rng.integers(len(self.steps), size=size) if self.p is None else self.rng.choice(
                len(self.steps), size=size, p=self.p)
            idx = self.steps[pick]
        chunk = np.minimum(idx[:, None] + np.arange(self.horizon)[None], self.end[idx][:, None])
        src = self.kinds[self.rng.choice(len(self.kinds), size=len(idx), p=self.kind_p)]
        # fall back to the instruction where the drawn source has no label on this step
        motion_k, path_k, instr_k, sub_k = (SOURCES.index(k) for k in ("motion", "path", "instruction", "subtask"))
        sub = d.subtask_text[idx] if d.subtask_text is not None else np.full(len(idx), -1)
        src = np.where((src == motion_k) & (d.motion[idx] < 0), instr_k, src)
        src = np.where((src == path_k) & ~d.has_path[idx], instr_k, src)
        src = np.where((src == sub_k) & (sub < 0), instr_k, src)
        text_i = np.select([src == motion_k, src == sub_k], [d.motion[idx], sub], d.instruction[idx])
        kind = np.where(src == sub_k, instr_k, src)  # the encoder's plan kind (PLAN_KINDS)
        emb = d.text_emb[text_i] * (kind != path_k)[:, None]
        motion = motion_cue_at(d, idx, self.rng, self.motion_gap)
        target = np.full((len(idx), N_TARGETS), -1, np.int64)
        landmark = np.zeros((len(idx), 4), np.float32)
        named = (kind != path_k)[:, None]  # a path plan names nothing
        if d.text_targets is not None:
            target = np.where(named, d.text_targets[text_i], -1)
        if d.text_landmarks is not None:
            landmark = np.where(named, d.text_landmarks[text_i], 0.0).astype(np.float32)
        b = {"state": d.state[idx], "motion": motion, "target": target, "landmark": landmark,
             "keypoints": d.keypoints[idx], "keypoints_valid": d.valid[idx],
             "action": d.action[chunk], "plan_kind": kind, "plan_text": emb, "plan_path": d.path[idx],
             **{f"rgb.{cam}": frames[idx] for cam, frames in d.images.items()}}
        return {k: torch.as_tensor(np.ascontiguousarray(v)) for k, v in b.items()}


def motion_cue_at(d: ChunkData, idx: np.ndarray, rng: np.random.Generator, gap: int) -> np.ndarray:
    """(B, 7) motion cue of steps ``idx`` against an observation 1…gap steps earlier in the same
    episode (what a policy executing ``gap`` actions per call saw last time)."""
    prev = np.maximum(idx - rng.integers(1, gap + 1, size=len(idx)), d.episode_start[idx])
    return motion_cue(d.state[idx], d.state[prev], (idx - prev) / d.fps)


def split_episodes(data: ChunkData, val_frac: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Step indices (train, val), split by whole episodes."""
    n_ep = int(data.episode.max()) + 1 if len(data) else 0
    rng = np.random.default_rng(seed)
    n_val = int(round(val_frac * n_ep)) if n_ep > 1 else 0
    val_eps = set(rng.choice(n_ep, size=n_val, replace=False).tolist()) if n_val else set()
    is_val = np.isin(data.episode, list(val_eps))
    return np.flatnonzero(~is_val), np.flatnonzero(is_val)
