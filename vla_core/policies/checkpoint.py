"""Checkpoints: a folder with ``config.json`` (model config + provenance), ``model.safetensors``
(weights, normalisation statistics and keypoint-name embeddings) and a ``card.md``.
No pickle anywhere; a missing or corrupt file is a ``CheckpointError`` with one clear line."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from vla_core.policies.chunk_model import ChunkModel, ChunkModelConfig

CONFIG, WEIGHTS, CARD = "config.json", "model.safetensors", "card.md"
FORMAT = "vla_stack.chunk_policy/1"


class CheckpointError(RuntimeError):
    pass


def save_checkpoint(model: torch.nn.Module, path: str | Path, extra: dict | None = None, card: str | None = None,
                    fmt: str = FORMAT) -> Path:
    """Writes atomically (temp file + rename) so a kill mid-save never leaves a half checkpoint.
    ``model.cfg.to_dict()`` is stored as the config; ``fmt`` names what kind of model it is."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    tmp = path / (WEIGHTS + ".tmp")
    save_file(tensors, str(tmp), metadata={"format": fmt})
    os.replace(tmp, path / WEIGHTS)
    write_config(path, {"format": fmt, "model": model.cfg.to_dict(), **(extra or {})})
    if card is not None:
        (path / CARD).write_text(card)
    return path


def write_config(path: str | Path, doc: dict) -> None:
    """A checkpoint's config.json, atomically (temp file + rename)."""
    tmp = Path(path) / (CONFIG + ".tmp")
    tmp.write_text(json.dumps(doc, indent=2))
    os.replace(tmp, Path(path) / CONFIG)


def read_config(path: str | Path, fmt: str = FORMAT) -> dict:
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"checkpoint not found: {path}")
    if not (path / CONFIG).is_file():
        raise CheckpointError(f"not a checkpoint folder (no {CONFIG}): {path}")
    try:
        doc = json.loads((path / CONFIG).read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise CheckpointError(f"corrupt {CONFIG} in {path}: {e}") from None
    if doc.get("format") != fmt:
        raise CheckpointError(f"{path} is not a {fmt} checkpoint (format={doc.get('format')!r})")
    return doc


def lineage(path: str | Path) -> list[str]:
    """The training commands that made checkpoint ``path``, oldest first: its warm-start
    ancestors' (``init_from=`` in each command) and its own. A checkpoint records the lineage it
    was trained from (vla_core.train), so a copy keeps it after ``outputs/`` is gone; for older
    ones the ancestors are read where the commands say they are, and a missing one is named."""
    cfg = read_config(path)
    command = cfg.get("command")
    steps, step = cfg.get("train", {}).get("steps"), cfg.get("step")
    if command and steps is not None and step is not None and step != steps:  # a 'last' of a run stopped early
        command = f"{command}  # stopped at step {step}"
    if "lineage" in cfg:
        return [*cfg["lineage"], *([command] if command else [])]
    found = re.search(r"(?:^|\s)'?init_from=([^\s']+)", command or "")
    before: list[str] = []
    if found and found.group(1) not in ("null", "None"):
        try:
            before = lineage(found.group(1))
        except CheckpointError:
            before = [f"# warm start from {found.group(1)}: not found here, its own commands are not recorded"]
    return [*before, *([command] if command else [])]


def load_checkpoint(path: str | Path) -> tuple[ChunkModel, dict]:
    """→ (chunk policy model in eval mode, the config.json document)."""
    return load_model(path, ChunkModel, ChunkModelConfig, FORMAT)


def load_model(path: str | Path, model_cls, cfg_cls, fmt: str) -> tuple[torch.nn.Module, dict]:
    """→ (``model_cls(cfg_cls(**config))`` with the weights, in eval mode; the config.json document)."""
    path = Path(path)
    doc = read_config(path, fmt)
    try:
        cfg = cfg_cls(**doc["model"])
    except (TypeError, ValueError) as e:
        raise CheckpointError(f"bad model config in {path / CONFIG}: {e}") from None
    if not (path / WEIGHTS).is_file():
        raise CheckpointError(f"checkpoint has no weights file: {path / WEIGHTS}")
    try:
        tensors = load_file(str(path / WEIGHTS))
    except (SafetensorError, OSError, ValueError) as e:
        raise CheckpointError(f"corrupt weights in {path / WEIGHTS}: {e}") from None
    model = model_cls(cfg)
    try:
        model.load_state_dict(tensors, strict=True)
    except RuntimeError as e:
        first = str(e).strip().splitlines()[0]
        raise CheckpointError(f"weights in {path / WEIGHTS} do not match its config: {first}") from None
    return model.eval(), doc


def torch_generator(seed: int) -> torch.Generator:
    g = torch.Generator()
    g.manual_seed(int(seed))
    return g
