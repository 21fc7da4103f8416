"""The served models (loaded once per process) and the per-connection Session that answers requests.

One ``ChunkPolicy`` per connection over one shared ``ChunkModel``: the policy's episode state (the
previous observation for the motion cue, the noise generator) belongs to one robot, so two robots
on one server never see each other's history. A new connection starts a fresh episode.

With ``--workers`` > 1 sessions call the shared model from several threads at once. Its weights are
only read; the sampler's one piece of per-call state (the DDIM scheduler's timesteps) is rewritten
to the same values by every call, since the step count is fixed at load; the text encoder's
tokenizer is not thread-safe and sits behind ``LockedText``.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vla_core.policies.checkpoint import load_checkpoint, load_model
from vla_core.policies.chunk_policy import ChunkPolicy
from vla_core.policies.text import shared_encoder
from vla_core.serve.codec import ProtocolError
from vla_core.serve.protocol import PROTOCOL, Request, decode_request, encode_reply, error_reply, plan_kind, request_id

log = logging.getLogger("vla_core.serve")


class BadRequest(ValueError):
    """A well-formed request the policy refuses (its own ValueError: NaN proprio, a missing camera …)."""


@dataclass(frozen=True)
class ServeConfig:
    checkpoint: Path
    seed: int = 0  # each connection's first episode seed (a ``reset`` request picks another)
    steps: int | None = None  # sampler steps; None: the checkpoint's
    sampler: str | None = None
    noise: str = "random"  # ChunkPolicy.NOISE
    planner: Path | None = None  # a learned planner checkpoint: plans for requests that carry none
    planner_kind: str = "instruction"


class LockedText:
    """The process's sentence encoder behind a lock. HF fast tokenizers raise 'Already borrowed' when
    two threads encode at once, and with ``--workers`` > 1 sessions run in several threads."""

    def __init__(self, inner, lock: threading.Lock):
        self.inner, self.lock = inner, lock

    def encode(self, texts):
        with self.lock:
            return self.inner.encode(texts)

    def __call__(self, text: str) -> np.ndarray:
        return self.encode([text])[0]


class ServedModels:
    """Loads the checkpoint(s) and the text encoder once; ``session()`` hands each connection its own state."""

    def __init__(self, cfg: ServeConfig):
        self.cfg = cfg
        self.model = None
        self.planner_model = None
        self.planner_calibration: dict | None = None
        self.planner_history = True
        self.text = LockedText(shared_encoder(), threading.Lock())
        self.load_s: float | None = None

    def load(self) -> None:
        """Blocking (seconds: torch, the checkpoint, MiniLM); ``CheckpointError`` for a bad checkpoint."""
        start = time.perf_counter()
        model, _ = load_checkpoint(self.cfg.checkpoint)
        if self.cfg.steps or self.cfg.sampler:  # once, on the shared model, not per session
            model.set_sampler(self.cfg.sampler, self.cfg.steps)
        if self.cfg.planner is not None:
            from vla_core.planners.learned import PLANNER_FORMAT, PlannerModel, PlannerModelConfig, inference_history

            self.planner_model, doc = load_model(self.cfg.planner, PlannerModel, PlannerModelConfig, PLANNER_FORMAT)
            self.planner_calibration = doc.get("calibration")
            self.planner_history = inference_history(doc)
        self.text("warm up")  # loads MiniLM now, so /healthz 200 means the first request is not the slow one
        self.model = model
        self.load_s = time.perf_counter() - start

    def info(self) -> dict:
        c = self.model.cfg
        return {"protocol": PROTOCOL, "checkpoint": Path(self.cfg.checkpoint).name, "kind": c.kind,
                "action_dim": c.action_dim, "horizon": c.horizon, "n_exec": c.n_exec,
                "keypoint_names": list(c.keypoint_names), "cameras": list(c.cameras),
                "planner": None if self.planner_model is None else self.cfg.planner_kind}

    def session(self) -> Session:
        return Session(self)


class Session:
    """One connection's episode: ``respond(bytes) -> bytes`` never raises; errors become error replies."""

    def __init__(self, models: ServedModels):
        cfg = models.cfg
        self.models, self.info = models, models.info()
        self.policy = ChunkPolicy(models.model, seed=cfg.seed, noise=cfg.noise)
        self.policy.text = models.text
        self.planner = None
        if models.planner_model is not None:
            from vla_core.planners.learned import LearnedPlanner

            self.planner = LearnedPlanner(models.planner_model, cfg.planner_kind, models.planner_calibration,
                                          models.planner_history)
            self.planner.text = models.text

    def respond(self, data, received: float) -> bytes:
        """``received``: perf_counter() when the message arrived, so queueing shows in the timing."""
        start = time.perf_counter()
        try:
            req = decode_request(data)
            reply = {**self.handle(req), "id": req.id}
        except ProtocolError as e:
            reply = error_reply(request_id(data), "malformed", str(e))
        except BadRequest as e:
            reply = error_reply(request_id(data), "bad_request", str(e))
        except Exception as e:  # noqa: BLE001 - a bug must not take the connection (or the server) down
            log.exception("request failed")
            reply = error_reply(request_id(data), "internal", f"{type(e).__name__}: {str(e)[:200]}")
        timing = reply.setdefault("timing", {})
        timing["queue_ms"] = 1e3 * (start - received)
        timing["server_ms"] = 1e3 * (time.perf_counter() - received)
        return encode_reply(reply)

    def handle(self, req: Request) -> dict:
        if req.type == "hello":
            return {"type": "hello", **self.info}
        if req.type == "reset":
            self.policy.reset(req.seed)
            if self.planner is not None:
                self.planner.reset(req.task or "")
            return {"type": "reset", "seed": self.policy.episode_seed}
        return self.infer(req)

    def infer(self, req: Request) -> dict:
        obs, plan, confidence, why = req.obs, req.plan, None, None
        timing: dict[str, float] = {}
        if plan is None and self.planner is None:
            raise BadRequest("the request has no plan and this server has no planner (start it with --planner)")
        try:
            if plan is None:
                if self.planner.task != obs.task:
                    self.planner.reset(obs.task)
                t = time.perf_counter()
                result = self.planner.plan(obs)
                timing["plan_ms"] = 1e3 * (time.perf_counter() - t)
                if result is None:  # the planner thinks the task is done; the caller decides what that means
                    return {"type": "infer", "done": True, "actions": None, "plan": None, "plan_kind": None,
                            "confidence": None, "abstain_reason": None, "n_exec": self.info["n_exec"], "timing": timing}
                plan, confidence, why = result.plan, result.confidence, result.abstain_reason
            t = time.perf_counter()
            chunks = self.policy.sample(obs, plan, n=req.n)  # (n, H, D)
            timing["infer_ms"] = 1e3 * (time.perf_counter() - t)
        except ValueError as e:  # the policy's (and planner's) own refusal of an input
            raise BadRequest(str(e)) from None
        chunks = np.asarray(chunks, dtype=np.float32)
        reply = {"type": "infer", "done": False, "actions": chunks[0], "plan": plan.to_text(), "plan_kind": plan_kind(plan),
                 "confidence": confidence, "abstain_reason": why, "n_exec": self.info["n_exec"], "timing": timing}
        if req.n > 1:
            reply["samples"] = chunks
        return reply
