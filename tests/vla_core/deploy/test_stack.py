"""The agent's planner/policy come from the eval config groups; what needs simulator state is refused."""

from pathlib import Path

import pytest

from vla_core.deploy.stack import StackSpec, build_stack, group_config, parse_server

CONFIGS = Path(__file__).resolve().parents[3] / "configs"


def test_group_configs_compose_with_their_defaults():
    flow = group_config(CONFIGS, "policy", "flow")
    assert flow["name"] == "flow" and flow["model"]["kind"] == "flow" and flow["noise"] == "zero"  # from diffusion
    assert group_config(CONFIGS, "planner", "learned")["kind"] == "instruction"
    with pytest.raises(ValueError, match=r"no policy config 'flwo'"):
        group_config(CONFIGS, "policy", "flwo")


@pytest.mark.parametrize("spec, message", [
    (StackSpec(planner="oracle"), r"'oracle' cannot run on a robot: the oracle planner reads simulator state"),
    (StackSpec(policy="expert"), r"'expert' cannot run on a robot"),
])
def test_what_needs_the_simulator_is_refused(spec, message):
    with pytest.raises(ValueError, match=message):
        build_stack(spec, CONFIGS)


def test_policy_server_address():
    assert parse_server("gpu-box:8765") == ("gpu-box", 8765)
    assert parse_server("::1:8765") == ("::1", 8765)
    for bad in ("gpu-box", ":8765", "gpu-box:http", "gpu-box:0"):
        with pytest.raises(ValueError, match="must be 'host:port'"):
            parse_server(bad)
