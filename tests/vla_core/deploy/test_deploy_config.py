"""configs/deploy/franka.yaml: loads, names franka_ros2 Jazzy's topics, and bad files fail by field."""

from pathlib import Path

import pytest
import yaml

from vla_core.deploy.config import DeployConfig, deploy_config_from_dict, load_deploy_config
from vla_core.deploy.limits import default_joint_limits

ROOT = Path(__file__).resolve().parents[3]
FRANKA = ROOT / "configs" / "deploy" / "franka.yaml"
SIM = ROOT / "configs" / "deploy" / "sim.yaml"


def test_shipped_config_loads_with_franka_names():
    cfg = load_deploy_config(FRANKA)
    assert cfg.robot_type == "fr3" and cfg.frame_id == "fr3_link0"
    t = cfg.topics
    assert t.equilibrium_pose == "/cartesian_impedance_example_controller/equilibrium_pose"
    assert t.joint_trajectory == "/joint_trajectory_controller/joint_trajectory"
    assert t.robot_state == "/franka_robot_state_broadcaster/robot_state"
    assert (t.gripper_move, t.gripper_grasp, t.gripper_homing) == (
        "/franka_gripper/move", "/franka_gripper/grasp", "/franka_gripper/homing")
    assert t.error_recovery == "/action_server/error_recovery"
    assert (t.estop, t.voice_correction) == ("/vla/estop", "/vla/voice/correction")
    # the file spells out the FR3 defaults (datasheet minus the margin)
    for a, b in zip(cfg.safety.joint_min + cfg.safety.joint_max, sum(default_joint_limits("fr3"), ())):
        assert a == pytest.approx(b, abs=1e-9)


def test_every_key_in_the_file_is_read():
    raw = yaml.safe_load(FRANKA.read_text())
    cfg = load_deploy_config(FRANKA)
    for key, value in raw["safety"].items():
        got = getattr(cfg.safety, key)
        assert (list(got) if isinstance(got, tuple) else got) == pytest.approx(value), key
    for key, value in raw["topics"].items():
        assert getattr(cfg.topics, key) == value
    for key, value in raw["agent"].items():
        got = getattr(cfg.agent, key)
        assert (list(got) if isinstance(got, tuple) else got) == value, key


def test_sim_config_is_the_panda_in_the_kitchen_with_the_franka_topic_names():
    cfg, franka = load_deploy_config(SIM), load_deploy_config(FRANKA)
    assert cfg.robot_type == "panda" and cfg.topics == franka.topics
    assert cfg.sim.cameras == ("head",) and cfg.sim.task is None and cfg.agent.rate_hz == 10.0
    assert cfg.safety.workspace_min[2] > 0.8  # the kitchen base frame sits on the floor


def test_empty_sections_mean_defaults():
    cfg = deploy_config_from_dict({"safety": None, "robot_type": "panda"})
    assert cfg.frame_id == "panda_link0" and cfg.safety.joint_min == default_joint_limits("panda")[0]
    assert deploy_config_from_dict({}) == DeployConfig()


@pytest.mark.parametrize("data, message", [
    ({"saftey": {}}, r"deploy config: unknown key\(s\) \['saftey'\]"),
    ({"robot_type": "ur5"}, r"robot_type must be one of"),
    ({"rate_hz": 0}, r"rate_hz must be > 0"),
    ({"safety": {"max_step_m": "fast"}}, r"safety\.max_step_m must be a number"),
    ({"topics": {"estop": "vla/estop"}}, r"topics\.estop must be an absolute name"),
    ({"topics": {"estopp": "/vla/estop"}}, r"topics: unknown key\(s\) \['estopp'\]"),
    ({"gripper": {"force": -1}}, r"gripper\.force must be > 0"),
    ({"agent": {"max_obs_age_s": 0}}, r"agent\.max_obs_age_s must be > 0"),
    ({"agent": {"cameras": "head"}}, r"agent\.cameras must be a list of names"),
    ({"agent": {"replan": "often"}}, r"agent\.replan must be one of"),
    ({"agent": {"n_exec": 0}}, r"agent\.n_exec must be an integer >= 1 or null"),
    ({"agent": {"keypoints": "yes"}}, r"agent\.keypoints must be true or false"),
    ({"sim": {"image_size": 8}}, r"sim\.image_size must be >= 16"),
    ({"sim": {"seed": -1}}, r"sim\.seed must be an integer >= 0"),
    ({"sim": {"camera": ["head"]}}, r"sim: unknown key\(s\) \['camera'\]"),
])
def test_bad_deploy_config(data, message):
    with pytest.raises(ValueError, match=message):
        deploy_config_from_dict(data)


def test_load_names_the_file(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("safety:\n  workspace_min: [0.9, 0.0, 0.1]\n")
    with pytest.raises(ValueError, match=r"bad\.yaml: safety\.workspace_min\[0\] = 0\.9 must be < workspace_max"):
        load_deploy_config(bad)
