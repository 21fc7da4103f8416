"""The training loop the models here share (chunk policies, the learned planner).

AdamW with linear warm-up and cosine decay, gradient clipping, EMA weights (what gets saved
and validated), validation on fixed batches every ``val_every`` steps, checkpoints
``best`` (lowest validation loss), ``last`` (+ resumable optimiser state, every
``save_every`` steps) and ``final``, and resume from ``<out>/last``.

Data parallel under ``torchrun`` (``distributed()``): every process draws its own share of each batch,
torch DDP averages the gradients, and only rank 0 validates, evaluates and saves.
"""

from __future__ import annotations

import copy
import json
import math
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from vla_core.training.state import has_train_state, load_train_state, save_train_state

# save(ema, where, step, metrics): writes the checkpoint folder out/<where>
SaveFn = Callable[[torch.nn.Module, str, int, dict], None]


def distributed() -> tuple[int, int]:
    """(rank, world size) of this process: (0, 1) unless a torch.distributed process group is up."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


class _Loss(torch.nn.Module):
    """``model.loss`` as a forward, so that DDP sees the call it synchronises gradients for."""

    def __init__(self, model: torch.nn.Module):
        super().__init__()
        self.model = model

    def forward(self, batch: dict) -> torch.Tensor:
        return self.model.loss(batch)


class ResumeError(ValueError):
    """<out>/last holds a run of another model: nothing was trained or overwritten."""


def fit(model: torch.nn.Module, sampler, val_batches: list[dict], cfg: dict, out: Path, save: SaveFn,
        desc: str, evaluate: Callable[[torch.nn.Module], dict] | None = None) -> dict:
    """Train ``model`` (``model.loss(batch, generator=None)`` → scalar) on ``sampler.batch(n)``
    batches already on the model's device. ``cfg``: steps, batch_size, lr, weight_decay, warmup,
    ema, val_every, save_every, eval_every, seed, resume. ``evaluate(ema)`` → {metric: value} runs
    every ``eval_every`` steps at a validation when given; its metrics join that validation's entry. Returns the final metrics (also saved as ``final``)."""
    from safetensors.torch import load_file
    from tqdm import tqdm

    from vla_core.policies.checkpoint import WEIGHTS, torch_generator

    t0 = time.time()
    rank, world = distributed()
    device = next(model.parameters()).device
    if world > 1:  # each rank its own sample stream; the batch is split over the ranks
        sampler.rng = np.random.default_rng([int(cfg["seed"]), rank])
        # some parts see no gradient in a batch (a plan kind, a camera it lacks)
        net = torch.nn.parallel.DistributedDataParallel(_Loss(model), find_unused_parameters=True)
    else:
        net = _Loss(model)
    per_rank = max(1, int(cfg["batch_size"]) // world)
    ema = copy.deepcopy(model).eval()
    for p in ema.parameters():
        p.requires_grad_(False)
    opt = torch.optim.AdamW(model.parameters(), lr=float(cfg["lr"]), weight_decay=float(cfg["weight_decay"]))
    total, warm = int(cfg["steps"]), int(cfg["warmup"])

    def lr_at(s: int) -> float:  # linear warm-up, cosine decay
        return float(cfg["lr"]) * min(1.0, (s + 1) / max(warm, 1)) * 0.5 * (1 + math.cos(math.pi * min(s, total) / total))

    step, best, history = 0, float("inf"), []
    if cfg["resume"] and has_train_state(out / "last"):
        try:
            meta = load_train_state(out / "last", model, opt)
            ema.load_state_dict(load_file(str(out / "last" / WEIGHTS)))
        except RuntimeError as e:  # a shape or key mismatch
            raise ResumeError(f"cannot resume from {out / 'last'}: it does not fit this model "
                              f"({str(e).strip().splitlines()[0]}); choose a new out= or pass resume=false") from None
        step, best, history = meta["step"], meta["best_val"], meta["history"]
        sampler.rng = np.random.default_rng([int(cfg["seed"]), step] + ([rank] if world > 1 else []))
        print(f"resumed from {out / 'last'} at step {step}", flush=True)

    def validate() -> float:
        g = torch_generator(1234)
        with torch.no_grad():
            return float(np.mean([ema.loss(b, g).item() for b in val_batches]))

    eval_every = int(cfg.get("eval_every") or 0)
    bar = tqdm(total=total, initial=step, desc=desc, dynamic_ncols=True, disable=rank != 0)
    decay = float(cfg["ema"])
    model.train()
    while step < total:
        for g in opt.param_groups:
            g["lr"] = lr_at(step)
        batch = {k: v.to(device, non_blocking=True) for k, v in sampler.batch(per_rank).items()}
        loss = net(batch)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        with torch.no_grad():
            d = min(decay, (1 + step) / (10 + step))
            for pe, pm in zip(ema.parameters(), model.parameters()):
                pe.lerp_(pm, 1 - d)
        bar.update(1)
        bar.set_postfix(loss=f"{loss.item():.4f}", best_val=f"{best:.4f}")
        if rank != 0:  # the other ranks only train
            continue
        if step % int(cfg["val_every"]) == 0 or step == total:
            val = validate()
            entry = {"step": step, "train_loss": round(loss.item(), 5), "val_loss": round(val, 5)}
            if val < best:
                best = val
                save(ema, "best", step, {"val_loss": round(val, 5), "step": step})
            if evaluate is not None and eval_every and step % eval_every == 0:
                entry.update(evaluate(ema))
            history.append(entry)
            bar.write(json.dumps(entry))
        if step % int(cfg["save_every"]) == 0 or step == total:
            # the same metrics a final checkpoint carries: a run stopped early ships its last
            save(ema, "last", step, {"val_loss": history[-1]["val_loss"] if history else None,
                                     "best_val_loss": round(best, 5) if history else None, "history": history})
            save_train_state(out / "last", model, opt, {"step": step, "best_val": best, "history": history})
    bar.close()
    if world > 1:
        _check_in_sync(model)
        if rank != 0:
            return {}
    metrics = {"val_loss": history[-1]["val_loss"], "best_val_loss": round(best, 5), "history": history,
               "train_seconds": round(time.time() - t0)}
    save(ema, "final", step, metrics)
    return metrics


def _check_in_sync(model: torch.nn.Module) -> None:
    """All ranks hold the same weights after DDP training (else the saved model is one rank's drift)."""
    import torch.distributed as dist

    with torch.no_grad():
        mine = torch.stack([p.double().sum() for p in model.parameters()])
        every = [torch.zeros_like(mine) for _ in range(dist.get_world_size())]
        dist.all_gather(every, mine)
    if not all(torch.equal(every[0], e) for e in every[1:]):
        raise RuntimeError("data-parallel ranks ended with different weights")
    if dist.get_rank() == 0:
        print(f"{dist.get_world_size()} data-parallel ranks in sync", flush=True)
