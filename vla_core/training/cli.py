"""What the training commands share: the command line (help, hydra, one-line errors), torch set-up, dataset roots."""

from __future__ import annotations

import os
import sys
from pathlib import Path

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def parse_cli(config_name: str, argv: list[str], doc: str) -> dict | int:
    """A trainer's command line: ``--help`` prints ``doc`` (→ 0); a bad override or config is one
    line on stderr (→ 2); else ``configs/<config_name>.yaml`` + the overrides as a plain dict."""
    if any(a in ("-h", "--help") for a in argv):
        print(doc)
        return 0
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    try:
        with initialize_config_dir(config_dir=str(CONFIGS), version_base=None):
            cfg = compose(config_name=config_name, overrides=argv)
        return OmegaConf.to_container(cfg, resolve=True)
    except Exception as e:  # hydra's own errors are long; the first line says it
        print(f"error: bad config/override: {str(e).splitlines()[0]}", file=sys.stderr)
        return 2


def torch_setup(cfg: dict):
    """Torch threads and seed from ``cfg``; → the torch.device it names (auto: CUDA when present)."""
    import torch

    torch.set_num_threads(int(cfg["threads"]))
    torch.manual_seed(int(cfg["seed"]))
    device = torch.device(("cuda" if torch.cuda.is_available() else "cpu") if cfg["device"] == "auto" else cfg["device"])
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:  # started by torchrun: one process per device (or CPU share)
        import atexit

        import torch.distributed as dist

        if not dist.is_initialized():
            dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
            atexit.register(dist.destroy_process_group)
        if device.type == "cuda":
            device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
            torch.cuda.set_device(device)
    return device


def dataset_roots(cfg: dict) -> list[str]:
    """``dataset=`` is one root or a list of them (clean + noisy collections train as one)."""
    d = cfg["dataset"]
    return [str(x) for x in (d if isinstance(d, list) else [d])]
