"""Expert rollouts to record: env + oracle planner + scripted expert + EpisodeBuffer, one job at a time.

The same code runs in the collecting process (one worker) and in each worker process.
"""

from __future__ import annotations

import time
import traceback
from dataclasses import asdict, dataclass, field

from vla_core.data.episode import EpisodeArrays
from vla_core.data.noise import ActionNoise
from vla_core.data.recorder import EpisodeBuffer
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

    def to_dict(self) -> dict:
        d = asdict(self)
        d["cameras"] = list(self.cameras)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "RolloutConfig":
        return cls(**{**d, "cameras": tuple(d.get("cameras") or ())})


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
    """Runs jobs with the oracle planner and the scripted expert, buffering each episode."""

    def __init__(self, cfg: RolloutConfig, env=None):
        from sim.envs import make_env
        from sim.experts.policy import ExpertPolicy
        from vla_core.planners import OraclePlanner
        from vla_core.runtime import LoopConfig, RuntimeLoop

        self.cfg = cfg
        self.env = env or make_env(cfg.bench, obs_mode=cfg.obs_mode, cameras=cfg.cameras, image_size=cfg.image_size)
        self.buffer = EpisodeBuffer(cfg.cameras, MotionThresholds.from_dict(cfg.thresholds))
        expert = ExpertPolicy(self.env)
        # the loop steps a perturbed env but records the expert's own actions (vla_core.data.noise)
        noisy = cfg.action_noise > 0 or cfg.free_space_noise > 0
        stepped = ActionNoise(self.env, cfg.action_noise, cfg.free_space_noise,
                              lambda: expert.in_free_space) if noisy else self.env
        # fine-grained sentences in the plan (recorded as plan.instruction); the expert reads the subtask
        self.loop = RuntimeLoop(stepped, OraclePlanner(self.env, kind="instruction"), expert,
                                LoopConfig(max_steps=cfg.max_steps), on_step=self.buffer)

    def run(self, job: Job) -> tuple[dict, EpisodeArrays | None]:
        """(result, episode): the episode only when it is to be kept (success, or keep_failures)."""
        from sim.envs.kitchen_r.tasks import task_by_id

        task = task_by_id(job.task_id)
        result = {**job.to_dict(), "category": task.category, "success": False, "length": 0, "wall_s": 0.0}
        self.buffer.reset()
        start = time.perf_counter()
        try:
            out = self.loop.run_episode(job.seed, task)
            result.update(success=out.success, length=out.length, goals_met=out.goals_met,
                          goals_total=out.goals_total)
            keep = (out.success or self.cfg.keep_failures) and len(self.buffer) > 0
            episode = self.buffer.episode() if keep else None
        except Exception as e:  # one broken episode must not take the collection down
            result["error"] = f"{type(e).__name__}: {e}\n{traceback.format_exc()}"
            episode = None
        finally:
            self.buffer.reset()
        result["wall_s"] = round(time.perf_counter() - start, 3)
        return result, episode

    def close(self) -> None:
        self.env.close()
