"""Expert rollouts to record: env + oracle planner + scripted expert + EpisodeBuffer, one job at a time
(optionally a learned policy drives first and the expert takes over: vla_core/data/rollin.py).

The same code runs in the collecting process (one worker) and in each worker process.
"""

from __future__ import annotations

import time
import traceback
from dataclasses import asdict, dataclass, field

import numpy as np

from vla_core.data.episode import EpisodeArrays
from vla_core.data.noise import ActionNoise
from vla_core.data.recorder import EpisodeBuffer
from vla_core.data.rollin import HandoverPolicy
from vla_core.data.store import MIN_FRAMES
from vla_core.plans.motion import MotionThresholds


@dataclass
class RolloutConfig:
    """What every worker needs to build its env; JSON-serialisable (``to_dict``/``from_dict``)."""

    bench: str = "kitchen_r"
    obs_mode: str = "privileged"
    cameras: tuple[str, ...] = ()
    image_size: int = 96
    max_steps: int | None = None  # None: each task's own budget
    keep_failures: bool = False
    thresholds: dict = field(default_factory=dict)  # MotionThresholds fields
    action_noise: float = 0.0  # DART-style executed-action noise (vla_core.data.noise); 0 = none
    free_space_noise: float = 0.0  # its EE scale while the expert reaches through free space; 0 = as action_noise
    rollin: str | None = None  # a chunk-policy checkpoint that drives first, then the expert takes over (rollin.py)
    rollin_frac: float = 0.5  # the hand-over step is drawn uniformly from [0, rollin_frac × the task's budget]
    # a correction round (collect --corrector): {planner, planner_kind, policy, patience}; None = the expert
    corrections: dict | None = None
    # CALVIN: the scene layouts chains cycle through, and the training chains' seed (tasks.training_chain)
    layouts: tuple[str, ...] = ()
    chain_seed: int = 0

    def to_dict(self) -> dict:
        d = asdict(self)
        d["cameras"] = list(self.cameras)
        d["layouts"] = list(self.layouts)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "RolloutConfig":
        return cls(**{**d, "cameras": tuple(d.get("cameras") or ()), "layouts": tuple(d.get("layouts") or ())})


@dataclass
class Job:
    """One episode to run: the i-th of the collection plan, a task and the env seed."""

    index: int
    task_id: str
    seed: int

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "Job":
        return cls(int(d["index"]), str(d["task_id"]), int(d["seed"]))


class RolloutRunner:
    """Runs jobs with the oracle planner and the scripted expert, buffering each episode; with
    ``corrections``, a learned planner + policy under the simulated corrector instead."""

    def __init__(self, cfg: RolloutConfig, env=None):
        from sim.envs import make_env

        self.cfg = cfg
        layout = cfg.layouts[0] if cfg.layouts else None
        self.env = env or make_env(cfg.bench, layout=layout, obs_mode=cfg.obs_mode, cameras=cfg.cameras,
                                   image_size=cfg.image_size)
        self.buffer = EpisodeBuffer(cfg.cameras, MotionThresholds.from_dict(cfg.thresholds))
        self.handover: HandoverPolicy | None = None
        self.corrector = None
        self.recording = True  # off while a CALVIN chain replays the instructions before the recorded one
        self._layouts: dict[str, tuple] = {}  # CALVIN: layout -> (env, loop), built on first use
        if cfg.corrections:
            self.loop = self._correction_loop(cfg.corrections)
            return
        self.loop = self._expert_loop(self.env)
        if layout is not None:
            self._layouts[layout] = (self.env, self.loop)

    def _expert_loop(self, env):
        """The oracle + scripted expert (optionally after a learner, with noise) on ``env``."""
        from sim.experts.policy import ExpertPolicy
        from vla_core.planners import OraclePlanner
        from vla_core.runtime import LoopConfig, RuntimeLoop

        cfg = self.cfg
        expert = ExpertPolicy(env)
        policy, n_exec = expert, 1
        if cfg.rollin:  # the learner drives first; only the expert's part is recorded
            from vla_core.policies.chunk_policy import ChunkPolicy

            learner = ChunkPolicy.load(cfg.rollin, noise="zero")
            policy = self.handover = HandoverPolicy(learner, expert, self.env.dt)
            n_exec = self.handover.n_exec
        # the loop steps a perturbed env but records the expert's own actions (vla_core.data.noise)
        noisy = cfg.action_noise > 0 or cfg.free_space_noise > 0
        stepped = ActionNoise(env, cfg.action_noise, cfg.free_space_noise,
                              lambda: policy.in_free_space) if noisy else env
        # fine-grained sentences in the plan (recorded as plan.instruction); the expert reads the subtask
        return RuntimeLoop(stepped, OraclePlanner(env, kind="instruction"), policy,
                           LoopConfig(n_exec=n_exec, max_steps=cfg.max_steps), on_step=self._record)

    def _correction_loop(self, c: dict):
        """Learned planner + policy; the simulated corrector watches and speaks into the override channel."""
        from vla_core.corrections.override import CorrectionQueue, Overrider
        from vla_core.corrections.simulated import CorrectorConfig, SimulatedCorrector
        from vla_core.planners import OraclePlanner
        from vla_core.planners.learned import LearnedPlanner
        from vla_core.policies.chunk_policy import ChunkPolicy
        from vla_core.runtime import LoopConfig, RuntimeLoop

        policy = ChunkPolicy.load(c["policy"], noise="zero")
        channel = CorrectionQueue()
        self.corrector = SimulatedCorrector(OraclePlanner(self.env, kind="instruction"), channel,
                                            CorrectorConfig(patience=int(c["patience"])))
        return RuntimeLoop(self.env, LearnedPlanner.load(c["planner"], kind=c["planner_kind"]), policy,
                           LoopConfig(n_exec=policy.n_exec, max_steps=self.cfg.max_steps), on_step=self._record,
                           corrections=Overrider(source=channel))

    def _record(self, ev) -> None:
        if self.corrector is not None:  # it hears what the robot acts on at this step; its words act from the next
            self.corrector(ev)
        if self.recording and (self.handover is None or self.handover.expert_active):
            self.buffer(ev)

    def run(self, job: Job) -> tuple[dict, EpisodeArrays | None]:
        """(result, episode): the episode only when it is to be kept (success, or keep_failures)."""
        if self.cfg.bench == "calvin":
            return self.run_calvin(job)
        from sim.envs.kitchen_r.tasks import task_by_id

        task = task_by_id(job.task_id)
        result = {**job.to_dict(), "category": task.category, "success": False, "length": 0, "wall_s": 0.0}
        self.buffer.reset()
        start = time.perf_counter()
        if self.corrector is not None:
            self.corrector.reset(task.instruction, seed=job.seed)
        if self.handover is not None:  # the expert gets the task's whole budget from the hand-over on
            budget = task.max_steps if self.cfg.max_steps is None else self.cfg.max_steps
            at = int(np.random.default_rng([job.seed, 0x4A4D]).integers(0, int(self.cfg.rollin_frac * budget) + 1))
            self.handover.handover_at = result["handover"] = at
            self.loop.config.max_steps = at + budget
        try:
            out = self.loop.run_episode(job.seed, task)
            result.update(success=out.success, length=out.length, goals_met=out.goals_met,
                          goals_total=out.goals_total)
            if self.handover is not None:
                result["handed_at"] = self.handover.handed_at  # None: the learner ended the episode
            if self.corrector is not None:
                result["said"] = [s.heard for s in self.corrector.said]
                result["corrected_steps"] = sum(o != "none" for o in self.buffer.overrides)
            # a hand-over just before the end leaves a recording too short to store (or learn from)
            keep = (out.success or self.cfg.keep_failures or self.corrector is not None) and len(self.buffer) >= MIN_FRAMES
            episode = self.buffer.episode() if keep else None
        except Exception as e:  # one broken episode must not take the collection down
            result["error"] = f"{type(e).__name__}: {e}\n{traceback.format_exc()}"
            episode = None
        finally:
            self.buffer.reset()
        result["wall_s"] = round(time.perf_counter() - start, 3)
        return result, episode

    def run_calvin(self, job: Job) -> tuple[dict, EpisodeArrays | None]:
        """Job i records instruction i % 5 of training chain i // 5 (in layout number i // 5 of the
        cycle): the chain's earlier instructions replay first, unrecorded, as the protocol runs them
        (no reset), so the recording starts wherever they left the scene."""
        from sim.envs.calvin.env import play_chain
        from sim.envs.calvin.tasks import CHAIN_LEN, training_chain

        c, k = divmod(job.seed, CHAIN_LEN)
        chain = training_chain(c, self.cfg.chain_seed)
        layout = self.cfg.layouts[c % len(self.cfg.layouts)]
        if layout not in self._layouts:
            from sim.envs import make_env

            env = make_env("calvin", layout=layout, obs_mode=self.cfg.obs_mode, cameras=self.cfg.cameras,
                           image_size=self.cfg.image_size)
            self._layouts[layout] = (env, self._expert_loop(env))
        env, loop = self._layouts[layout]
        result = {**job.to_dict(), "task_id": f"calvin/{chain.tasks[k]}", "category": f"{layout}/{chain.tasks[k]}",
                  "success": False, "length": 0, "wall_s": 0.0}
        self.buffer.reset()
        start = time.perf_counter()
        episode = None
        try:
            if isinstance(loop.env, ActionNoise):  # this episode's own noise stream
                loop.env.rng, loop.env.offset = np.random.default_rng([int(job.seed), 0xDA27]), np.zeros(5)
            def record_only(i: int) -> None:
                self.recording = i == k

            for i, out in enumerate(play_chain(env, loop, chain, before=record_only)):
                if i == k:
                    break
                if not out.success:
                    raise RuntimeError(f"the chain's instruction {i} ({chain.tasks[i]}) failed before the recorded one")
            result.update(success=out.success, length=out.length, goals_met=out.goals_met, goals_total=out.goals_total)
            keep = (out.success or self.cfg.keep_failures) and len(self.buffer) >= MIN_FRAMES
            episode = self.buffer.episode() if keep else None
        except Exception as e:  # one broken episode must not take the collection down
            result["error"] = f"{type(e).__name__}: {e}\n{traceback.format_exc()}"
        finally:
            self.recording = True
            self.buffer.reset()
        result["wall_s"] = round(time.perf_counter() - start, 3)
        return result, episode

    def close(self) -> None:
        for env, _ in self._layouts.values():
            if env is not self.env:
                env.close()
        self.env.close()
