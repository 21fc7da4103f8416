"""LearnedPlanner: a small model trained on collected data, (observation, task, history) → plan.

Plans are classified over closed vocabularies of their factors (``vla_core/planners/factors.py``),
in two stages as a person reads a task: which subtask now — its kind, the entity it acts on and,
for a place, where to (entities scored by their names' sentence embeddings plus features of how
the task and the scene relate to each) — and then, given that subtask's sentence, which sub-step
(a template filled with the subtask's names: 'lower the gripper onto the {target}'), which RT-H
language motion (over those of RT-H's grammar ``MOTION_VOCAB`` the training split holds, as RT-H and
YAY classify; the grammar's 21k compositions as one head would be 8M weights) and which EE path (regressed, (P, 4) in the
base frame). The test split's object–destination compositions were never seen together; their
factors were. Both stages share the observation encoder the chunk policies use
(``ObsPlanEncoder``, grounded): stage one with the task's sentence in the plan slot, stage two with
the subtask's (teacher-forced in training, the stage-one answer at inference). The history is the
subtask said before the current one. Confidence is the probability of the answer: the product of
its factors' probabilities (paths: their subtask's), what conformal calibration thresholds.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from vla_core.data.labels import parse_subtask_key, subtask_key
from vla_core.planners.factors import ENTITY_FEATURES, compose, entity_features, entity_points, fill, mentions
from vla_core.plans.motion import MOTION_VOCAB
from vla_core.policies.encoders import PLAN_KINDS, ObsPlanEncoder
from vla_core.policies.grounding import check_landmarks, ground, ground_landmark
from vla_core.policies.normalizer import RangeNormalizer
from vla_core.policies.text import TEXT_DIM

# class head → its label's batch key (−1: no label)
LABELS = {"kind": "y_kind", "target": "y_target", "dest": "y_dest", "template": "y_template", "motion": "y_motion"}


@dataclass
class PlannerModelConfig:
    keypoint_names: list[str] = field(default_factory=list)
    landmarks: dict[str, list[float]] = field(default_factory=dict)
    kinds: list[str] = field(default_factory=list)  # subtask kinds seen in training
    entities: list[str] = field(default_factory=list)  # names subtasks act on or place at
    templates: list[str] = field(default_factory=list)  # instruction templates ('grasp the {target}')
    aliases: dict[str, list[str]] = field(default_factory=dict)  # how tasks name entities (the bench's lexicon)
    motions: list[str] = field(default_factory=list)  # the RT-H motions seen in training (MOTION_VOCAB's)
    path_points: int = 8
    d_model: int = 96
    layers: int = 2
    heads: int = 4
    path_weight: float = 1.0  # of the path regression loss beside the cross-entropies
    dropout: float = 0.1  # in the trunks

    def __post_init__(self) -> None:
        if not self.kinds or not self.entities or not self.templates or not self.motions:
            raise ValueError("a planner needs at least one subtask kind, entity, instruction template and motion")
        bad = [m for m in self.motions if m not in _MOTION_INDEX]
        if bad:
            raise ValueError(f"motions outside RT-H's grammar: {bad[:3]}")
        check_landmarks(self.landmarks)

    def to_dict(self) -> dict:
        return asdict(self)


class EntityScorer(nn.Module):
    """Logits over the named entities: the trunk's query against a key made from each entity's
    name embedding, a per-entity bias, and the entity's features (mentioned first/second… by the
    task, near what it mentions, named by the previous subtask) weighed by a gate the trunk sets
    per sample — 'the second thing the task names' after a pick, 'the area nearest the first' for
    the drive before it."""

    def __init__(self, n: int, d_in: int, d: int):
        super().__init__()
        self.register_buffer("emb", torch.zeros(n, TEXT_DIM))  # (E, TEXT_DIM) set by set_classes / load
        self.query = nn.Linear(d_in, d)
        self.key = nn.Sequential(nn.Linear(TEXT_DIM, d), nn.Mish(), nn.Linear(d, d))
        self.bias = nn.Parameter(torch.zeros(n))
        self.gate = nn.Linear(d_in, ENTITY_FEATURES)
        nn.init.zeros_(self.gate.weight)  # no feature is preferred before training says which matter
        nn.init.zeros_(self.gate.bias)
        self.scale = d ** -0.5

    def set_classes(self, emb: torch.Tensor) -> None:
        if emb.shape != self.emb.shape:
            raise ValueError(f"entity embeddings {tuple(emb.shape)} do not fit {tuple(self.emb.shape)}")
        self.emb.copy_(emb)

    def forward(self, h: torch.Tensor, feats: torch.Tensor) -> torch.Tensor:
        """h (B, d_in), feats (B, E, ENTITY_FEATURES) → logits (B, E)."""
        sim = self.scale * self.query(h) @ self.key(self.emb).T + self.bias
        return sim + (feats * self.gate(h)[:, None, :]).sum(-1)


def _trunk(d_in: int, d: int, dropout: float) -> nn.Sequential:
    return nn.Sequential(nn.Linear(d_in, 4 * d), nn.Mish(), nn.Dropout(dropout),
                         nn.Linear(4 * d, 4 * d), nn.Mish(), nn.Dropout(dropout))


class PlannerModel(nn.Module):
    def __init__(self, cfg: PlannerModelConfig, keypoint_name_emb: torch.Tensor | None = None,
                 entity_emb: torch.Tensor | None = None):
        """``entity_emb`` (E, TEXT_DIM): the embeddings of the entities' names; filled from the
        checkpoint on load, as ``keypoint_name_emb`` is."""
        super().__init__()
        self.cfg = cfg
        if keypoint_name_emb is None:
            keypoint_name_emb = torch.zeros(len(cfg.keypoint_names), TEXT_DIM)
        d = cfg.d_model
        self.encoder = ObsPlanEncoder(keypoint_name_emb, TEXT_DIM, d, cfg.layers, cfg.heads, cfg.path_points,
                                      grounded=True)
        self.history = nn.Sequential(nn.Linear(TEXT_DIM, d), nn.Mish(), nn.Linear(d, d))
        self.trunk = _trunk(self.encoder.out_dim + d, d, cfg.dropout)  # stage one: the subtask
        self.substep = _trunk(self.encoder.out_dim, d, cfg.dropout)  # stage two: given the subtask
        self.out = nn.ModuleDict({"kind": nn.Linear(4 * d, len(cfg.kinds)),
                                  "target": EntityScorer(len(cfg.entities), 4 * d, d),
                                  "dest": EntityScorer(len(cfg.entities), 4 * d, d),
                                  "template": nn.Linear(4 * d, len(cfg.templates)),
                                  "motion": nn.Linear(4 * d, len(cfg.motions)),
                                  "path": nn.Linear(4 * d, 4 * cfg.path_points)})
        self.path_norm = RangeNormalizer(4)
        if entity_emb is not None:
            for k in ("target", "dest"):
                self.out[k].set_classes(torch.as_tensor(entity_emb, dtype=torch.float32))

    def _encode(self, batch: dict[str, torch.Tensor], text: torch.Tensor, target: torch.Tensor,
                landmark: torch.Tensor) -> torch.Tensor:
        b = batch["state"].shape[0]
        dev = batch["state"].device
        return self.encoder({**batch, "target": target, "landmark": landmark, "plan_text": text,
                             "plan_kind": torch.full((b,), PLAN_KINDS.index("instruction"), dtype=torch.long, device=dev),
                             "plan_path": torch.zeros(b, self.cfg.path_points, 4, device=dev)})

    def subtask_logits(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Stage one. batch: the encoder's observation inputs (state, motion, keypoints,
        keypoints_valid), task (B, TEXT_DIM) with its grounding task_target (B, 2) and
        task_landmark (B, 4), history (B, TEXT_DIM) the previous subtask's sentence embedding (zeros
        at the start), entity (B, E, ENTITY_FEATURES) → logits kind (B, K), target / dest (B, E)."""
        enc = self._encode(batch, batch["task"], batch["task_target"], batch["task_landmark"])
        h = self.trunk(torch.cat([enc, self.history(batch["history"])], dim=-1))
        return {"kind": self.out["kind"](h), "target": self.out["target"](h, batch["entity"]),
                "dest": self.out["dest"](h, batch["entity"])}

    def substep_outputs(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Stage two. batch: the observation inputs and the subtask's sentence sub_text (B, TEXT_DIM)
        with its grounding sub_target (B, 2), sub_landmark (B, 4) → logits template (B, T), motion
        (B, len(MOTION_VOCAB)), path (B, P, 4) normalised."""
        h = self.substep(self._encode(batch, batch["sub_text"], batch["sub_target"], batch["sub_landmark"]))
        return {"template": self.out["template"](h), "motion": self.out["motion"](h),
                "path": self.out["path"](h).view(-1, self.cfg.path_points, 4)}

    def forward(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Both stages, stage two on the sub_* inputs the batch holds (the labelled subtask's)."""
        return {**self.subtask_logits(batch), **self.substep_outputs(batch)}

    def loss(self, batch: dict[str, torch.Tensor], generator: torch.Generator | None = None) -> torch.Tensor:
        """batch also holds the labels: y_kind, y_target, y_dest (place steps only), y_template,
        y_motion (B,) long class indices (−1: no label), path (B, P, 4) and has_path (B,) bool."""
        out = self(batch)
        total = sum(F.cross_entropy(out[k], batch[key], ignore_index=-1) for k, key in LABELS.items()
                    if (batch[key] >= 0).any())
        has = batch["has_path"]
        if has.any():
            total = total + self.cfg.path_weight * F.mse_loss(out["path"][has], self.path_norm(batch["path"][has]))
        return total


class PlanReader:
    """What a PlannerModel says for a batch of observations, both stages: stage one's subtask is
    put into words, encoded and grounded as training did, and stage two reads it. One code path
    for the live planner (B = 1), validation and calibration."""

    def __init__(self, model: PlannerModel, text):
        self.model, self.text, self.cfg = model, text, model.cfg
        self.kp_index, self.landmark = entity_points(self.cfg.entities, self.cfg.keypoint_names, self.cfg.landmarks)
        self._sub: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        self._hist: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self.dest_templates = torch.tensor(["{dest}" in t for t in self.cfg.templates])  # (T,) names a destination

    def entity(self, task_mentions: np.ndarray, history_mentions: np.ndarray, obs: dict[str, np.ndarray]) -> np.ndarray:
        """(B, E, ENTITY_FEATURES) from mention indices (B, M) and observation arrays."""
        return entity_features(task_mentions, history_mentions, obs["state"], obs["keypoints"], obs["keypoints_valid"],
                               self.kp_index, self.landmark)

    def sentence_inputs(self, sentence: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """A subtask's sentence → (embedding, keypoint grounding, landmark), cached."""
        if sentence not in self._sub:
            self._sub[sentence] = (np.asarray(self.text(sentence), np.float32),
                                   ground(sentence, self.cfg.keypoint_names),
                                   ground_landmark(sentence, self.cfg.landmarks))
        return self._sub[sentence]

    def history_inputs(self, sentence: str) -> tuple[np.ndarray, np.ndarray]:
        """The previous subtask's sentence ('' none) → (embedding, zeros for none; entities it names), cached."""
        if sentence not in self._hist:
            self._hist[sentence] = (np.asarray(self.text(sentence), np.float32) if sentence
                                    else np.zeros(TEXT_DIM, np.float32),
                                    mentions(sentence, self.cfg.entities, self.cfg.aliases))
        return self._hist[sentence]

    @torch.no_grad()
    def read(self, batch: dict[str, torch.Tensor]) -> dict:
        """batch: stage one's inputs → {'subtask': (keys [B], p (B,)), 'instruction': (sentences [B], p),
        'motion': (class (B,), p), 'path': (B, P, 4) base frame}. A subtask the factors cannot make (a place without a destination) is
        '' with probability 0."""
        c = self.cfg
        logits = self.model.subtask_logits(batch)
        p = {k: v.softmax(-1) for k, v in logits.items()}
        conf = {k: v.max(-1) for k, v in p.items()}
        kind_i, target_i, dest_i = (conf[k].indices.cpu().numpy() for k in ("kind", "target", "dest"))
        subtasks = [compose(c.kinds[k], c.entities[t], c.entities[d]) for k, t, d in zip(kind_i, target_i, dest_i)]
        dev = batch["state"].device
        is_place = torch.tensor([s is not None and s.kind == "place" for s in subtasks], device=dev)
        made = torch.tensor([s is not None for s in subtasks], device=dev)
        s_conf = conf["kind"].values * conf["target"].values * torch.where(is_place, conf["dest"].values, 1.0)
        s_conf = torch.where(made, s_conf, 0.0)
        sub = [self.sentence_inputs(s.text() if s is not None else "") for s in subtasks]
        stage2 = {**batch, **{k: torch.as_tensor(np.stack([x[i] for x in sub])).to(dev)
                              for i, k in enumerate(("sub_text", "sub_target", "sub_landmark"))}}
        out2 = self.model.substep_outputs(stage2)
        # a template with a slot the subtask has no name for would leave '{dest}' in the sentence
        has_dest = torch.tensor([s is not None and s.dest is not None for s in subtasks], device=dev)
        fits = has_dest[:, None] | ~self.dest_templates.to(dev)[None]
        tp = torch.where(fits, out2["template"].softmax(-1), 0.0).max(-1)
        mp = out2["motion"].softmax(-1).max(-1)
        sentences = [fill(c.templates[int(t)], s) if s is not None else "" for t, s in zip(tp.indices, subtasks)]
        return {"subtask": ([subtask_key(s) for s in subtasks], s_conf.cpu().numpy()),
                "instruction": (sentences, (s_conf * tp.values).cpu().numpy()),
                "motion": (mp.indices.cpu().numpy(), mp.values.cpu().numpy()),
                "path": self.model.path_norm.inverse(out2["path"]).cpu().numpy()}


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


PLANNER_FORMAT = "vla_stack.planner/2"  # /1 classified whole subtask keys and sentences
OUTPUT_KINDS = ("subtask", "instruction", "motion", "path")  # what a LearnedPlanner can be asked to say


def inference_history(doc: dict) -> bool:
    """Whether a checkpoint's planner runs with its history input (config.json ``inference.history``,
    written by the trainer: off for a history-dropout-trained model, which decides from the observation
    alone; on for one that never learned without it and for checkpoints from before the setting)."""
    return bool(doc.get("inference", {}).get("history", True))


class LearnedPlanner:
    """The planner contract over a trained PlannerModel; ``kind`` picks the answer that speaks.
    Every plan carries the predicted subtask; the confidence is that answer's probability."""

    def __init__(self, model: PlannerModel, kind: str = "instruction", calibration: dict | None = None,
                 history: bool = True):
        """``calibration``: {head: {'threshold': τ, …}} (vla_core.planners.calibrate); below its head's τ
        the planner abstains: the plan is still given, with the reason, for the loop to ask for help.
        ``history``: feed the subtask said before the current one. In closed loop it lags the truth at
        every switch (the planner still says the old subtask, so its 'previous' is the one before):
        a history-dropout-trained model (configs/train_planner.yaml) can go without it and decide
        from the observation alone."""
        if kind not in OUTPUT_KINDS:
            raise ValueError(f"learned planner kind must be one of {OUTPUT_KINDS}, got {kind!r}")
        from vla_core.policies.text import shared_encoder

        self.model, self.kind, self.cfg, self.history = model.eval(), kind, model.cfg, bool(history)
        self.thresholds = {h: c["threshold"] if c.get("threshold") is not None else math.inf
                           for h, c in (calibration or {}).items()}
        self.text = shared_encoder()
        self.reset("")

    @property
    def text(self):
        return self._text

    @text.setter
    def text(self, value) -> None:  # the server shares one locked encoder between sessions
        self._text = value
        self.reader = PlanReader(self.model, value)

    @classmethod
    def load(cls, path, kind: str = "instruction", history: bool | None = None) -> "LearnedPlanner":
        """``history`` None: the checkpoint's own setting (``inference_history(doc)``)."""
        from vla_core.policies.checkpoint import load_model

        model, doc = load_model(path, PlannerModel, PlannerModelConfig, PLANNER_FORMAT)
        return cls(model, kind, doc.get("calibration"), inference_history(doc) if history is None else history)

    def reset(self, task: str) -> None:
        self.task = task
        self._task_in = {"task": self.text(task) if task else np.zeros(TEXT_DIM, np.float32),
                         "task_target": ground(task, self.cfg.keypoint_names),
                         "task_landmark": ground_landmark(task, self.cfg.landmarks)}
        self._task_mentions = mentions(task, self.cfg.entities, self.cfg.aliases)
        self.current: str | None = None  # the subtask key said last
        self.previous: str | None = None  # the one before it (the history input)
        self._prev_obs: tuple[float, np.ndarray] | None = None

    def predict(self, obs) -> dict:
        """Every answer for ``obs``: {'subtask': (key, p), 'instruction': (sentence, p),
        'motion': (sentence, p), 'path': (P, 4) base frame}. Updates the history."""
        from vla_core.policies.features import observation_inputs

        ob = observation_inputs(obs, self._prev_obs, self.cfg.keypoint_names)
        self._prev_obs = (obs.time, ob["state"])
        history, named = self.reader.history_inputs(
            parse_subtask_key(self.previous).text() if self.previous and self.history else "")
        ent = self.reader.entity(self._task_mentions[None], named[None], {k: v[None] for k, v in ob.items()})[0]
        b = {**ob, "history": history, "entity": ent, **self._task_in}
        device = next(self.model.parameters()).device
        ans = self.reader.read({k: torch.as_tensor(np.asarray(v))[None].to(device) for k, v in b.items()})
        out = {"subtask": (ans["subtask"][0][0], float(ans["subtask"][1][0])),
               "instruction": (ans["instruction"][0][0], float(ans["instruction"][1][0])),
               "motion": (self.cfg.motions[int(ans["motion"][0][0])], float(ans["motion"][1][0])),
               "path": ans["path"][0]}
        key = out["subtask"][0]
        if key and key != self.current:
            self.previous, self.current = self.current, key
        return out

    def plan(self, obs):
        from vla_core.planners.base import PlanResult
        from vla_core.plans import Instruction, LanguageMotion, Path3D

        pred = self.predict(obs)
        key, s_conf = pred["subtask"]
        # factors that make no subtask (a place with nowhere to go): keep the last one, say so
        subtask = parse_subtask_key(key or self.current or "")
        if subtask is None:
            return PlanResult(Instruction("stop"), 0.0, abstain_reason="the planner's factors make no subtask")
        head = "subtask" if self.kind == "path" else self.kind  # a path's confidence is its subtask's
        if self.kind == "subtask":
            plan, conf = Instruction(subtask.text(), subtask=subtask), s_conf
        elif self.kind == "path":
            plan, conf = Path3D(pred["path"], frame="base", subtask=subtask), s_conf
        elif self.kind == "motion":
            plan, conf = LanguageMotion(pred["motion"][0], subtask=subtask), pred["motion"][1]
        else:
            plan, conf = Instruction(pred["instruction"][0] or subtask.text(), subtask=subtask), pred["instruction"][1]
        tau = self.thresholds.get(head)
        why = None if tau is None or conf >= tau else f"{head} confidence {conf:.2f} is below the calibrated {tau:.2f}"
        return PlanResult(plan, conf, abstain_reason=why)
