"""The planner and policy the agent node runs, from the same config groups ``sim/eval.py`` uses
(``configs/planner/<name>.yaml``, ``configs/policy/<name>.yaml``, composed by hydra) and the same
builders (``sim.evaluation.make_planner`` / ``make_policy``), so a config means one thing everywhere.

Off the simulator there is no simulator state: the oracle planner and the scripted expert need it
and are refused here. ``server='host:port'`` swaps the local policy for a ``RemotePolicy`` on a policy
server (``python -m vla_core.serve``) that holds the robot still while the server is gone.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

NEEDS_SIM = {"oracle": "the oracle planner reads simulator state", "expert": "the scripted expert reads simulator state"}


@dataclass(frozen=True)
class StackSpec:
    planner: str = "learned"  # configs/planner/<name>.yaml: learned | vlm
    policy: str = "flow"  # configs/policy/<name>.yaml: diffusion | flow
    checkpoint: str = ""  # policy checkpoint folder; '' = the policy config's own
    planner_checkpoint: str = ""  # learned planner checkpoint; '' = the planner config's own
    server: str = ""  # 'host:port' of a policy server; '' = the policy runs in this process


def parse_server(server: str) -> tuple[str, int]:
    host, sep, port = server.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"policy server must be 'host:port', got {server!r}")
    return host, int(port)


def group_config(config_dir: str | Path, group: str, name: str) -> dict:
    """``configs/<group>/<name>.yaml`` composed by hydra (its ``defaults`` applied) as a plain dict."""
    from hydra import compose, initialize_config_dir
    from hydra.errors import HydraException
    from omegaconf import OmegaConf

    try:
        with initialize_config_dir(config_dir=str(Path(config_dir).resolve()), version_base=None):
            cfg = compose(f"{group}/{name}")
    except HydraException as e:
        raise ValueError(f"no {group} config {name!r} in {config_dir}/{group}: {str(e).splitlines()[0]}") from None
    return OmegaConf.to_container(cfg, resolve=True)[group]


def build_stack(spec: StackSpec, config_dir: str | Path):
    """(planner, policy) for the agent; ValueError for a combination that cannot run on a robot."""
    for name in (spec.planner, spec.policy):
        if name in NEEDS_SIM:
            raise ValueError(f"{name!r} cannot run on a robot: {NEEDS_SIM[name]} (use it in sim/eval.py)")
    pcfg = group_config(config_dir, "planner", spec.planner)
    if spec.planner_checkpoint:
        pcfg["checkpoint"] = spec.planner_checkpoint
    from sim.evaluation import make_planner, make_policy

    planner = make_planner(pcfg, env=None)
    if spec.server:
        from vla_core.serve.client import PolicyClient, RemotePolicy

        host, port = parse_server(spec.server)
        return planner, RemotePolicy(PolicyClient(host, port))
    qcfg = group_config(config_dir, "policy", spec.policy)
    if spec.checkpoint:
        qcfg["checkpoint"] = spec.checkpoint
    if not qcfg.get("checkpoint"):
        raise ValueError(f"policy {spec.policy!r} needs a checkpoint (the checkpoint parameter)")
    return planner, make_policy(qcfg, env=None)
