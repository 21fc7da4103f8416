"""What the training commands share: hydra composition with one-line errors, and dataset roots."""

from __future__ import annotations

import sys
from pathlib import Path

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def compose_or_none(config_name: str, overrides: list[str]) -> dict | None:
    """``configs/<config_name>.yaml`` + overrides as a plain dict; None (after one line on
    stderr) for a bad override or config."""
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    try:
        with initialize_config_dir(config_dir=str(CONFIGS), version_base=None):
            cfg = compose(config_name=config_name, overrides=overrides)
        return OmegaConf.to_container(cfg, resolve=True)
    except Exception as e:  # hydra's own errors are long; the first line says it
        print(f"error: bad config/override: {str(e).splitlines()[0]}", file=sys.stderr)
        return None


def dataset_roots(cfg: dict) -> list[str]:
    """``dataset=`` is one root or a list of them (clean + noisy collections train as one)."""
    d = cfg["dataset"]
    return [str(x) for x in (d if isinstance(d, list) else [d])]
