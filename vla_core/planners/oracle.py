"""OraclePlanner: the ground-truth plan from privileged simulator state.

Works with any env exposing ``ground_truth_plan() -> list[Subtask]`` and
``subtask_done(Subtask) -> bool`` (computed from simulator state). Used for
policy-only evaluation, as the label source, and as the simulated corrector.

Plan kinds: ``subtask`` (the subtask's sentence, 'pick the red mug'), ``instruction`` (the
fine-grained sentence for the sub-step it is in, 'lower the gripper onto the red mug', from
an env with ``substep_text(subtask)``; the subtask's sentence otherwise) and ``path`` (the EE path the
scripted expert would take from here to the end of the subtask, which needs an env
with ``oracle_path(subtask, prev_kind) -> (T, 4)`` world xyz + gripper; the path is
looked ahead once per subtask and followed with a cursor, as ``path_labels`` cut it
from demonstrations: the rest of the subtask's path in the current base frame).

With ``programs=True`` every plan also carries the VLS reward program the env writes for its
subtask from scene state (``reward_program(subtask, obs) -> spec | None``), for steered policies.
"""

from __future__ import annotations

import numpy as np

from vla_core.frames import base_to_world, world_to_base
from vla_core.observation import Observation
from vla_core.planners.base import PlanResult
from vla_core.plans import Instruction, Path3D, Subtask

ORACLE_KINDS = ("subtask", "instruction", "path")
DEFAULT_KIND = "subtask"  # what every policy trained so far knows (reports before f55525a call it 'instruction')
PATH_WINDOW = 24  # path points the cursor may move ahead per call
PATH_TIE = 0.01  # m: points this close to the nearest one count as reached; the cursor takes the one nearest its time guess
PATH_REPLAN = 0.08  # m: an EE this far from every point ahead gets a fresh lookahead from where it is


class OraclePlanner:
    def __init__(self, env, kind: str = DEFAULT_KIND, programs: bool = False):
        if kind not in ORACLE_KINDS:
            raise ValueError(f"oracle plan kind must be one of {ORACLE_KINDS}, got {kind!r}")
        if kind == "path" and not hasattr(env, "oracle_path"):
            raise ValueError(f"env {getattr(env, 'name', type(env).__name__)!r} cannot look ahead for path plans")
        if programs and not hasattr(env, "reward_program"):
            raise ValueError(f"env {getattr(env, 'name', type(env).__name__)!r} writes no reward programs")
        self.env = env
        self.kind = kind
        self.programs = programs
        self.steps: list[Subtask] = []
        self.index = 0
        self.replans = 0  # lookaheads after drifting off a path (diagnostics)
        self._forget_path()

    def _forget_path(self) -> None:
        self._path: np.ndarray | None = None  # (T, 4) world xyz + gripper
        self._path_for = -1  # the subtask index it belongs to
        self._cursor = 0
        self._cursor_time = 0.0

    def reset(self, task: str) -> None:
        self.steps = list(self.env.ground_truth_plan())
        self.index = 0
        self.replans = 0
        self._forget_path()

    def plan(self, obs: Observation) -> PlanResult | None:
        # advance past every subtask the simulator says is complete
        while self.index < len(self.steps) and self.env.subtask_done(self.steps[self.index]):
            self.index += 1
        if self.index >= len(self.steps):
            if self.env.success():
                return None
            # every subtask was done once but the goals do not hold (yet): keep the last one active
            self.index = len(self.steps) - 1
            if self._path_for == self.index:
                self._forget_path()  # look again from here rather than follow a finished path
        step = self.steps[self.index]
        if self.kind == "path":
            plan = self._path_plan(obs, step)
        elif self.kind == "instruction" and hasattr(self.env, "substep_text"):
            plan = Instruction(self.env.substep_text(step), subtask=step)
        else:
            plan = Instruction(step.text(), subtask=step)
        program = self.env.reward_program(step, obs) if self.programs else None
        return PlanResult(plan, confidence=1.0, program=program)

    def _look_ahead(self, obs: Observation, step: Subtask) -> None:
        prev = self.steps[self.index - 1].kind if self.index > 0 else None
        self._path = np.asarray(self.env.oracle_path(step, prev), dtype=np.float64)
        self._path_for, self._cursor, self._cursor_time = self.index, 0, obs.time

    def _path_plan(self, obs: Observation, step: Subtask) -> Path3D:
        ee = base_to_world(obs.proprio.ee_pos, obs.proprio.base_pose)
        if self._path_for != self.index:
            self._look_ahead(obs, step)
        else:
            w, lo = self._path, self._cursor
            dist = np.linalg.norm(w[lo:lo + PATH_WINDOW + 1, :3] - ee, axis=1)
            if dist.min() > PATH_REPLAN:
                self.replans += 1
                self._look_ahead(obs, step)
            else:
                # nearest point, but along a stretch where the EE stands still (grasping) the
                # one the clock says it has reached: nearest alone would stall at its start
                near = np.flatnonzero(dist <= dist.min() + PATH_TIE) + lo
                guess = lo + (obs.time - self._cursor_time) / getattr(self.env, "dt", 0.1)
                self._cursor = int(near[np.argmin(np.abs(near - guess))])
                self._cursor_time = obs.time
        rest = self._path[self._cursor:]
        pts = world_to_base(rest[:, :3], obs.proprio.base_pose)
        return Path3D(np.column_stack([pts, rest[:, 3]]), frame="base", subtask=step)
