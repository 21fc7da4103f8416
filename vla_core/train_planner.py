"""Train the learned planner (vla_core/planners/learned.py) on a LeRobot dataset.

    python -m vla_core.train_planner dataset=data/kitchen_r_fine steps=10000
    python -m vla_core.train_planner 'dataset=[data/a,data/b]' out=outputs/train/planner   # resumes if out/last exists

One model, two stages (vla_core/planners/learned.py): the subtask's kind, target and destination,
then the instruction template, RT-H motion (classified over the training split's vocabularies)
and the path segment (regressed). Writes
``<out>/{best,last,final}`` (config.json + model.safetensors + card.md) like the policy trainer,
with validation accuracies per answer (composed as at inference) in the metrics. Config: ``configs/train_planner.yaml``.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np


def accuracies(reader, sampler, idx: np.ndarray, device=None) -> dict:
    """Validation accuracy per answer (subtask, instruction, motion; both stages as at inference)
    over its labelled steps, and the mean path error (m, where labelled)."""
    from vla_core.training.planner_data import judge

    j = judge(reader, sampler, idx, device=device)
    err = j.pop("path_error")
    out = {f"{h}_acc": round(float(ok.mean()), 4) for h, (_, ok) in j.items() if len(ok)}
    if len(err):
        out["path_mean_error_m"] = round(float(err.mean()), 4)
    return out


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    from vla_core.training.cli import dataset_roots, parse_cli, torch_setup

    cfg = parse_cli("train_planner", argv, __doc__)
    if isinstance(cfg, int):
        return cfg
    for k in ("steps", "batch_size", "val_every", "save_every", "warmup", "threads", "motion_gap"):
        if not isinstance(cfg[k], int) or cfg[k] < (0 if k == "warmup" else 1):
            print(f"error: {k} must be a positive integer, got {cfg[k]!r}", file=sys.stderr)
            return 2
    if not isinstance(cfg["history_dropout"], (int, float)) or not 0 <= cfg["history_dropout"] < 1:
        print(f"error: history_dropout must be in [0, 1), got {cfg['history_dropout']!r}", file=sys.stderr)
        return 2
    import torch

    from sim.envs import landmarks as bench_landmarks
    from sim.envs import lexicon as bench_lexicon
    from vla_core.data.reader import read_datasets
    from vla_core.planners.learned import PLANNER_FORMAT, PlannerModel, PlannerModelConfig, PlanReader
    from vla_core.policies.checkpoint import save_checkpoint
    from vla_core.policies.text import keypoint_phrase, shared_encoder
    from vla_core.training.chunks import build_chunk_data, split_episodes
    from vla_core.training.loop import ResumeError, fit
    from vla_core.training.planner_data import PlannerSampler, planner_labels

    device = torch_setup(cfg)
    out = Path(cfg["out"])
    roots = dataset_roots(cfg)
    t0 = time.time()
    m = cfg["model"]
    try:
        episodes, fps = read_datasets(roots)
        text = shared_encoder()
        names = list(episodes[0].keypoint_names)
        landmarks = bench_landmarks(cfg["bench"]["name"])
        data = build_chunk_data(episodes, names, text, int(m["path_points"]), fps=fps, landmarks=landmarks)
        train_idx, val_idx = split_episodes(data, float(cfg["val_frac"]), int(cfg["seed"]))
        labels = planner_labels(data, episodes, train_idx)
        mcfg = PlannerModelConfig(keypoint_names=names, landmarks=landmarks, kinds=labels.kinds,
                                  entities=labels.entities, templates=labels.templates, motions=labels.motions,
                                  aliases={e: a for e, a in bench_lexicon(cfg["bench"]["name"]).items()
                                           if e in labels.entities}, **m)
    except (ValueError, TypeError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    gap = int(cfg["motion_gap"])
    pts = (names, landmarks, mcfg.aliases)
    sampler = PlannerSampler(data, labels, train_idx, *pts, int(cfg["seed"]), motion_gap=gap,
                             history_dropout=float(cfg["history_dropout"]))
    val = PlannerSampler(data, labels, val_idx if len(val_idx) else train_idx, *pts, int(cfg["seed"]) + 1,
                         motion_gap=gap)
    rng = np.random.default_rng(int(cfg["seed"]) + 2)
    val_steps = val.steps[rng.integers(len(val.steps), size=min(2048, 4 * len(val.steps)))]
    print(f"data: {len(episodes)} episodes, {len(data)} frames ({len(train_idx)} train / {len(val_idx)} val); "
          f"{len(labels.kinds)} kinds, {len(labels.entities)} entities, {len(labels.templates)} templates, "
          f"{len(labels.motions)} motions; loaded in "
          f"{time.time() - t0:.0f} s", flush=True)

    model = PlannerModel(mcfg, torch.as_tensor(text.encode([keypoint_phrase(n) for n in names])),
                         torch.as_tensor(text.encode([keypoint_phrase(n) for n in labels.entities])))
    fit_b = sampler.batch(idx=train_idx[:: max(1, len(train_idx) // 20000)])
    model.encoder.state_norm.fit(model.encoder.proprio_features(fit_b).numpy())
    paths = data.path[train_idx][data.has_path[train_idx]]
    model.path_norm.fit(paths.reshape(-1, 4) if len(paths) else np.zeros((1, 4), np.float32))
    model = model.to(device)
    val_batches = [{k: v.to(device) for k, v in val.batch(idx=val_steps[i:i + 512]).items()}
                   for i in range(0, len(val_steps), 512)]
    doc = {"command": "python -m vla_core.train_planner " + " ".join(argv),
           "data": {"episodes": len(episodes), "frames": len(data), "dataset": " + ".join(roots)},
           "parameters": sum(p.numel() for p in model.parameters()),
           # trained to go without its history: run without it (in closed loop it lags every switch)
           "inference": {"history": float(cfg["history_dropout"]) == 0.0}}

    def evaluate(ema) -> dict:
        return accuracies(PlanReader(ema, text), val, val_steps, device)

    def save(ema, where: str, step: int, metrics: dict) -> None:
        if where == "final":
            metrics = {**metrics, **evaluate(ema)}
        d = {**doc, "step": step, "metrics": metrics,
             "train": {k: cfg[k] for k in ("seed", "steps", "batch_size", "lr")}}
        save_checkpoint(ema, out / where, d, card_text(d), fmt=PLANNER_FORMAT)

    try:
        # per-head accuracies beside every validation loss: the loss alone hides which head fails
        metrics = fit(model, sampler, val_batches, {**cfg, "eval_every": 1}, out, save, desc="train planner",
                      evaluate=evaluate)
    except ResumeError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if not metrics:  # a data-parallel rank other than 0: rank 0 saved and reports
        return 0
    print(f"done: {out / 'final'} (val loss {metrics['val_loss']})")
    return 0


def card_text(doc: dict) -> str:
    lines = ["# learned planner", "", f"Made by: `{doc['command']}`", "",
             f"- dataset: `{doc['data']['dataset']}` ({doc['data']['episodes']} episodes, {doc['data']['frames']} frames)",
             f"- steps: {doc['step']}, seed: {doc['train']['seed']}, parameters: {doc['parameters']:,}", "", "## Metrics", ""]
    return "\n".join(lines + [f"- {k}: {json.dumps(v)}" for k, v in doc["metrics"].items() if k != "history"]) + "\n"


if __name__ == "__main__":
    sys.exit(main())
