"""Training samples for the learned planner, built on the chunk policies' ChunkData.

Per step: the observation (as the policies see it), the task's sentence, the previous subtask
(history), the entities' features, the labelled subtask's sentence (stage two's input, teacher
forced) and the labels of every factor: subtask kind, target, destination, instruction template,
RT-H motion (class indices) and the path segment.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from vla_core.data.labels import parse_subtask_key
from vla_core.planners.factors import MAX_MENTIONS, entity_features, entity_points, mentions, to_template
from vla_core.planners.learned import history_index, motion_index
from vla_core.plans.motion import MOTION_VOCAB
from vla_core.training.chunks import ChunkData, motion_cue_at


@dataclass
class PlannerLabels:
    kinds: list[str]  # class → subtask kind
    entities: list[str]  # class → entity name
    templates: list[str]  # class → instruction template
    kind: np.ndarray  # (N,) class, −1 none
    target: np.ndarray  # (N,) entity class, −1 none
    dest: np.ndarray  # (N,) entity class on place steps, −1 elsewhere
    template: np.ndarray  # (N,) class, −1 none
    motions: list[str]  # class → RT-H motion
    motion: np.ndarray  # (N,) class, −1 none
    key: np.ndarray  # (N,) object: the subtask key ('' none), what a subtask answer is checked against
    sentence: np.ndarray  # (N,) object: the instruction ('' none)
    history: np.ndarray  # (N,) index into data.texts of the subtask sentence said before this one, −1 none


def planner_labels(data: ChunkData, episodes, steps: np.ndarray,
                   vocab: tuple[list[str], list[str], list[str], list[str]] | None = None,
                   unknown: int = -1) -> PlannerLabels:
    """Labels for every step. The classes (kinds, entities, templates, motions) come from the ``steps``
    (training) part of ``data``, or are ``vocab`` (a checkpoint's). A factor that is not a class
    gets ``unknown``: −1 is ignored by training; calibration passes −2, an answer the planner
    cannot give, so it counts as wrong."""
    keys = {}  # subtask sentence → key
    for ep in episodes:
        for k in set(ep.subtask or ()):
            if k:
                keys[parse_subtask_key(k).text()] = k
    if data.subtask_text is None or not keys:
        raise ValueError("the dataset has no subtask labels (plan.subtask) to train a planner on")
    step_key = np.array([keys.get(data.texts[i], "") if i >= 0 else "" for i in data.subtask_text], dtype=object)
    sentence = np.array([data.texts[i] if i >= 0 else "" for i in data.instruction], dtype=object)
    # per distinct (key, sentence): the factors, computed once
    pairs = {}
    for k, s in zip(step_key, sentence):
        if (k, s) not in pairs:
            sub = parse_subtask_key(k) if k else None
            pairs[(k, s)] = (sub, to_template(s, sub) if s else None)
    factors = [pairs[(k, s)] for k, s in zip(step_key, sentence)]
    if vocab is None:
        seen = [factors[i] for i in steps]
        kinds = sorted({f[0].kind for f in seen if f[0]})
        entities = sorted({n for f in seen if f[0] for n in (f[0].target, f[0].dest) if n})
        templates = sorted({f[1] for f in seen if f[1]})
        in_grammar = {i for i in data.motion[steps] if i >= 0 and motion_index(data.texts[i]) >= 0}
        motions = sorted({data.texts[i] for i in in_grammar}) or [MOTION_VOCAB[0]]
    else:
        kinds, entities, templates, motions = (list(v) for v in vocab)
    k_cls, e_cls, t_cls = ({v: i for i, v in enumerate(x)} for x in (kinds, entities, templates))
    n = len(step_key)
    kind, target, dest, template = (np.full(n, -1, np.int64) for _ in range(4))
    for i, (sub, tpl) in enumerate(factors):
        if sub is not None:
            kind[i] = k_cls.get(sub.kind, unknown)
            target[i] = e_cls.get(sub.target, unknown)
            if sub.dest is not None:
                dest[i] = e_cls.get(sub.dest, unknown)
        if sentence[i]:
            template[i] = t_cls.get(tpl, unknown) if tpl else unknown
    m_cls = {m: i for i, m in enumerate(motions)}
    motion_of_text = np.array([m_cls.get(t, unknown if motion_index(t) >= 0 else -1) for t in data.texts] + [-1],
                              np.int64)  # [-1]: index −1 → none; a motion outside the grammar is no label
    history = history_index(data.subtask_text, data.episode_start)
    return PlannerLabels(kinds, entities, templates, kind, target, dest, template, motions, motion_of_text[data.motion],
                         step_key, sentence, history)


class PlannerSampler:
    """Draws planner training batches from a subset of steps. ``keypoint_names``, ``landmarks`` and
    ``aliases`` are the model's (the data's keypoints are in that order)."""

    def __init__(self, data: ChunkData, labels: PlannerLabels, steps: np.ndarray, keypoint_names: list[str],
                 landmarks: dict[str, list[float]], aliases: dict[str, list[str]] | None = None, seed: int = 0,
                 motion_gap: int = 8, history_dropout: float = 0.0):
        if data.task is None or data.text_targets is None:
            raise ValueError("ChunkData without task indices or groundings (built by an older build_chunk_data)")
        self.data, self.labels, self.steps, self.motion_gap = data, labels, steps, max(1, int(motion_gap))
        self.history_dropout = float(history_dropout)
        self.rng = np.random.default_rng(seed)
        self.points = entity_points(labels.entities, keypoint_names, landmarks)
        # per text (+ a last row for none): the entities it names, its embedding, groundings
        self.mentions = np.concatenate([np.stack([mentions(t, labels.entities, aliases) for t in data.texts]),
                                        np.full((1, MAX_MENTIONS), -1, np.int64)])
        pad = lambda a, v: np.concatenate([a, np.full((1, *a.shape[1:]), v, a.dtype)])  # noqa: E731
        self.emb, self.targets = pad(data.text_emb, 0.0), pad(data.text_targets, -1)
        self.landmarks = pad(data.text_landmarks, 0.0)

    def batch(self, size: int | None = None, idx: np.ndarray | None = None) -> dict[str, torch.Tensor]:
        d, lab = self.data, self.labels
        if idx is None:
            idx = self.steps[self.rng.integers(len(self.steps), size=size)]
        task, hist, sub = d.task[idx], lab.history[idx], d.subtask_text[idx]  # −1 → the padded last row
        if self.history_dropout > 0 and size is not None:
            # the planner says its own history at inference: while it still says the first subtask it has
            # none, so teacher-forced history alone would teach 'no history ⇒ the first subtask' and
            # keep it driving at a dock it has reached; without it the observation must tell
            hist = np.where(self.rng.random(len(idx)) < self.history_dropout, -1, hist)
        b = {"state": d.state[idx], "motion": motion_cue_at(d, idx, self.rng, self.motion_gap),
             "keypoints": d.keypoints[idx], "keypoints_valid": d.valid[idx],
             "task": self.emb[task], "task_target": self.targets[task], "task_landmark": self.landmarks[task],
             "history": self.emb[hist],
             "entity": entity_features(self.mentions[task], self.mentions[hist], d.state[idx], d.keypoints[idx],
                                       d.valid[idx], *self.points),
             "sub_text": self.emb[sub], "sub_target": self.targets[sub], "sub_landmark": self.landmarks[sub],
             "y_kind": lab.kind[idx], "y_target": lab.target[idx], "y_dest": lab.dest[idx],
             "y_template": lab.template[idx], "y_motion": lab.motion[idx],
             "path": d.path[idx], "has_path": d.has_path[idx]}
        return {k: torch.as_tensor(np.ascontiguousarray(v)) for k, v in b.items()}


def judge(reader, sampler: PlannerSampler, idx: np.ndarray, batch: int = 512, device=None) -> dict:
    """A PlanReader's answers on ``idx`` against the labels, both stages as at inference (stage two
    reads stage one's subtask, not the label's). → {head: (confidence (n,), correct (n,))} over the
    steps labelled for that head, and 'path_error' (n,) mean distance (m) of the path's points
    where a path is labelled."""
    lab = sampler.labels
    conf = {h: [] for h in ("subtask", "instruction", "motion")}
    ok = {h: [] for h in conf}
    err = []
    for i in range(0, len(idx), batch):
        j = idx[i:i + batch]
        b = sampler.batch(idx=j)
        if device is not None:
            b = {k: v.to(device) for k, v in b.items()}
        ans = reader.read(b)
        for h, truth in (("subtask", lab.key[j]), ("instruction", lab.sentence[j])):
            said, p = ans[h]
            has = truth != ""
            conf[h].append(p[has])
            ok[h].append(np.array(said, dtype=object)[has] == truth[has])
        has = lab.motion[j] != -1  # −2: a motion the planner cannot say (calibration), wrong
        conf["motion"].append(ans["motion"][1][has])
        ok["motion"].append(ans["motion"][0][has] == lab.motion[j][has])
        hp = sampler.data.has_path[j]
        if hp.any():
            err.append(np.linalg.norm(ans["path"][hp][..., :3] - sampler.data.path[j][hp][..., :3], axis=-1).mean(-1))
    out = {h: (np.concatenate(conf[h]).astype(np.float64), np.concatenate(ok[h]).astype(bool)) for h in conf}
    out["path_error"] = np.concatenate(err) if err else np.zeros(0)
    return out
