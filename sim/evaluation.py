"""Builds the stack an eval config names and runs single episodes of it.

Used in-process (workers=1) and by ``sim/eval_worker.py`` processes, so both paths
run the same code.
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sim.envs import ACTION_DIM, VIDEO_CAMERAS, make_env, task_by_id
from vla_core.eval.results import EpisodeResult
from vla_core.eval.video import VideoWriter, tile_frames
from vla_core.runtime import LoopConfig, RuntimeLoop, StepEvent

PLANNERS = ("oracle", "learned", "vlm")
POLICIES = ("expert", "diffusion", "flow", "remote")
LEARNED = ("diffusion", "flow")
PERTURBED = "perturbed"  # the split of kitchen_r's perturbed pick-and-place scenes (sim/envs/kitchen_r/perturb.py)
ABLATIONS = {"no-grad": {"gradient": False}, "no-resample": {"resample": False}, "no-diversity": {"diversity": 0.0}}


class ConfigError(ValueError):
    """Bad user input in the eval config (reported as one line, exit code 2)."""


@dataclass
class Job:
    index: int
    task_id: str
    seed: int
    video: str | None = None
    variant: str | None = None  # the perturbed split's scene change

    def to_dict(self) -> dict:
        return {"index": self.index, "task_id": self.task_id, "seed": self.seed, "video": self.video,
                "variant": self.variant}

    @classmethod
    def from_dict(cls, d: dict) -> "Job":
        return cls(int(d["index"]), str(d["task_id"]), int(d["seed"]), d.get("video"), d.get("variant"))


def _int(cfg: dict, key: str, low: int, where: dict | None = None) -> int:
    value = (where if where is not None else cfg).get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{key} must be an integer, got {value!r}")
    if value < low:
        raise ConfigError(f"{key} must be at least {low}, got {value}")
    return value


def check_config(cfg: dict) -> None:
    """Reject what cannot run before any process starts: every key the run reads."""
    if cfg["mode"] not in ("planner", "policy", "integrated"):
        raise ConfigError(f"unknown mode {cfg['mode']!r}; choose planner, policy or integrated")
    if cfg["bench"]["name"] in ("libero", "calvin") and cfg["mode"] != "policy":
        raise ConfigError(f"{cfg['bench']['name'].upper()} is evaluated in --mode policy (no learned planner is "
                          "trained on it yet)")
    if cfg["planner"]["name"] not in PLANNERS:
        raise ConfigError(f"unknown planner {cfg['planner']['name']!r}; available: {', '.join(PLANNERS)}")
    if cfg["mode"] == "policy" and cfg["planner"]["name"] != "oracle":
        raise ConfigError("--mode policy evaluates a policy under oracle plans; a learned planner runs in "
                          "--mode planner or --mode integrated")
    if cfg["mode"] == "planner" and cfg["policy"]["name"] != "expert":
        raise ConfigError("--mode planner scores the planner along the oracle + expert's episodes: --policy expert")
    if cfg["mode"] == "integrated" and cfg["planner"]["name"] == "vlm":
        _check_vlm(cfg)
    elif cfg["mode"] in ("planner", "integrated"):
        if cfg["planner"]["name"] != "learned":
            raise ConfigError(f"--mode {cfg['mode']} evaluates a learned planner: --planner learned planner.checkpoint=DIR"
                              + (" (or --planner vlm)" if cfg["mode"] == "integrated" else ""))
        from vla_core.planners.learned import OUTPUT_KINDS, PLANNER_FORMAT
        from vla_core.policies.checkpoint import CheckpointError, read_config

        try:
            read_config(cfg["planner"].get("checkpoint") or "", PLANNER_FORMAT)
        except CheckpointError as e:
            raise ConfigError(f"planner.checkpoint: {e}") from None
        if cfg["planner"].get("kind") not in OUTPUT_KINDS:
            raise ConfigError(f"planner.kind must be one of {', '.join(OUTPUT_KINDS)}, got {cfg['planner'].get('kind')!r}")
    from vla_core.planners.oracle import DEFAULT_KIND, ORACLE_KINDS

    if cfg["planner"]["name"] == "oracle" and (cfg["planner"].get("kind") or DEFAULT_KIND) not in ORACLE_KINDS:
        raise ConfigError(f"planner.kind must be one of {', '.join(ORACLE_KINDS)}, got {cfg['planner'].get('kind')!r}")
    if cfg["policy"]["name"] not in POLICIES:
        raise ConfigError(f"unknown policy {cfg['policy']['name']!r}; available: {', '.join(POLICIES)}")
    ckpt = cfg["policy"].get("checkpoint")
    if ckpt and cfg["policy"]["name"] in ("expert", "remote"):
        raise ConfigError(f"the {cfg['policy']['name']} policy takes no checkpoint"
                          + (" (the server loads its own)" if cfg["policy"]["name"] == "remote" else ""))
    if cfg["policy"]["name"] == "remote":
        from vla_core.deploy.stack import parse_server

        from vla_core.serve.client import health

        try:
            host, port = parse_server(str(cfg["policy"].get("server") or ""))
        except ValueError as e:
            raise ConfigError(f"policy.server: {e}") from None
        try:
            status = health(host, port, timeout_s=2.0)[0]
        except OSError as e:
            status = f"{type(e).__name__}: {e}"
        if status != 200:
            raise ConfigError(f"no policy server ready at {host}:{port} (/healthz: {status}); start one with "
                              f"`python -m vla_core.serve --port {port} --checkpoint DIR`")
    if cfg["policy"]["name"] in LEARNED:
        from vla_core.policies.checkpoint import CheckpointError, read_config

        if not ckpt:
            raise ConfigError(f"policy {cfg['policy']['name']!r} needs a checkpoint (--checkpoint DIR)")
        try:
            doc = read_config(ckpt)
        except CheckpointError as e:
            raise ConfigError(str(e)) from None
        if doc["model"]["kind"] != cfg["policy"]["name"]:
            raise ConfigError(f"{ckpt} holds a {doc['model']['kind']} policy, not {cfg['policy']['name']}")
        want = ACTION_DIM[cfg["bench"]["name"]]
        if int(doc["model"].get("action_dim", want)) != want:
            raise ConfigError(f"{ckpt} acts in {doc['model']['action_dim']}-D, {cfg['bench']['name']} in {want}-D: "
                              f"it was trained on another bench")
        if cfg["policy"].get("steps") is not None:
            _int(cfg["policy"], "steps", 1)
        from vla_core.policies.samplers import SAMPLERS

        sampler = cfg["policy"].get("sampler")
        if sampler is not None and sampler not in SAMPLERS[doc["model"]["kind"]]:
            raise ConfigError(f"policy.sampler {sampler!r} does not fit a {doc['model']['kind']} policy; "
                              f"choose from {', '.join(SAMPLERS[doc['model']['kind']])}")
    if cfg["bench"]["name"] == "libero":
        _check_libero(cfg)
    elif cfg["bench"]["name"] == "calvin":
        _check_calvin(cfg)
    else:
        _check_kitchen_r_split(cfg)
    _check_steering(cfg)
    _int(cfg, "episodes", 1)
    _int(cfg, "workers", 1)
    _int(cfg, "seed", 0)
    if cfg.get("n_exec") is not None:
        _int(cfg, "n_exec", 1)
    from vla_core.runtime.loop import REPLAN

    if (cfg.get("replan") or "chunk") not in REPLAN:
        raise ConfigError(f"replan must be one of {', '.join(REPLAN)}, got {cfg.get('replan')!r}")
    _int(cfg, "video_every", 1)
    _int(cfg, "video_episodes", 0)
    _int(cfg, "image_size", 16, where=cfg["bench"])
    if not str(cfg["out"]).endswith(".json"):
        raise ConfigError(f"--out must name a .json file (the chart goes beside it), got {cfg['out']!r}")


def _check_kitchen_r_split(cfg: dict) -> None:
    from sim.envs.kitchen_r.perturb import VARIANTS
    from sim.envs.kitchen_r.tasks import CATEGORIES, SPLITS

    if cfg["bench"]["obs_mode"] not in ("privileged", "depth"):
        raise ConfigError(f"bench.obs_mode must be privileged or depth, got {cfg['bench']['obs_mode']!r}")
    if cfg["split"] not in SPLITS + (PERTURBED,):
        raise ConfigError(f"unknown split {cfg['split']!r}; choose from {', '.join(SPLITS + (PERTURBED,))}")
    cats = VARIANTS if cfg["split"] == PERTURBED else CATEGORIES
    if cfg.get("category") is not None and cfg["category"] not in cats:
        raise ConfigError(f"unknown category {cfg['category']!r} for the {cfg['split']} split; choose from {', '.join(cats)}")


def _check_libero(cfg: dict) -> None:
    """LIBERO runs its standard protocol in policy mode; ``category`` narrows it to one task id."""
    from sim.envs.libero.install import LiberoMissing
    from sim.envs.libero.suites import check_suite, tasks

    b = cfg["bench"]
    try:
        check_suite(b.get("suite"))
    except ValueError as e:
        raise ConfigError(str(e)) from None
    if b["obs_mode"] != "privileged":
        raise ConfigError(f"LIBERO observations are privileged (object poses), got bench.obs_mode={b['obs_mode']!r}")
    if cfg["planner"].get("kind") not in (None, "subtask", "instruction"):
        raise ConfigError("LIBERO's oracle writes subtask and instruction plans (no path look-ahead yet)")
    try:
        ids = [t.task_id for t in tasks(b["suite"])]
    except LiberoMissing as e:
        raise ConfigError(str(e)) from None
    if cfg.get("category") is not None and cfg["category"] not in ids:
        raise ConfigError(f"category names one task of the suite: {', '.join(ids)}; got {cfg['category']!r}")


def _check_calvin(cfg: dict) -> None:
    """CALVIN runs its chain protocol in one layout; ``episodes`` counts chains."""
    from sim.envs.calvin.catalog import check_layout
    from sim.envs.calvin.tasks import NUM_CHAINS

    b = cfg["bench"]
    try:
        b["layout"] = check_layout(b.get("layout"))
    except ValueError as e:
        raise ConfigError(str(e)) from None
    if b["obs_mode"] != "privileged":
        raise ConfigError(f"CALVIN observations are privileged (block and fixture poses), got bench.obs_mode={b['obs_mode']!r}")
    if cfg["planner"].get("kind") not in (None, "subtask", "instruction"):
        raise ConfigError("CALVIN's oracle writes subtask plans (no path look-ahead yet)")
    if cfg.get("category") is not None:
        raise ConfigError("CALVIN's protocol runs whole chains: --category does not apply")
    if int(cfg["episodes"]) > NUM_CHAINS:
        raise ConfigError(f"the CALVIN protocol has {NUM_CHAINS} chains; --episodes {cfg['episodes']} asks for more")


def guidance_config(cfg: dict):
    """The GuidanceConfig an eval config's ``steering`` block names (its ablation applied)."""
    from vla_core.steering.guidance import GuidanceConfig

    st = cfg.get("steering") or {}
    return GuidanceConfig(**{**(st.get("guidance") or {}), **ABLATIONS.get(st.get("ablation"), {})})


def _check_steering(cfg: dict) -> None:
    st = cfg.get("steering") or {}
    if st.get("ablation") is not None and st["ablation"] not in ABLATIONS:
        raise ConfigError(f"steering.ablation must be one of {', '.join(ABLATIONS)}, got {st['ablation']!r}")
    if not st.get("enabled"):
        if st.get("ablation") is not None:
            raise ConfigError("a steering ablation needs steering on (--steering on)")
        return
    if cfg["policy"]["name"] not in LEARNED:
        raise ConfigError("steering steers a learned diffusion or flow policy: --policy diffusion|flow")
    if cfg["planner"]["name"] != "oracle" or cfg["mode"] != "policy":
        raise ConfigError("steering follows the reward programs the oracle planner writes: --mode policy")
    if cfg["bench"]["name"] != "kitchen_r":
        raise ConfigError(f"{cfg['bench']['name']} writes no reward programs yet: steering runs on kitchen_r")
    try:
        guidance_config(cfg)
    except (TypeError, ValueError) as e:
        raise ConfigError(f"steering.guidance: {e}") from None


def _check_vlm(cfg: dict) -> None:
    from vla_core.planners.parse import KINDS

    p = cfg["planner"]
    if not p.get("model"):
        raise ConfigError("planner.model must name a local folder or a cached hub id of an image-text-to-text model")
    if p.get("kind") not in KINDS:
        raise ConfigError(f"planner.kind must be one of {', '.join(KINDS)} for a VLM, got {p.get('kind')!r}")
    if p.get("camera") not in (cfg["bench"].get("cameras") or []):
        raise ConfigError(f"the VLM sees camera {p.get('camera')!r}: add it to bench.cameras (e.g. 'bench.cameras=[head]')")
    if cfg["policy"]["name"] == "expert":
        raise ConfigError("the expert needs structured subtasks a VLM does not give: use a learned policy")
    _int(p, "retries", 0)
    _int(p, "max_new_tokens", 1)


class EpisodeRunner:
    """One env + planner + policy, reused across episodes."""

    def __init__(self, cfg: dict, policy=None):
        b = cfg["bench"]
        self.cfg = cfg
        self.env = make_env(b["name"], suite=b.get("suite"), layout=b.get("layout"), obs_mode=b["obs_mode"],
                            cameras=tuple(b.get("cameras") or ()), image_size=int(b["image_size"]))
        self.shadow = None  # --mode planner: the learned planner, asked at every step the oracle plans
        if cfg.get("mode") == "planner":
            from vla_core.planners.oracle import OraclePlanner

            self.shadow = make_planner(cfg["planner"], self.env)
            self.planner = OraclePlanner(self.env, kind="instruction")
        else:
            steer = bool((cfg.get("steering") or {}).get("enabled"))
            self.planner = make_planner(cfg.get("planner") or {}, self.env, programs=steer)
        self.policy = policy if policy is not None else make_policy(cfg["policy"], self.env)
        if (cfg.get("steering") or {}).get("enabled"):
            from vla_core.steering.steered import SteeredPolicy

            self.policy = SteeredPolicy(self.policy, cfg=guidance_config(cfg))
        # a chunk policy was trained to execute n_exec of its H actions; the expert's chunks hold one
        n_exec = cfg.get("n_exec") or getattr(self.policy, "n_exec", 1)
        self.loop_config = LoopConfig(n_exec=int(n_exec), replan=cfg.get("replan") or "chunk")

    def _video(self, job: Job):
        """(writer or None, on_step hook that films every video_every-th step of the bench's cameras)."""
        every = int(self.cfg["video_every"])
        writer = VideoWriter(job.video, fps=10 / every) if job.video else None
        cameras = VIDEO_CAMERAS[self.cfg["bench"]["name"]]

        def film(ev: StepEvent) -> None:
            if writer is not None and ev.t % every == 0:
                writer.append(tile_frames([self.env.render(c, 240, 320) for c in cameras]))

        return writer, film

    def run(self, job: Job) -> EpisodeResult:
        if self.cfg["bench"]["name"] == "calvin":
            return self.run_chain(job)
        task = task_by_id(self.cfg["bench"]["name"], job.task_id)
        category = f"{task.category}/{job.variant}" if job.variant else task.category
        if hasattr(self.env, "set_variant"):
            self.env.set_variant(job.variant)
        writer, film = self._video(job)
        buffer, answers = None, []
        if self.shadow is not None:
            from vla_core.data.recorder import EpisodeBuffer

            buffer = EpisodeBuffer()  # the oracle's labels of every step, as datasets record them
            self.shadow.reset(task.instruction)

        def record(ev: StepEvent) -> None:
            if buffer is not None:
                buffer(ev)
                answers.append(self.shadow.predict(ev.prev_obs))
            film(ev)

        loop = RuntimeLoop(self.env, self.planner, self.policy, self.loop_config, on_step=record)
        try:
            out = loop.run_episode(job.seed, task)
            metrics = None
            if buffer is not None and len(buffer):
                from vla_core.planners.scoring import plan_metrics

                metrics = plan_metrics(answers, buffer.episode(), self.shadow.thresholds)
            return EpisodeResult(task.task_id, task.instruction, category, task.split, job.seed, out.success,
                                 out.length, out.goals_met, out.goals_total, out.wall_time_s, job.video,
                                 plan_metrics=metrics, violations=list(getattr(self.env, "violations", list)()))
        except Exception as e:  # one broken episode must not take the run down
            return EpisodeResult(task.task_id, task.instruction, category, task.split, job.seed, False, 0, 0,
                                 len(task.goals), 0.0, job.video, error=f"{type(e).__name__}: {e}\n{traceback.format_exc()}")
        finally:
            if writer is not None:
                writer.close()


    def run_chain(self, job: Job) -> EpisodeResult:
        """CALVIN's long-horizon protocol: chain ``job.seed``'s five instructions one after another
        from its start state, no reset between them, each judged on its own and the chain stopped
        at the first failure. goals_met = instructions completed in a row."""
        from sim.envs.calvin.env import play_chain
        from sim.envs.calvin.tasks import chains

        chain = chains()[job.seed]
        writer, film = self._video(job)
        loop = RuntimeLoop(self.env, self.planner, self.policy, self.loop_config, on_step=film)
        text = " → ".join(chain.tasks)
        done, steps, wall = 0, 0, 0.0
        try:
            for out in play_chain(self.env, loop, chain):
                steps, wall = steps + out.length, wall + out.wall_time_s
                if not out.success:
                    break
                done += 1
            return EpisodeResult(job.task_id, text, "chains", "calvin", job.seed, done == len(chain.tasks), steps,
                                 done, len(chain.tasks), wall, job.video)
        except Exception as e:  # one broken chain must not take the run down
            return EpisodeResult(job.task_id, text, "chains", "calvin", job.seed, False, steps, done,
                                 len(chain.tasks), wall, job.video, error=f"{type(e).__name__}: {e}\n{traceback.format_exc()}")
        finally:
            if writer is not None:
                writer.close()


def make_planner(pcfg: dict, env, programs: bool = False):
    """The planner an eval config names (oracle when it names none); ``programs``: the oracle
    also writes reward programs (for a steered policy)."""
    if pcfg.get("name") == "vlm":
        from vla_core.planners.vlm import VLMPlanner

        return VLMPlanner.load(pcfg["model"], kind=pcfg["kind"], camera=pcfg["camera"], retries=int(pcfg["retries"]),
                               max_new_tokens=int(pcfg["max_new_tokens"]))
    if pcfg.get("name") == "learned":
        from vla_core.planners.learned import LearnedPlanner

        return LearnedPlanner.load(pcfg["checkpoint"], kind=pcfg["kind"], history=pcfg.get("history"))
    from vla_core.planners.oracle import DEFAULT_KIND, OraclePlanner

    return OraclePlanner(env, kind=pcfg.get("kind") or DEFAULT_KIND, programs=programs)


def make_policy(pcfg: dict, env):
    """The low-level policy an eval config names."""
    if pcfg["name"] == "expert":
        from sim.experts.policy import ExpertPolicy

        return ExpertPolicy(env)
    if pcfg["name"] == "remote":
        return remote_policy(pcfg)
    from vla_core.policies.chunk_policy import ChunkPolicy

    return ChunkPolicy.load(pcfg["checkpoint"], seed=int(pcfg.get("seed") or 0), steps=pcfg.get("steps"),
                            sampler=pcfg.get("sampler"), noise=pcfg.get("noise") or "random")


def remote_policy(pcfg: dict):
    """A RemotePolicy on the server ``pcfg['server']`` names, connected (the loop needs the server's n_exec
    before the first chunk); ConfigError when no server answers there now. Mid-episode a server that goes
    away makes the client hold the robot still, and the episode is scored as it ends."""
    from vla_core.deploy.stack import parse_server
    from vla_core.serve.client import ClientConfig, PolicyClient, RemotePolicy

    host, port = parse_server(str(pcfg["server"]))
    client = PolicyClient(host, port, ClientConfig(timeout_s=float(pcfg.get("timeout_s") or 2.0)))
    why = client.connect()
    if why is not None:
        raise ConfigError(f"no policy server at {host}:{port} ({why}); start one with "
                          f"`python -m vla_core.serve --port {port} --checkpoint DIR`")
    return RemotePolicy(client)


def plan_jobs(cfg: dict, video_dir: str | None) -> list[Job]:
    """Episodes stratified over categories (the perturbed split: over its variants, on the test
    split's pick-and-place tasks); each gets its own task draw and seed. LIBERO: its protocol."""
    if (cfg.get("bench") or {}).get("name") == "libero":
        return libero_jobs(cfg, video_dir)
    if (cfg.get("bench") or {}).get("name") == "calvin":
        return calvin_jobs(cfg, video_dir)
    from sim.envs.kitchen_r.perturb import VARIANTS
    from sim.envs.kitchen_r.tasks import CATEGORIES, tasks_for

    split, category = cfg["split"], cfg.get("category")
    perturbed = split == PERTURBED
    if perturbed:
        cats = [category] if category else list(VARIANTS)
    else:
        cats = [category] if category else [c for c in CATEGORIES if tasks_for(split, c)]
    if not cats:
        raise ConfigError(f"no tasks in split {split!r}")
    rng = np.random.default_rng(int(cfg["seed"]))
    jobs = []
    for i in range(int(cfg["episodes"])):
        cat = cats[i % len(cats)]
        pool = tasks_for("test", "pick_place") if perturbed else tasks_for(split, cat)
        task = pool[int(rng.integers(len(pool)))]
        video = None
        if video_dir and i < int(cfg["video_episodes"]):
            video = str(Path(video_dir) / f"ep{i:04d}_{cat}.mp4")
        jobs.append(Job(i, task.task_id, int(cfg["seed"]) * 100_003 + i, video, cat if perturbed else None))
    return jobs


def libero_jobs(cfg: dict, video_dir: str | None) -> list[Job]:
    """LIBERO's protocol: task k's episode j starts from its j-th stored initial state (the job's
    seed). ``episodes`` takes the first N of (task 0 state 0, task 1 state 0, …, task 0 state 1, …),
    so a short run covers every task; 500 = the full protocol of a 10-task suite. Jobs are ordered
    task by task so a worker keeps one task's LIBERO env."""
    from sim.envs.libero.suites import INIT_STATES, tasks

    pool = [t for t in tasks(cfg["bench"]["suite"]) if cfg.get("category") in (None, t.task_id)]
    total = len(pool) * INIT_STATES
    n = int(cfg["episodes"])
    if n > total:
        raise ConfigError(f"the {cfg['bench']['suite']} protocol has {total} episodes ({len(pool)} task(s) × "
                          f"{INIT_STATES} initial states); --episodes {n} asks for more")
    picks = sorted(((i % len(pool), i // len(pool)) for i in range(n)))
    jobs = []
    for index, (k, state) in enumerate(picks):
        video = None
        if video_dir and index < int(cfg["video_episodes"]):
            video = str(Path(video_dir) / f"ep{index:04d}_{pool[k].task_id.replace('/', '_')}.mp4")
        jobs.append(Job(index, pool[k].task_id, state, video))
    return jobs


def calvin_jobs(cfg: dict, video_dir: str | None) -> list[Job]:
    """The first N of CALVIN's fixed 1000 chains; a job's seed is its chain's index."""
    from sim.envs.calvin.tasks import chains

    jobs = []
    for i, chain in enumerate(chains()[: int(cfg["episodes"])]):
        video = str(Path(video_dir) / f"chain{i:04d}.mp4") if video_dir and i < int(cfg["video_episodes"]) else None
        jobs.append(Job(i, f"calvin/{chain.tasks[0]}", chain.index, video))
    return jobs
