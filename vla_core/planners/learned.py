"""LearnedPlanner: a small model trained on collected data, (observation, task, history) → plan.

As RT-H and YAY do for language motions, plans are classified over closed vocabularies, one
head per plan kind: the subtask (its key, e.g. 'pick:red_mug'), the fine-grained instruction
(the sentences seen in training), the RT-H language motion (``MOTION_VOCAB``), and the EE path
(regressed, (P, 4) in the base frame). Each class head scores its classes by their sentence
embeddings (``ClassScorer``), so a class seen in few episodes shares evidence with the classes
that share its words. The observation goes through the same encoder the chunk
policies use (``ObsPlanEncoder``, grounded), with the task's sentence in the plan slot; the
history is the subtask the planner said before the current one. Confidence is the softmax
probability of the chosen class (paths: of the subtask), what conformal calibration thresholds.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from vla_core.plans.motion import MOTION_VOCAB
from vla_core.policies.encoders import PLAN_KINDS, ObsPlanEncoder
from vla_core.policies.grounding import check_landmarks
from vla_core.policies.normalizer import RangeNormalizer
from vla_core.policies.text import TEXT_DIM

LABELS = {"subtask": "subtask", "instruction": "instruction", "motion": "motion_label"}  # class head → batch key


@dataclass
class PlannerModelConfig:
    keypoint_names: list[str] = field(default_factory=list)
    landmarks: dict[str, list[float]] = field(default_factory=dict)
    subtasks: list[str] = field(default_factory=list)  # subtask keys ('pick:red_mug'), the subtask head's classes
    instructions: list[str] = field(default_factory=list)  # the instruction head's classes
    path_points: int = 8
    d_model: int = 96
    layers: int = 2
    heads: int = 4
    path_weight: float = 1.0  # of the path regression loss beside the three cross-entropies
    dropout: float = 0.1  # in the trunk

    def __post_init__(self) -> None:
        if not self.subtasks or not self.instructions:
            raise ValueError("a planner needs at least one subtask and one instruction class")
        check_landmarks(self.landmarks)

    def to_dict(self) -> dict:
        return asdict(self)


class ClassScorer(nn.Module):
    """Logits over a closed vocabulary of sentences: the trunk's query against a key made from each
    class's sentence embedding, plus a per-class bias. One softmax over the classes as a linear head
    has, but 'pick up the blue bowl' is near 'pick up the white bowl' from the start: with ~100
    subtask and ~250 instruction classes over a few hundred episodes, a linear head memorises the
    training episodes' classes (validation loss rose after 1k steps) where this one generalises."""

    def __init__(self, n_classes: int, d_in: int, d: int):
        super().__init__()
        self.register_buffer("emb", torch.zeros(n_classes, TEXT_DIM))  # (C, TEXT_DIM) set by set_classes / load
        self.query = nn.Linear(d_in, d)
        self.key = nn.Sequential(nn.Linear(TEXT_DIM, d), nn.Mish(), nn.Linear(d, d))
        self.bias = nn.Parameter(torch.zeros(n_classes))
        self.scale = d ** -0.5

    def set_classes(self, emb: torch.Tensor) -> None:
        if emb.shape != self.emb.shape:
            raise ValueError(f"class embeddings {tuple(emb.shape)} do not fit {tuple(self.emb.shape)}")
        self.emb.copy_(emb)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        """h (B, d_in) → logits (B, C)."""
        return self.scale * self.query(h) @ self.key(self.emb).T + self.bias


class PlannerModel(nn.Module):
    def __init__(self, cfg: PlannerModelConfig, keypoint_name_emb: torch.Tensor | None = None,
                 class_emb: dict[str, torch.Tensor] | None = None):
        """``class_emb``: {'subtask': (S, TEXT_DIM), 'instruction': (I, TEXT_DIM)} the sentence
        embeddings of the classes (``class_sentences``); filled from the checkpoint on load."""
        super().__init__()
        self.cfg = cfg
        if keypoint_name_emb is None:  # filled from the checkpoint on load
            keypoint_name_emb = torch.zeros(len(cfg.keypoint_names), TEXT_DIM)
        d = cfg.d_model
        self.encoder = ObsPlanEncoder(keypoint_name_emb, TEXT_DIM, d, cfg.layers, cfg.heads, cfg.path_points,
                                      grounded=True)
        self.history = nn.Sequential(nn.Linear(TEXT_DIM, d), nn.Mish(), nn.Linear(d, d))
        self.trunk = nn.Sequential(nn.Linear(self.encoder.out_dim + d, 4 * d), nn.Mish(), nn.Dropout(cfg.dropout),
                                   nn.Linear(4 * d, 4 * d), nn.Mish(), nn.Dropout(cfg.dropout))
        self.out = nn.ModuleDict({"subtask": ClassScorer(len(cfg.subtasks), 4 * d, d),
                                  "instruction": ClassScorer(len(cfg.instructions), 4 * d, d),
                                  "motion": nn.Linear(4 * d, len(MOTION_VOCAB)),
                                  "path": nn.Linear(4 * d, 4 * cfg.path_points)})
        self.path_norm = RangeNormalizer(4)
        for k, e in (class_emb or {}).items():
            self.out[k].set_classes(torch.as_tensor(e, dtype=torch.float32))

    def forward(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """batch: the encoder's observation inputs (state, motion, keypoints, keypoints_valid, target,
        landmark), task (B, TEXT_DIM) the task's sentence embedding, history (B, TEXT_DIM) the previous
        subtask's (zeros at the start). → logits (B, classes) per class head, path (B, P, 4) normalised."""
        b = batch["state"].shape[0]
        enc_in = {**batch, "plan_kind": torch.full((b,), PLAN_KINDS.index("instruction"), dtype=torch.long,
                                                   device=batch["state"].device),
                  "plan_text": batch["task"],
                  "plan_path": torch.zeros(b, self.cfg.path_points, 4, device=batch["state"].device)}
        h = self.trunk(torch.cat([self.encoder(enc_in), self.history(batch["history"])], dim=-1))
        out = {k: self.out[k](h) for k in ("subtask", "instruction", "motion")}
        out["path"] = self.out["path"](h).view(b, self.cfg.path_points, 4)
        return out

    def loss(self, batch: dict[str, torch.Tensor], generator: torch.Generator | None = None) -> torch.Tensor:
        """batch also holds the labels: subtask, instruction, motion_label (B,) long class indices (−1:
        no label), path (B, P, 4) and has_path (B,) bool. ('motion' is the encoder's motion cue.)"""
        out = self(batch)
        total = sum(F.cross_entropy(out[k], batch[key], ignore_index=-1) for k, key in LABELS.items()
                    if (batch[key] >= 0).any())
        has = batch["has_path"]
        if has.any():
            total = total + self.cfg.path_weight * F.mse_loss(out["path"][has], self.path_norm(batch["path"][has]))
        return total

    @torch.no_grad()
    def predict(self, batch: dict[str, torch.Tensor]) -> dict[str, tuple[torch.Tensor, torch.Tensor] | torch.Tensor]:
        """→ {head: (class index (B,), probability (B,))} for the class heads, path (B, P, 4) base frame."""
        out = self(batch)
        pred = {}
        for k in ("subtask", "instruction", "motion"):
            p = out[k].softmax(-1)
            conf, idx = p.max(-1)
            pred[k] = (idx, conf)
        pred["path"] = self.path_norm.inverse(out["path"])
        return pred


def class_sentences(cfg: PlannerModelConfig) -> dict[str, list[str]]:
    """The sentence each class head's classes are scored by: a subtask key's sentence, an instruction itself."""
    from vla_core.data.labels import parse_subtask_key

    return {"subtask": [parse_subtask_key(k).text() for k in cfg.subtasks], "instruction": list(cfg.instructions)}


def motion_index(text: str | None) -> int:
    """Class of a language motion in MOTION_VOCAB; −1 for none or one outside the grammar."""
    return _MOTION_INDEX.get(text, -1) if text else -1


_MOTION_INDEX = {t: i for i, t in enumerate(MOTION_VOCAB)}


def history_index(subtask_ids: np.ndarray, episode_start: np.ndarray) -> np.ndarray:
    """(N,) subtask class per step (−1 none) → (N,) the class of the previous, different subtask
    of the same episode (−1 at its first subtask): what the planner said before this one."""
    n = len(subtask_ids)
    prev = np.full(n, -1, np.int64)
    for i in range(1, n):
        if episode_start[i] == i:
            continue
        if subtask_ids[i] != subtask_ids[i - 1]:
            prev[i] = subtask_ids[i - 1]
        else:
            prev[i] = prev[i - 1]
    return prev


PLANNER_FORMAT = "vla_stack.planner/1"
OUTPUT_KINDS = ("subtask", "instruction", "motion", "path")  # what a LearnedPlanner can be asked to say


class LearnedPlanner:
    """The planner contract over a trained PlannerModel; ``kind`` picks the head that speaks.
    Every plan carries the predicted subtask; the confidence is that head's probability."""

    def __init__(self, model: PlannerModel, kind: str = "instruction", calibration: dict | None = None):
        """``calibration``: {head: {'threshold': τ, …}} (vla_core.planners.calibrate); below its head's τ
        the planner abstains: the plan is still given, with the reason, for the loop to ask for help."""
        if kind not in OUTPUT_KINDS:
            raise ValueError(f"learned planner kind must be one of {OUTPUT_KINDS}, got {kind!r}")
        from vla_core.policies.text import shared_encoder

        self.model, self.kind, self.cfg = model.eval(), kind, model.cfg
        self.thresholds = {h: c["threshold"] if c.get("threshold") is not None else math.inf
                           for h, c in (calibration or {}).items()}
        self.text = shared_encoder()
        self.reset("")

    @classmethod
    def load(cls, path, kind: str = "instruction") -> "LearnedPlanner":
        from vla_core.policies.checkpoint import load_model

        model, doc = load_model(path, PlannerModel, PlannerModelConfig, PLANNER_FORMAT)
        return cls(model, kind, doc.get("calibration"))

    def reset(self, task: str) -> None:
        from vla_core.policies.grounding import ground, ground_landmark

        self.task = task
        self._task_in = {"task": self.text(task) if task else np.zeros(TEXT_DIM, np.float32),
                         "target": ground(task, self.cfg.keypoint_names),
                         "landmark": ground_landmark(task, self.cfg.landmarks)}
        self.current: str | None = None  # the subtask key said last
        self.previous: str | None = None  # the one before it (the history input)
        self._prev_obs: tuple[float, np.ndarray] | None = None

    def predict(self, obs) -> dict:
        """Every head's answer for ``obs``: {'subtask': (key, p), 'instruction': (sentence, p),
        'motion': (sentence, p), 'path': (P, 4) base frame}. Updates the history."""
        from vla_core.data.labels import parse_subtask_key
        from vla_core.policies.features import observation_inputs

        ob = observation_inputs(obs, self._prev_obs, self.cfg.keypoint_names)
        self._prev_obs = (obs.time, ob["state"])
        history = self.text(parse_subtask_key(self.previous).text()) if self.previous else np.zeros(TEXT_DIM, np.float32)
        b = {**ob, "history": history, **self._task_in}
        device = next(self.model.parameters()).device
        pred = self.model.predict({k: torch.as_tensor(np.asarray(v))[None].to(device) for k, v in b.items()})
        out = {}
        for head, vocab in (("subtask", self.cfg.subtasks), ("instruction", self.cfg.instructions),
                            ("motion", MOTION_VOCAB)):
            out[head] = (vocab[int(pred[head][0][0])], float(pred[head][1][0]))
        out["path"] = pred["path"][0].cpu().numpy()
        key = out["subtask"][0]
        if key != self.current:
            self.previous, self.current = self.current, key
        return out

    def plan(self, obs):
        from vla_core.data.labels import parse_subtask_key
        from vla_core.planners.base import PlanResult
        from vla_core.plans import Instruction, LanguageMotion, Path3D

        pred = self.predict(obs)
        key, s_conf = pred["subtask"]
        subtask = parse_subtask_key(key)
        head = "subtask" if self.kind == "path" else self.kind  # a path's confidence is its subtask's
        if self.kind == "subtask":
            plan, conf = Instruction(subtask.text(), subtask=subtask), s_conf
        elif self.kind == "path":
            plan, conf = Path3D(pred["path"], frame="base", subtask=subtask), s_conf
        elif self.kind == "motion":
            plan, conf = LanguageMotion(pred["motion"][0], subtask=subtask), pred["motion"][1]
        else:
            plan, conf = Instruction(pred["instruction"][0], subtask=subtask), pred["instruction"][1]
        tau = self.thresholds.get(head)
        why = None if tau is None or conf >= tau else f"{head} confidence {conf:.2f} is below the calibrated {tau:.2f}"
        return PlanResult(plan, conf, abstain_reason=why)
