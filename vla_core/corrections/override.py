"""The correction channel inside the runtime loop: a thread-safe queue that any source (typed text, the voice
topic, a test) puts into, and the override state the loop's ``ChunkStepper`` consults at every action.

Order of events in one ``ChunkStepper.next`` call: ``update`` drains the queue (a stop — or, with
``cut_chunk: all``, any override — cuts the running chunk; 'continue' or an expired override hands back
to the planner); when a new chunk is due, ``begin`` activates the newest pending override and ``chunk``
makes its actions. Latency is measured from a correction's arrival stamp (the queue's clock at ``put``,
or the end of the utterance for voice) to the first action under it.
"""

from __future__ import annotations

import queue
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from vla_core.corrections.config import CorrectionConfig
from vla_core.corrections.execute import motion_action
from vla_core.corrections.kinds import (Correction, Freeze, InstructionCorrection, MotionCorrection, Resume,
                                        Unrecognised)
from vla_core.corrections.parse import parse_correction
from vla_core.observation import Observation
from vla_core.planners.base import PlanResult
from vla_core.plans import Instruction, LanguageMotion
from vla_core.plans.motion import STOP, MotionDirections, motion_directions

@dataclass(frozen=True)
class Received:
    correction: Correction
    arrived: float  # the queue clock's seconds (time.monotonic by default) when it arrived


class CorrectionQueue:
    """Where corrections arrive, from any thread; text is parsed on ``put`` (so the sender sees the result)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self.clock = clock
        self._q: queue.SimpleQueue[Received] = queue.SimpleQueue()

    def put(self, item: str | Correction, arrived: float | None = None) -> Correction:
        """``item``: text or an already parsed correction; ``arrived``: stamp on ``clock`` (default: now)."""
        c = item if isinstance(item, Correction) else parse_correction(item)
        self._q.put(Received(c, self.clock() if arrived is None else float(arrived)))
        return c

    def drain(self) -> list[Received]:
        out = []
        while True:
            try:
                out.append(self._q.get_nowait())
            except queue.Empty:
                return out


@dataclass(frozen=True)
class Applied:
    """A correction as the loop reports it (StepEvent / Decision / the agent's status)."""

    kind: str  # freeze | motion | instruction | resume | expired | unrecognised
    text: str  # what was said or typed ('' for an expiry)
    plan: str | None  # the override's plan text; None when control went back to the planner or nothing changed
    latency_ms: float | None  # arrival → the first action under it (None: nothing took effect)
    message: str  # for the person: what happens now, or why nothing does

    def to_dict(self) -> dict:
        return dict(self.__dict__, latency_ms=None if self.latency_ms is None else round(self.latency_ms, 2))


@dataclass
class _Override:
    received: Received
    result: PlanResult  # what replaces the planner's output while active
    directions: MotionDirections | None  # what vla_core.corrections.execute steps; None: the policy acts
    duration_s: float | None
    until: float | None = None  # obs.time when it ends; set when it begins
    anchor: tuple[np.ndarray, np.ndarray] | None = None  # EE pos (3,), quat (4,) when it began


class Overrider:
    """Which override is active and what it does; owned by ``ChunkStepper`` (``corrections=``)."""

    def __init__(self, config: CorrectionConfig | None = None, source: CorrectionQueue | None = None):
        self.config = config or CorrectionConfig()
        self.source = source or CorrectionQueue()
        self.active: _Override | None = None
        self._pending: _Override | None = None
        self._reports: list[Applied] = []

    @property
    def clock(self) -> Callable[[], float]:
        return self.source.clock

    def reset(self) -> None:
        """A new episode: no override; corrections queued before it are dropped (they were about another scene)."""
        self.source.drain()
        self.active = self._pending = None
        self._reports = []

    def state(self) -> str:
        """'none' or the kind of the override in force (or about to be, at the next chunk)."""
        o = self._pending or self.active
        return "none" if o is None else _kind(o)

    def acting(self) -> str:
        """'none' or the kind of the override the running chunk was made under (a pending one acts from the next
        chunk, so it is not counted here: what a dataset labels as the person's plan)."""
        return "none" if self.active is None else _kind(self.active)

    def update(self, obs: Observation, planned: PlanResult | None,
               subtask_done: Callable[[object], bool] | None) -> tuple[bool, bool]:
        """Drain the queue and expire what is over. (cut the running chunk now, hand back to the planner)."""
        cut = handback = False
        for r in self.source.drain():
            c = r.correction
            if isinstance(c, Unrecognised):
                self._reports.append(Applied(c.kind, c.text, None, None, c.describe()))
            elif isinstance(c, Resume):
                had = self._pending or self.active
                self.active = self._pending = None
                handback = handback or had is not None
                self._reports.append(Applied(c.kind, c.text, None, 1e3 * (self.clock() - r.arrived),
                                             c.describe() if had else "resume: nothing to resume"))
            else:
                self._pending = self._make(r, planned, subtask_done)
                cut = cut or isinstance(c, Freeze) or self.config.cut_chunk == "all"
        o = self.active
        if o is not None and self._pending is None:
            subtask = getattr(o.result.plan, "subtask", None)
            over = o.until is not None and obs.time >= o.until
            done = (isinstance(o.received.correction, InstructionCorrection) and subtask is not None
                    and subtask_done is not None and bool(subtask_done(subtask)))
            if over or done:
                self.active = None
                handback = True
                self._reports.append(Applied("expired", "", None, None, f"{_kind(o)} override ended "
                                             f"({'its sub-step is done' if done else 'its time is up'}): planner resumes"))
        return cut, handback

    def _make(self, r: Received, planned: PlanResult | None,
              subtask_done: Callable[[object], bool] | None = None) -> _Override:
        c, cfg = r.correction, self.config
        if isinstance(c, Freeze):  # "stop" moves no axis: every one stays at the anchor (the hold)
            return _Override(r, PlanResult(LanguageMotion(STOP), 1.0), motion_directions(STOP), None)
        if isinstance(c, MotionCorrection):
            d = cfg.motion_duration_s
            directions = motion_directions(c.motion.text) if cfg.motion_executor == "scripted" else None
            return _Override(r, PlanResult(c.motion, 1.0), directions, None if d is None else d * c.scale)
        # an instruction replaces the sub-step's plan but keeps its subtask (the sub-step it overrides) and
        # ends with it. Unless that one is over already: a planner stuck on a finished sub-step is what people
        # correct most, and the override would end at once; then it lasts until 'continue', the next
        # correction or its duration.
        subtask = getattr(planned.plan, "subtask", None) if planned is not None else None
        if subtask is not None and subtask_done is not None and subtask_done(subtask):
            subtask = None
        return _Override(r, PlanResult(Instruction(c.instruction, subtask), 1.0), None, cfg.instruction_duration_s)

    def begin(self, obs: Observation) -> PlanResult | None:
        """At a chunk boundary: activate the pending override (its latency is reported now); the plan in force."""
        o, self._pending = self._pending, None
        if o is not None:
            o.until = None if o.duration_s is None else obs.time + o.duration_s
            o.anchor = (np.asarray(obs.proprio.ee_pos, np.float64).copy(),
                        np.asarray(obs.proprio.ee_quat, np.float64).copy())
            self.active = o
            c = o.received.correction
            self._reports.append(Applied(c.kind, c.text, o.result.plan.to_text(),
                                         1e3 * (self.clock() - o.received.arrived), c.describe()))
        return None if self.active is None else self.active.result

    def chunk(self, obs: Observation, policy, dim: int, grip: float) -> np.ndarray:
        """(H, dim) actions under the active override: (1, dim) scripted — a freeze holds the anchor — (closed
        loop: recomputed at every action), else the policy's chunk for the override's plan."""
        o = self.active
        if o.directions is None:
            return policy.sample(obs, o.result.plan, n=1)[0]
        pos, quat = o.anchor
        return motion_action(dim, o.directions, obs.proprio, pos, quat, grip, self.config)[None]

    def reports(self) -> tuple[Applied, ...]:
        """What happened since the last call (each report is handed out once)."""
        out, self._reports = tuple(self._reports), []
        return out


def _kind(o: _Override) -> str:
    return o.received.correction.kind


__all__ = ["Applied", "CorrectionQueue", "Overrider", "Received"]
