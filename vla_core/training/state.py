"""Resumable training state without pickle: weights, EMA weights and AdamW moments as
safetensors, counters as JSON, written atomically into ``<run>/last``."""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

STATE, META = "train_state.safetensors", "train_state.json"


def save_train_state(path: Path, model: torch.nn.Module, opt: torch.optim.Optimizer, meta: dict) -> None:
    path.mkdir(parents=True, exist_ok=True)
    tensors = {f"model.{k}": v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    params = [p for g in opt.param_groups for p in g["params"]]
    for i, p in enumerate(params):
        for k, v in opt.state.get(p, {}).items():
            tensors[f"opt.{i}.{k}"] = torch.as_tensor(v).detach().cpu().contiguous()
    tmp = path / (STATE + ".tmp")
    save_file(tensors, str(tmp))
    os.replace(tmp, path / STATE)
    tmp = path / (META + ".tmp")
    tmp.write_text(json.dumps(meta, indent=2))
    os.replace(tmp, path / META)


def has_train_state(path: Path) -> bool:
    return (path / STATE).is_file() and (path / META).is_file()


def load_train_state(path: Path, model: torch.nn.Module, opt: torch.optim.Optimizer) -> dict:
    tensors = load_file(str(path / STATE))
    model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
    params = [p for g in opt.param_groups for p in g["params"]]
    for i, p in enumerate(params):
        # AdamW keeps its step counter on the CPU and its moments beside the parameter
        st = {k.split(".", 2)[2]: v if k.endswith(".step") else v.to(p.device)
              for k, v in tensors.items() if k.startswith(f"opt.{i}.")}
        if st:
            opt.state[p] = st
    return json.loads((path / META).read_text())
