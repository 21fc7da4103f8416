"""The one runtime loop: observe → (re)plan → sample a chunk → execute → record.

Sim evaluation, ROS 2 nodes and the policy server all drive this loop; none
re-implements it. Success always comes from ``env.success()`` (simulator state).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from vla_core.actions import MOBILE_DIM
from vla_core.corrections.override import Applied, Overrider
from vla_core.observation import Observation
from vla_core.planners.base import Planner, PlanResult
from vla_core.policies.base import Policy


REPLAN = ("chunk", "subtask", "correction")


@dataclass
class LoopConfig:
    n_exec: int = 8  # actions executed from each chunk before the next one is sampled (receding horizon)
    max_steps: int | None = None  # None: the task's own budget
    # when the planner is asked again: before every chunk; when the plan's subtask is done (simulator
    # state, where the env can tell; every chunk for plans without one) or a correction asks; only
    # when a correction asks (``RuntimeLoop.request_replan``)
    replan: str = "chunk"

    def __post_init__(self) -> None:
        if self.n_exec < 1:
            raise ValueError(f"n_exec must be at least 1, got {self.n_exec}")
        if self.replan not in REPLAN:
            raise ValueError(f"replan must be one of {REPLAN}, got {self.replan!r}")
        if self.max_steps is not None and self.max_steps < 0:
            raise ValueError(f"max_steps must be >= 0, got {self.max_steps}")


@dataclass
class StepEvent:
    """What ``on_step`` hooks see after each executed action."""

    t: int
    obs: Observation  # after the action
    action: np.ndarray  # (D,)
    plan: PlanResult
    prev_obs: Observation  # the one the action was applied to (what a dataset pairs with it)
    corrections: tuple[Applied, ...] = ()  # corrections that took effect (or were refused) at this action
    override: str = "none"  # the correction override the action was made under: none | freeze | motion | instruction


@dataclass
class Outcome:
    success: bool
    length: int
    goals_met: int
    goals_total: int
    wall_time_s: float


@dataclass(frozen=True)
class Decision:
    """One action of the loop, and where it came from (what status topics and logs report)."""

    action: np.ndarray  # (D,) the action to execute now
    plan: PlanResult  # the plan the chunk was sampled under
    chunk: np.ndarray  # (H, D) the chunk the action belongs to
    index: int  # the action's row in ``chunk``
    new_chunk: bool  # this call asked the policy (and maybe the planner): ``plan_ms``/``sample_ms`` are its cost
    replanned: bool  # this call asked the planner
    plan_ms: float = 0.0
    sample_ms: float = 0.0
    corrections: tuple[Applied, ...] = ()  # what the correction channel did at this action (with latency)
    override: str = "none"  # the correction override in force (or pending): none | freeze | motion | instruction
    under: str = "none"  # the override this action was made under (not one pending for the next chunk)


class ChunkStepper:
    """The loop's decisions one action at a time: (re)plan when due, sample a chunk, hand out its first
    ``n_exec`` actions, then sample again. ``RuntimeLoop`` drives it against an env for whole episodes;
    the ROS agent (``vla_core.deploy.agent``) calls ``next`` once per control tick with the latest
    observation. Same calls to the planner and the policy, in the same order, either way.

    ``subtask_done(subtask) -> bool``: simulator state for ``replan='subtask'`` (None off the simulator:
    then every chunk replans, as for plans without a subtask).

    ``corrections``: the correction channel (``vla_core.corrections.override.Overrider``; its ``source``
    queue takes text from any thread). Polled at every action: a stop cuts the chunk and holds, a motion or
    instruction replaces the planner's output from the next chunk while it lasts, 'continue' hands back.
    With nothing queued the planner and policy see exactly the calls they would without it.
    """

    def __init__(self, planner: Planner, policy: Policy, config: LoopConfig | None = None,
                 subtask_done: Callable[[object], bool] | None = None, corrections: Overrider | None = None):
        self.planner, self.policy = planner, policy
        self.config = config or LoopConfig()
        self.subtask_done = subtask_done
        self.corrections = corrections
        self.result: PlanResult | None = None  # the plan the current chunk was sampled under
        self._planned: PlanResult | None = None  # the planner's latest plan (an override may stand in for it)
        self._chunk: np.ndarray | None = None
        self._next = 0  # next row of ``_chunk`` to hand out
        self._replan = False
        self._last_action: np.ndarray | None = None

    def reset(self, task: str) -> None:
        """A new episode: the planner starts on ``task``, the policy forgets its history."""
        self.planner.reset(task)
        self.policy.reset()
        self.result, self._planned, self._chunk, self._next = None, None, None, 0
        self._replan = False
        self._last_action = None
        if self.corrections is not None:
            self.corrections.reset()

    def request_replan(self) -> None:
        """Ask the planner again before the next chunk (a correction arrived); any cadence."""
        self._replan = True

    def drop_chunk(self) -> None:
        """Sample afresh at the next call (the rest of the chunk was planned from a state that is gone)."""
        self._chunk, self._next = None, 0

    def _needs_plan(self) -> bool:
        if self.result is None or self._replan or self.config.replan == "chunk":
            return True
        if self.config.replan == "correction":
            return False
        subtask = getattr(self.result.plan, "subtask", None)
        return subtask is None or self.subtask_done is None or bool(self.subtask_done(subtask))

    def next(self, obs: Observation) -> Decision | None:
        """The action to execute at ``obs``; None when the planner believes the task is done."""
        ov = self.corrections
        if ov is not None:
            cut, handback = ov.update(obs, self._planned, self.subtask_done)
            if cut or handback:
                self.drop_chunk()
            self._replan = self._replan or handback
        fresh = self._chunk is None or self._next >= min(self.config.n_exec, len(self._chunk))
        replanned, plan_ms, sample_ms = False, 0.0, 0.0
        if fresh:
            override = ov.begin(obs) if ov is not None else None
            t = time.perf_counter()
            if override is not None:  # the person's plan stands in for the planner's
                self.result = override
                self._chunk, self._next = ov.chunk(obs, self.policy, self._action_dim(), self._grip(obs)), 0
            else:
                if self._needs_plan():
                    self._replan = False
                    self.result = self._planned = self.planner.plan(obs)
                    plan_ms, replanned = 1e3 * (time.perf_counter() - t), True
                    if self.result is None:
                        self.drop_chunk()
                        return None
                    if hasattr(self.policy, "use_program"):  # a steered policy follows the plan's reward program
                        self.policy.use_program(self.result.program)
                    t = time.perf_counter()
                self._chunk, self._next = self.policy.sample(obs, self.result.plan, n=1)[0], 0
            sample_ms = 1e3 * (time.perf_counter() - t)
        index = self._next
        self._next += 1
        self._last_action = np.asarray(self._chunk[index])
        reports, state, under = (ov.reports(), ov.state(), ov.acting()) if ov is not None else ((), "none", "none")
        return Decision(self._last_action, self.result, self._chunk, index, fresh, replanned, plan_ms, sample_ms,
                        reports, state, under)

    def _action_dim(self) -> int:
        if self._last_action is not None:
            return len(self._last_action)
        return int(getattr(self.policy, "action_dim", MOBILE_DIM))

    def _grip(self, obs: Observation) -> float:
        """The gripper command to keep: the last one sent, else what the fingers show (open above 4 cm)."""
        if self._last_action is not None:
            return float(self._last_action[-1])
        return 0.0 if obs.proprio.gripper > 0.04 else 1.0


class RuntimeLoop:
    def __init__(self, env, planner: Planner, policy: Policy, config: LoopConfig | None = None,
                 on_step: Callable[[StepEvent], None] | None = None, corrections: Overrider | None = None):
        self.env, self.planner, self.policy = env, planner, policy
        self.config = config or LoopConfig()
        self.on_step = on_step
        self.stepper = ChunkStepper(planner, policy, self.config, corrections=corrections)

    def request_replan(self) -> None:
        """Ask the planner again before the next chunk (a correction arrived); any cadence."""
        self.stepper.request_replan()

    def run_episode(self, seed: int, task) -> Outcome:
        return self.run_from(self.env.reset(seed, task))

    def run_from(self, obs: Observation) -> Outcome:
        """Run the env's current task from ``obs`` without a reset (CALVIN's chains go on from
        wherever the last instruction left the scene); planner and policy start afresh."""
        start = time.perf_counter()
        env = self.env
        stepper = self.stepper
        stepper.subtask_done = getattr(env, "subtask_done", None)
        stepper.reset(obs.task)
        budget = env.task.max_steps if self.config.max_steps is None else self.config.max_steps
        violations = getattr(env, "violations", None)  # what fails an episode for good (a perturbed split's collision)
        t = 0
        success = env.success()
        failed = False
        while t < budget and not success and not failed:
            decision = stepper.next(obs)
            if decision is None:  # the planner thinks it is done; the simulator decides
                break
            prev, obs = obs, env.step(decision.action)
            t += 1
            if self.on_step is not None:
                self.on_step(StepEvent(t, obs, decision.action, decision.plan, prev, decision.corrections,
                                      decision.under))
            success = env.success()
            failed = violations is not None and bool(violations())
        met = env.goals_met()
        return Outcome(bool(success), t, int(sum(met)), len(met), time.perf_counter() - start)
