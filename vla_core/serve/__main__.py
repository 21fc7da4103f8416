"""Serve a chunk policy over websocket + msgpack so a GPU box can drive a robot PC's loop.

    python -m vla_core.serve --checkpoint checkpoints/kitchen_r_diffusion            # 127.0.0.1:8765
    python -m vla_core.serve --host 0.0.0.0 --port 8765 --checkpoint DIR --workers 2   # reachable from the LAN
    curl -s localhost:8765/healthz                                                       # 503 loading, 200 ready

Clients send the plan with each observation (vla_core.serve.client.RemotePolicy); with --planner a
learned planner plans for requests that carry none. Exit codes: 0 stopped, 2 bad input (a missing
or corrupt checkpoint, a bad flag), 1 anything else (e.g. the port is taken).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

from vla_core.cli import OneLineParser, UsageError

DEFAULT_CHECKPOINT = "checkpoints/kitchen_r_diffusion"


def build_parser() -> argparse.ArgumentParser:
    from vla_core.serve.server import DEFAULT_MAX_SIZE

    p = OneLineParser(prog="python -m vla_core.serve", description=__doc__,
                      formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1; anything else is "
                   "reachable from other machines and logs a warning: there is no authentication)")
    p.add_argument("--port", type=int, default=8765, help="TCP port (default 8765)")
    p.add_argument("--checkpoint", default=DEFAULT_CHECKPOINT, help=f"chunk policy checkpoint folder (config.json "
                   f"+ model.safetensors; default {DEFAULT_CHECKPOINT})")
    p.add_argument("--planner", help="learned planner checkpoint: plans for requests that carry no plan")
    p.add_argument("--planner-kind", default="instruction", choices=("subtask", "instruction", "motion", "path"),
                   help="which head of the learned planner speaks (default instruction)")
    p.add_argument("--seed", type=int, default=0, help="each connection's first episode seed (default 0)")
    p.add_argument("--steps", type=int, help="sampler steps (default: the checkpoint's)")
    p.add_argument("--sampler", choices=("ddim", "ddpm", "euler", "heun"), help="sampler (default: the checkpoint's)")
    p.add_argument("--noise", default="random", choices=("random", "fixed", "zero"),
                   help="initial noise per call (ChunkPolicy; default random)")
    p.add_argument("--max-size", type=int, default=DEFAULT_MAX_SIZE,
                   help=f"largest accepted message in bytes; bigger ones close that connection (default {DEFAULT_MAX_SIZE})")
    p.add_argument("--threads", type=int, help="torch CPU threads (default: torch's own choice)")
    p.add_argument("--workers", type=int, default=1, help="model calls run at once (default 1; more helps on a GPU)")
    p.add_argument("--log-level", default="INFO", choices=("DEBUG", "INFO", "WARNING", "ERROR"))
    return p


def check(args: argparse.Namespace) -> None:
    """Everything that can be refused before anything is loaded (UsageError: one line, exit 2)."""
    from vla_core.policies.checkpoint import CheckpointError, read_config

    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port must be in [0, 65535], got {args.port}")
    for flag, value in (("--threads", args.threads), ("--workers", args.workers), ("--steps", args.steps)):
        if value is not None and value < 1:
            raise UsageError(f"{flag} must be >= 1, got {value}")
    if args.max_size < 1024:
        raise UsageError(f"--max-size must be at least 1024 bytes, got {args.max_size}")
    try:
        read_config(args.checkpoint)
        if args.planner:
            from vla_core.planners.learned import PLANNER_FORMAT

            read_config(args.planner, PLANNER_FORMAT)
    except CheckpointError as e:
        raise UsageError(str(e)) from None


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        args = build_parser().parse_args(argv)
        logging.basicConfig(level=args.log_level, format="%(asctime)s vla_core.serve %(levelname)s: %(message)s",
                            stream=sys.stderr)
        logging.getLogger("websockets").setLevel(logging.WARNING)  # one line per refused handshake is noise
        check(args)
        import torch

        from vla_core.policies.checkpoint import CheckpointError
        from vla_core.serve.server import PolicyServer
        from vla_core.serve.session import ServeConfig, ServedModels

        if args.threads:
            torch.set_num_threads(args.threads)
        cfg = ServeConfig(Path(args.checkpoint), seed=args.seed, steps=args.steps, sampler=args.sampler,
                          noise=args.noise, planner=Path(args.planner) if args.planner else None,
                          planner_kind=args.planner_kind)
        server = PolicyServer(ServedModels(cfg), args.host, args.port, args.max_size, args.workers)
        try:
            asyncio.run(server.run())
        except CheckpointError as e:  # weights that read_config could not vet (corrupt, wrong shapes)
            raise UsageError(str(e)) from None
        except OSError as e:  # port taken, address not on this machine
            print(f"python -m vla_core.serve: error: cannot listen on {args.host}:{args.port}: {e.strerror or e}",
                  file=sys.stderr)
            return 1
        return 0
    except UsageError as e:
        print(f"python -m vla_core.serve: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
