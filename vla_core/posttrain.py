"""Post-train a learned planner on the corrections people gave it (Yell At Your Robot, arXiv 2403.12910).

    python -m vla_core.posttrain --planner outputs/train/kitchen_r_planner/final \\
        --corrections data/corrections_r1 --data data/kitchen_r_std --out outputs/train/kitchen_r_planner_r1

The correction datasets come from ``python -m vla_core.collect --corrector`` (or a robot run that
records them): every step with the plan acted upon, and ``plan.corrected`` where it was a person's.
Those steps are the new labels: their instruction (or language motion) is what the planner should
have said there, with the history and observation the planner had. Each batch draws ``--mix`` of its
samples from them (YAY: 10 % newest corrections) and the rest from the original training data, so the
planner learns the fix without forgetting the rest. It starts from the planner's weights and keeps its
vocabularies (a correction outside them is skipped and counted). A corrected step's recorded subtask
is the one the planner was on, maybe its wrong one, so it is no label: the target, destination and
template come from reading the person's sentence against the vocabularies, and the subtask kind too
where that template was said under one kind only in the original data ('drive to the {target}' is a
navigation) — the correction a planner stuck on a finished subtask needs.

Writes ``<out>/{best,last,final}`` like the trainer, with a card naming the base planner, the
corrections and the mix; validation accuracy per head on the original data's held-out episodes
(what must not get worse) and on the corrected steps. Calibration is not carried over: calibrate the
new checkpoint again (vla_core.planners.calibrate). Exit codes: 0 ok, 2 bad input.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from vla_core.cli import OneLineParser, UsageError


def build_parser() -> argparse.ArgumentParser:
    p = OneLineParser(prog="python -m vla_core.posttrain", description=__doc__,
                      formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--planner", required=True, metavar="CKPT", help="the learned planner to start from")
    p.add_argument("--corrections", required=True, nargs="+", metavar="DIR",
                   help="correction datasets (python -m vla_core.collect --corrector)")
    p.add_argument("--data", required=True, nargs="+", metavar="DIR", help="the planner's original training data")
    p.add_argument("--out", required=True, metavar="DIR", help="where the post-trained checkpoint goes")
    p.add_argument("--mix", type=float, default=0.1, help="fraction of each batch from corrected steps (default 0.1)")
    p.add_argument("--steps", type=int, default=1000, help="optimiser steps (default 1000)")
    p.add_argument("--lr", type=float, default=1e-4, help="peak learning rate (default 1e-4)")
    p.add_argument("--ema", type=float, default=0.999,
                   help="EMA decay of the saved weights (default 0.999; short runs need less, e.g. 0.9)")
    p.add_argument("--batch-size", type=int, default=128, help="batch size (default 128)")
    p.add_argument("--seed", type=int, default=0, help="seed (default 0)")
    p.add_argument("--threads", type=int, default=2, help="CPU threads for torch (default 2)")
    return p


def corrected_steps(episodes) -> np.ndarray:
    """(N,) bool over the concatenated steps of ``episodes``: the person's plan was in force."""
    return np.concatenate([ep.corrected if ep.corrected is not None else np.zeros(len(ep), bool)
                           for ep in episodes]) if episodes else np.zeros(0, bool)


class MixedSampler:
    """Batches with ``mix`` of their samples from ``corr`` and the rest from ``base`` (two PlannerSamplers)."""

    def __init__(self, base, corr, mix: float):
        self.base, self.corr, self.mix = base, corr, float(mix)

    @property
    def rng(self):
        return self.base.rng

    @rng.setter
    def rng(self, value) -> None:  # the training loop re-seeds on resume
        self.base.rng = value
        self.corr.rng = np.random.default_rng(value.integers(2**63))

    def batch(self, size: int):
        import torch

        n = int(round(self.mix * size))
        parts = [s.batch(k) for s, k in ((self.base, size - n), (self.corr, n)) if k > 0]
        return {k: torch.cat([p[k] for p in parts]) for k in parts[0]}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = build_parser().parse_args(argv)
        for name, low in (("steps", 1), ("batch_size", 2), ("threads", 1)):
            if getattr(args, name) < low:
                raise UsageError(f"--{name.replace('_', '-')} must be at least {low}, got {getattr(args, name)}")
        if not 0.0 <= args.ema < 1.0:
            raise UsageError(f"--ema must be in [0, 1), got {args.ema}")
        if not 0.0 < args.mix < 1.0:
            raise UsageError(f"--mix must be in (0, 1), got {args.mix}")
        return run(args, argv)
    except UsageError as e:
        print(f"vla_core.posttrain: error: {e}", file=sys.stderr)
        return 2


def run(args: argparse.Namespace, argv: list[str]) -> int:
    from vla_core.training.cli import parse_cli, torch_setup

    cfg = parse_cli("train_planner", [f"steps={args.steps}", f"lr={args.lr}", f"batch_size={args.batch_size}",
                                      f"seed={args.seed}", f"threads={args.threads}", f"out={args.out}",
                                      f"ema={args.ema}", f"warmup={max(1, min(100, args.steps // 10))}",
                                      f"val_every={max(1, args.steps // 5)}",
                                      f"save_every={max(1, args.steps // 5)}"], "")
    import torch

    from vla_core.data.reader import read_datasets
    from vla_core.planners.factors import parse
    from vla_core.planners.learned import (PLANNER_FORMAT, PlannerModel, PlannerModelConfig, PlanReader,
                                           inference_history)
    from vla_core.policies.checkpoint import CheckpointError, load_model, save_checkpoint
    from vla_core.policies.text import shared_encoder
    from vla_core.train_planner import accuracies
    from vla_core.training.chunks import build_chunk_data, split_episodes
    from vla_core.training.loop import ResumeError, fit
    from vla_core.training.planner_data import PlannerSampler, planner_labels

    device = torch_setup(cfg)
    t0 = time.time()
    try:
        model, base_doc = load_model(args.planner, PlannerModel, PlannerModelConfig, PLANNER_FORMAT)
    except CheckpointError as e:
        raise UsageError(f"--planner: {e}") from None
    mcfg = model.cfg
    try:
        original, fps = read_datasets(list(args.data))
        corrections, _ = read_datasets(list(args.corrections))
    except (ValueError, OSError) as e:
        raise UsageError(str(e)) from None
    if not any(ep.corrected is not None for ep in corrections):
        raise UsageError(f"{' '.join(args.corrections)}: no plan.corrected column (record them with "
                         "python -m vla_core.collect --corrector)")
    episodes = original + corrections
    text = shared_encoder()
    data = build_chunk_data(episodes, list(mcfg.keypoint_names), text, mcfg.path_points, fps=fps,
                            landmarks=mcfg.landmarks)
    labels = planner_labels(data, episodes, np.arange(len(data)), vocab=(mcfg.kinds, mcfg.entities, mcfg.templates, mcfg.motions))
    n_orig = int(sum(len(ep) for ep in original))
    is_corr = np.zeros(len(data), bool)
    is_corr[n_orig:] = corrected_steps(corrections)
    # the subtask kinds each template was said under in the original data ('drive to the {target}':
    # navigate only; 'grasp the {target}': pick only)
    seen = (labels.kind[:n_orig] >= 0) & (labels.template[:n_orig] >= 0)
    kinds_of: dict[int, set[int]] = {}
    for t, k in zip(labels.template[:n_orig][seen], labels.kind[:n_orig][seen]):
        kinds_of.setdefault(int(t), set()).add(int(k))
    # a corrected step's subtask is the one the planner was on (maybe its wrong one): it says nothing, and
    # nothing is judged against it (a 'corrected_subtask_acc' would score agreement with the mistake).
    # The person's sentence names the target (and destination) and the template, and the kind where
    # that template belongs to one kind: a planner stuck on a finished subtask needs its kind corrected.
    for i in np.flatnonzero(is_corr):
        said = parse(labels.sentence[i], mcfg.templates, mcfg.entities) if labels.sentence[i] else None
        labels.template[i], labels.target[i], labels.dest[i] = said if said else (-1, -1, -1)
        labels.key[i] = ""
        kinds = kinds_of.get(int(labels.template[i]), set())
        labels.kind[i] = next(iter(kinds)) if len(kinds) == 1 else -1
    usable = is_corr & ((labels.template >= 0) | (labels.motion >= 0))
    corr_idx = np.flatnonzero(usable)
    kind_said = int((labels.kind[corr_idx] >= 0).sum())
    if not len(corr_idx):
        raise UsageError(f"no corrected step in {' '.join(args.corrections)} has an instruction or motion the "
                         "planner's vocabulary holds: nothing to post-train on")
    orig_data_idx = np.arange(n_orig)
    train_idx, val_idx = split_episodes(data, float(cfg["val_frac"]), int(cfg["seed"]))
    train_idx = train_idx[train_idx < n_orig]
    val_idx = val_idx[val_idx < n_orig] if len(val_idx[val_idx < n_orig]) else orig_data_idx
    gap = int(cfg["motion_gap"])
    pts = (list(mcfg.keypoint_names), mcfg.landmarks, mcfg.aliases)
    sampler = MixedSampler(PlannerSampler(data, labels, train_idx, *pts, args.seed, gap),
                           PlannerSampler(data, labels, corr_idx, *pts, args.seed + 1, gap), args.mix)
    rng = np.random.default_rng(args.seed + 2)
    val = PlannerSampler(data, labels, val_idx, *pts, args.seed + 3, gap)
    val_steps = val_idx[rng.integers(len(val_idx), size=min(2048, 4 * len(val_idx)))]
    corr_val = PlannerSampler(data, labels, corr_idx, *pts, args.seed + 4, gap)
    model = model.to(device)
    val_batches = [{k: v.to(device) for k, v in val.batch(idx=val_steps[i:i + 512]).items()}
                   for i in range(0, len(val_steps), 512)]
    print(f"data: {len(original)} original episodes ({n_orig} frames), {len(corrections)} correction episodes "
          f"with {int(is_corr.sum())} corrected steps ({len(corr_idx)} in the planner's vocabulary, "
          f"{kind_said} with the kind their sentence says); mix "
          f"{args.mix}; loaded in {time.time() - t0:.0f} s", flush=True)

    def evaluate(ema) -> dict:
        reader = PlanReader(ema, text)
        return {**accuracies(reader, val, val_steps, device),
                **{f"corrected_{k}": v for k, v in accuracies(reader, corr_val, corr_idx, device).items()}}

    before = evaluate(model.eval())
    print(json.dumps({"step": 0, **before}), flush=True)
    doc = {"command": "python -m vla_core.posttrain " + " ".join(argv),
           "lineage": [*base_doc.get("lineage", []), *([base_doc["command"]] if base_doc.get("command") else [])],
           "posttrain": {"planner": args.planner, "corrections": list(args.corrections), "data": list(args.data),
                         "mix": args.mix, "corrected_steps": int(len(corr_idx)),
                         "kind_from_sentence": kind_said, "before": before},
           "data": {"episodes": len(episodes), "frames": len(data),
                    "dataset": " + ".join([*args.data, *args.corrections])},
           "parameters": sum(p.numel() for p in model.parameters()),
           "inference": {"history": inference_history(base_doc)}}

    def save(ema, where: str, step: int, metrics: dict) -> None:
        if where == "final":
            metrics = {**metrics, **evaluate(ema)}
        d = {**doc, "step": step, "metrics": metrics,
             "train": {k: cfg[k] for k in ("seed", "steps", "batch_size", "lr", "ema")}}
        save_checkpoint(ema, Path(args.out) / where, d, card_text(d), fmt=PLANNER_FORMAT)

    try:
        metrics = fit(model.train(), sampler, val_batches, {**cfg, "eval_every": 1}, Path(args.out), save,
                      desc="posttrain planner", evaluate=evaluate)
    except ResumeError as e:
        raise UsageError(str(e)) from None
    if not metrics:  # a data-parallel rank other than 0: rank 0 saved and reports
        return 0
    print(f"done: {Path(args.out) / 'final'} (val loss {metrics['val_loss']})")
    return 0


def card_text(doc: dict) -> str:
    post = doc["posttrain"]
    lines = ["# learned planner, post-trained on corrections", "", "Made by:", "", "```bash",
             *doc["lineage"], doc["command"], "```", "",
             f"- base planner: `{post['planner']}`",
             f"- corrections: {', '.join(f'`{c}`' for c in post['corrections'])} ({post['corrected_steps']} corrected "
             f"steps), mixed at {post['mix']} into `{' + '.join(post['data'])}`",
             f"- steps: {doc['step']}, seed: {doc['train']['seed']}, lr: {doc['train']['lr']}",
             f"- before: {json.dumps(post['before'])}", "", "## Metrics", ""]
    return "\n".join(lines + [f"- {k}: {json.dumps(v)}" for k, v in doc["metrics"].items() if k != "history"]) + "\n"


if __name__ == "__main__":
    sys.exit(main())
