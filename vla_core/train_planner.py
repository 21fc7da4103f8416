"""Train the learned planner (vla_core/planners/learned.py) on a LeRobot dataset.

    python -m vla_core.train_planner dataset=data/kitchen_r_fine steps=10000
    python -m vla_core.train_planner 'dataset=[data/a,data/b]' out=outputs/train/planner   # resumes if out/last exists

One model, four heads: subtask key, fine-grained instruction and RT-H motion (classified over
the vocabularies of the training split) and the path segment (regressed). Writes
``<out>/{best,last,final}`` (config.json + model.safetensors + card.md) like the policy trainer,
with validation accuracies per head in the final metrics. Config: ``configs/train_planner.yaml``.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np


def accuracies(model, batches: list[dict]) -> dict:
    """Validation accuracy per class head (over labelled steps) and mean path error (m, where labelled)."""
    import torch

    from vla_core.planners.learned import LABELS

    hit = {k: [0, 0] for k in LABELS}
    err = []
    with torch.no_grad():
        for b in batches:
            pred = model.predict(b)
            for k, key in LABELS.items():
                ok = b[key] >= 0
                hit[k][0] += int((pred[k][0][ok] == b[key][ok]).sum())
                hit[k][1] += int(ok.sum())
            has = b["has_path"]
            if has.any():
                err.append((pred["path"][has][..., :3] - b["path"][has][..., :3]).norm(dim=-1).mean(-1))
    out = {f"{k}_acc": round(h / n, 4) for k, (h, n) in hit.items() if n}
    if err:
        out["path_mean_error_m"] = round(float(torch.cat(err).mean()), 4)
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
    import torch

    from sim.envs import landmarks as bench_landmarks
    from vla_core.data.reader import read_datasets
    from vla_core.planners.learned import PLANNER_FORMAT, PlannerModel, PlannerModelConfig, class_sentences
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
        mcfg = PlannerModelConfig(keypoint_names=names, landmarks=landmarks, subtasks=labels.subtasks,
                                  instructions=labels.instructions, **m)
    except (ValueError, TypeError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    gap = int(cfg["motion_gap"])
    sampler = PlannerSampler(data, labels, train_idx, int(cfg["seed"]), motion_gap=gap)
    val = PlannerSampler(data, labels, val_idx if len(val_idx) else train_idx, int(cfg["seed"]) + 1, motion_gap=gap)
    rng = np.random.default_rng(int(cfg["seed"]) + 2)
    val_steps = val.steps[rng.integers(len(val.steps), size=min(2048, 4 * len(val.steps)))]
    print(f"data: {len(episodes)} episodes, {len(data)} frames ({len(train_idx)} train / {len(val_idx)} val); "
          f"{len(labels.subtasks)} subtasks, {len(labels.instructions)} instructions; loaded in "
          f"{time.time() - t0:.0f} s", flush=True)

    class_emb = {k: torch.as_tensor(text.encode(v)) for k, v in class_sentences(mcfg).items()}
    model = PlannerModel(mcfg, torch.as_tensor(text.encode([keypoint_phrase(n) for n in names])), class_emb)
    fit_b = sampler.batch(idx=train_idx[:: max(1, len(train_idx) // 20000)])
    model.encoder.state_norm.fit(model.encoder.proprio_features(fit_b).numpy())
    paths = data.path[train_idx][data.has_path[train_idx]]
    model.path_norm.fit(paths.reshape(-1, 4) if len(paths) else np.zeros((1, 4), np.float32))
    model = model.to(device)
    val_batches = [{k: v.to(device) for k, v in val.batch(idx=val_steps[i:i + 512]).items()}
                   for i in range(0, len(val_steps), 512)]
    doc = {"command": "python -m vla_core.train_planner " + " ".join(argv),
           "data": {"episodes": len(episodes), "frames": len(data), "dataset": " + ".join(roots)},
           "parameters": sum(p.numel() for p in model.parameters())}

    def save(ema, where: str, step: int, metrics: dict) -> None:
        if where == "final":
            metrics = {**metrics, **accuracies(ema, val_batches)}
        d = {**doc, "step": step, "metrics": metrics,
             "train": {k: cfg[k] for k in ("seed", "steps", "batch_size", "lr")}}
        save_checkpoint(ema, out / where, d, card_text(d), fmt=PLANNER_FORMAT)

    try:
        # per-head accuracies beside every validation loss: the loss alone hides which head fails
        metrics = fit(model, sampler, val_batches, {**cfg, "eval_every": 1}, out, save, desc="train planner",
                      evaluate=lambda ema: accuracies(ema, val_batches))
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
