"""Train a plan-conditioned diffusion or flow action-chunk policy on a LeRobot dataset.

    python -m vla_core.train policy=diffusion bench=kitchen_r dataset=data/kitchen_r steps=20000
    python -m vla_core.train policy=flow out=outputs/train/flow       # resumes if out/last exists
    python -m vla_core.train policy=flow 'dataset=[data/kitchen_r_fine,data/kitchen_r_dart]'   # several as one

Writes ``<out>/last`` (resumable: weights, EMA, optimiser) every ``save_every`` steps,
``<out>/best`` (lowest validation loss, EMA weights) and ``<out>/final`` with a card.
Config: ``configs/train.yaml`` + ``configs/policy/<name>.yaml``; any key can be overridden.
"""

from __future__ import annotations

import copy
import json
import sys
import time
from pathlib import Path

import numpy as np


def build_model(cfg: dict, data, keypoint_names: list[str], text, steps: np.ndarray,
                landmarks: dict[str, list[float]] | None = None):
    """A fresh ChunkModel whose normalisers are fitted on the training ``steps`` of ``data``:
    model-space action chunks and proprio features with the motion cue as training draws it."""
    import torch

    from vla_core.policies.action_space import to_model
    from vla_core.policies.chunk_model import ChunkModel, ChunkModelConfig
    from vla_core.training.chunks import ChunkSampler
    from vla_core.policies.text import keypoint_phrase

    mcfg = ChunkModelConfig(**{**cfg["policy"]["model"], "keypoint_names": list(keypoint_names),
                               "landmarks": dict(landmarks or {}),
                               "action_dim": int(data.action.shape[-1])})  # 10 mobile, 8 fixed-base arm
    names = text.encode([keypoint_phrase(n) for n in keypoint_names])
    model = ChunkModel(mcfg, torch.as_tensor(names))
    fit = ChunkSampler(data, steps, mcfg.horizon, {"instruction": 1.0}, seed=int(cfg["seed"]) + 3,
                       motion_gap=mcfg.n_exec)
    acts, feats = [], []
    for i in range(0, len(steps), 8192):
        b = fit.batch(idx=steps[i:i + 8192])
        acts.append(to_model(b["action"], b["state"]).flatten(0, 1).numpy())
        feats.append(model.encoder.proprio_features(b).numpy())
    model.action_norm.fit(np.concatenate(acts))
    model.encoder.state_norm.fit(np.concatenate(feats))
    paths = data.path[data.has_path] if data.has_path.any() else np.zeros((1, mcfg.path_points, 4))
    model.encoder.path.norm.fit(paths.reshape(-1, 4))
    return model


def warm_start(model, path: Path) -> list[str]:
    """Copy a checkpoint's weights (normalisers included) into ``model``; parameters the
    checkpoint lacks (a module this config adds) keep their init. Returns those names.
    Shapes must match everywhere else."""
    from safetensors.torch import load_file

    from vla_core.policies.checkpoint import WEIGHTS, read_config

    read_config(path)  # a clear error for a missing or malformed checkpoint
    tensors = load_file(str(path / WEIGHTS))
    own = model.state_dict()
    extra = sorted(set(tensors) - set(own))
    bad = [k for k in tensors if k in own and tensors[k].shape != own[k].shape]
    if extra or bad:
        raise ValueError(f"{path} does not fit this model: " + "; ".join(
            ([f"unknown {extra[:3]}"] if extra else []) + ([f"shape of {bad[:3]}"] if bad else [])))
    model.load_state_dict(tensors, strict=False)

    def module(key: str) -> str:  # 'encoder.target.0.weight' -> 'encoder.target'
        parts = key.split(".")
        if len(parts) > 1 and parts[-1] in ("weight", "bias"):
            parts.pop()
        while len(parts) > 1 and parts[-1].isdigit():
            parts.pop()
        return ".".join(parts)

    return sorted({module(k) for k in set(own) - set(tensors)})


def card_text(cfg: dict, doc: dict, action_dim: int = 10) -> str:
    """The checkpoint's card; ``action_dim`` is the model's (set from the data, not the config)."""
    m = doc.get("metrics", {})
    lines = [f"# {cfg['bench']['name']} {cfg['policy']['name']} chunk policy", "",
             f"Made by: `{doc['command']}`", "",
             f"- dataset: `{cfg['dataset']}` ({doc['data']['episodes']} episodes, {doc['data']['frames']} frames)",
             f"- seed: {cfg['seed']}, steps: {doc['step']}, batch: {cfg['batch_size']}, lr: {cfg['lr']}",
             f"- model: {json.dumps({**cfg['policy']['model'], 'action_dim': action_dim})}",
             f"- parameters: {doc['parameters']:,}", ""]
    lines += ["## Metrics", ""] + [f"- {k}: {v}" for k, v in m.items()]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    from vla_core.training.cli import dataset_roots, parse_cli, torch_setup

    cfg = parse_cli("train", argv, __doc__)
    if isinstance(cfg, int):
        return cfg

    from sim.envs import landmarks as bench_landmarks
    from vla_core.data.reader import read_datasets
    from vla_core.policies.checkpoint import CheckpointError, lineage, save_checkpoint
    from vla_core.policies.text import shared_encoder
    from vla_core.training.chunks import ChunkSampler, build_chunk_data, split_episodes
    from vla_core.training.loop import ResumeError, fit
    from vla_core.training.state import has_train_state

    device = torch_setup(cfg)
    out = Path(cfg["out"])
    roots = dataset_roots(cfg)
    t0 = time.time()
    cameras = tuple(cfg["policy"]["model"]["cameras"])
    try:  # several datasets (clean + noisy collections) train as one
        episodes, fps = read_datasets(roots, images=bool(cameras))
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    text = shared_encoder()
    names = list(episodes[0].keypoint_names)
    landmarks = bench_landmarks(cfg["bench"]["name"]) if cfg["policy"]["model"].get("grounded") else {}
    horizon, gap = int(cfg["policy"]["model"]["horizon"]), int(cfg["policy"]["model"]["n_exec"])
    try:  # a camera the dataset lacks, a balance outside [0, 1]
        data = build_chunk_data(episodes, names, text, cfg["policy"]["model"]["path_points"],
                                fps=fps, cameras=cameras,
                                image_size=int(cfg["policy"]["model"]["image_size"]), landmarks=landmarks)
        train_idx, val_idx = split_episodes(data, float(cfg["val_frac"]), int(cfg["seed"]))
        sampler = ChunkSampler(data, train_idx, horizon, cfg["plan_mix"], int(cfg["seed"]), motion_gap=gap,
                               balance=float(cfg["balance_subtasks"]), chunk_end=str(cfg["chunk_end"]))
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"data: {len(episodes)} episodes, {len(data)} frames ({len(train_idx)} train / {len(val_idx)} val), "
          f"{len(data.texts)} plan strings, loaded in {time.time() - t0:.0f} s", flush=True)
    val_sampler = ChunkSampler(data, val_idx if len(val_idx) else train_idx, horizon, cfg["plan_mix"],
                               int(cfg["seed"]) + 1, motion_gap=gap, chunk_end=str(cfg["chunk_end"]))
    val_rng = np.random.default_rng(int(cfg["seed"]) + 2)
    val_steps = val_sampler.steps[val_rng.integers(len(val_sampler.steps), size=min(2048, 4 * len(val_sampler.steps)))]
    val_batches = [val_sampler.batch(idx=val_steps[i:i + 512]) for i in range(0, len(val_steps), 512)]

    model = build_model(cfg, data, names, text, train_idx, landmarks)
    # the commands that made the weights this run starts from, so its card says how to re-create it
    ancestry: list[str] = []
    if cfg.get("init_from") and not (cfg["resume"] and has_train_state(out / "last")):
        try:
            added = warm_start(model, Path(cfg["init_from"]))
            ancestry = lineage(Path(cfg["init_from"]))
        except (CheckpointError, ValueError) as e:
            print(f"error: init_from: {e}", file=sys.stderr)
            return 2
        print(f"warm start from {cfg['init_from']}" + (f"; new: {', '.join(added)}" if added else ""), flush=True)
    model = model.to(device)
    print(f"model: {cfg['policy']['name']}, {sum(p.numel() for p in model.parameters()):,} parameters on {device}"
          + (f", cameras {list(cameras)} at {model.cfg.image_size}px" if cameras else ""), flush=True)
    val_batches = [{k: v.to(device) for k, v in b.items()} for b in val_batches]
    command = "python -m vla_core.train " + " ".join(argv)
    doc = {"command": command, "data": {"episodes": len(episodes), "frames": len(data),
                                        "dataset": " + ".join(roots)}, "parameters": sum(p.numel() for p in model.parameters()),
           **({"lineage": ancestry} if ancestry else {})}

    def save(ema, where: str, step: int, metrics: dict) -> None:
        d = {**doc, "step": step, "metrics": metrics, "train": {k: cfg[k] for k in
                                                                 ("seed", "steps", "batch_size", "lr", "plan_mix", "chunk_end")}}
        save_checkpoint(ema, out / where, d, card_text(cfg, d, int(ema.cfg.action_dim)))

    try:
        metrics = fit(model, sampler, val_batches, cfg, out, save, desc=f"train {cfg['policy']['name']}",
                      evaluate=lambda ema: {"sim_success": sim_eval(ema, cfg)})
    except ResumeError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if not metrics:  # a data-parallel rank other than 0: rank 0 saved and reports
        return 0
    print(f"done: {out / 'final'} (val loss {metrics['val_loss']}, best {metrics['best_val_loss']:.5f})")
    return 0


def sim_eval(model, cfg: dict) -> float:
    """Success rate of the current EMA model over a few train-split episodes, in-process."""
    from sim.evaluation import EpisodeRunner, plan_jobs
    from vla_core.policies.chunk_policy import ChunkPolicy

    ecfg = {"bench": cfg["bench"], "mode": "policy", "planner": {"name": "oracle"}, "policy": {"name": "inline"},
            "split": "train", "category": None, "seed": int(cfg["seed"]) + 99, "episodes": int(cfg["eval_episodes"]),
            "n_exec": int(model.cfg.n_exec), "video_every": 1, "video_episodes": 0}
    runner = EpisodeRunner(ecfg, policy=ChunkPolicy(copy.deepcopy(model), seed=0))
    results = [runner.run(job) for job in plan_jobs(ecfg, None)]
    return round(float(np.mean([r.success for r in results])), 3)


if __name__ == "__main__":
    sys.exit(main())
