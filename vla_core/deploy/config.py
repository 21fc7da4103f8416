"""Reads ``configs/deploy/franka.yaml`` (``sim.yaml`` for the MuJoCo robot): safety limits, gripper
mapping, topic and action names, the agent's inputs and the simulated robot.

A plain YAML read with ``yaml.safe_load`` (not composed by hydra): the ROS node reads the installed
copy in ``share/vla_stack/configs/deploy/``. Unknown keys anywhere are errors.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path

import yaml

from vla_core.deploy.gripper import GripperConfig
from vla_core.deploy.limits import JOINT_LIMITS, SafetyLimits
from vla_core.deploy.validate import number, reject_unknown, section, text


@dataclass(frozen=True)
class Topics:
    """Topic / action / service names (franka_ros2 Jazzy's and ours)."""

    # ours: the agent's actions in, what the bridge sends (or would send) and why, out
    ee_action: str = "/vla/action/ee"  # std_msgs/Float64MultiArray [x y z qw qx qy qz gripper]
    joint_action: str = "/vla/action/joint"  # std_msgs/Float64MultiArray [q1..q7 gripper]
    estop: str = "/vla/estop"  # std_msgs/Bool, True latches
    estop_reset: str = "/vla/estop/reset"  # std_srvs/Trigger
    error_recovery_request: str = "/vla/error_recovery"  # std_srvs/Trigger
    voice_correction: str = "/vla/voice/correction"  # std_msgs/String (read by the agent, not the bridge)
    command_preview: str = "/vla/safety/command"  # geometry_msgs/PoseStamped: sent or would-be-sent pose
    status: str = "/vla/safety/status"  # std_msgs/String, JSON: send, hold, reasons
    task: str = "/vla/task"  # std_msgs/String: the instruction the agent works on (a new one restarts it)
    keypoints: str = "/vla/keypoints"  # std_msgs/String, JSON {"names": [...], "points": [[x, y, z] | null]}
    agent_status: str = "/vla/agent/status"  # std_msgs/String, JSON: state, reasons, plan, confidence, latency
    camera_prefix: str = "/vla/camera"  # <prefix>/<name>/image_raw, …/camera_info, …/depth/image_raw
    # franka_ros2
    equilibrium_pose: str = "/cartesian_impedance_example_controller/equilibrium_pose"  # PoseStamped
    joint_trajectory: str = "/joint_trajectory_controller/joint_trajectory"  # trajectory_msgs/JointTrajectory
    robot_state: str = "/franka_robot_state_broadcaster/robot_state"  # franka_msgs/FrankaRobotState
    joint_states: str = "/joint_states"  # sensor_msgs/JointState
    gripper_move: str = "/franka_gripper/move"  # franka_msgs/action/Move
    gripper_grasp: str = "/franka_gripper/grasp"  # franka_msgs/action/Grasp
    gripper_homing: str = "/franka_gripper/homing"  # franka_msgs/action/Homing
    error_recovery: str = "/action_server/error_recovery"  # franka_msgs/action/ErrorRecovery

    def __post_init__(self) -> None:
        for f in fields(self):
            name = text(f.name, getattr(self, f.name))
            if not name.startswith("/"):  # relative names would land in the node's namespace
                raise ValueError(f"{f.name} must be an absolute name starting with '/', got {name!r}")


def _names(name: str, value) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise ValueError(f"{name} must be a list of names, got {value!r}")
    return tuple(text(f"{name}[{i}]", v) for i, v in enumerate(value))


@dataclass(frozen=True)
class AgentConfig:
    """The agent node: when it acts and which inputs an observation needs (``vla_core.deploy.agent``)."""

    rate_hz: float = 10.0  # one action per tick: the policy's control rate (kitchen_r: 10 Hz)
    max_obs_age_s: float = 0.3  # an input older than this (since receipt) → no action
    cameras: tuple[str, ...] = ()  # RGB cameras the policy sees (topics under topics.camera_prefix)
    depth_cameras: tuple[str, ...] = ()
    keypoints: bool = True  # wait for keypoints on topics.keypoints (the chunk policies read them)
    n_exec: int | None = None  # actions per chunk; None: the policy's own
    replan: str = "chunk"  # LoopConfig.replan

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "rate_hz", number("rate_hz", self.rate_hz, positive=True, hi=1000.0))
        set_(self, "max_obs_age_s", number("max_obs_age_s", self.max_obs_age_s, positive=True))
        set_(self, "cameras", _names("cameras", self.cameras))
        set_(self, "depth_cameras", _names("depth_cameras", self.depth_cameras))
        if not isinstance(self.keypoints, bool):
            raise ValueError(f"keypoints must be true or false, got {self.keypoints!r}")
        if self.n_exec is not None and (isinstance(self.n_exec, bool) or not isinstance(self.n_exec, int)
                                        or self.n_exec < 1):
            raise ValueError(f"n_exec must be an integer >= 1 or null, got {self.n_exec!r}")
        text("replan", self.replan, ("chunk", "subtask", "correction"))


@dataclass(frozen=True)
class SimConfig:
    """The MuJoCo kitchen acting as the robot (``vla_core.deploy.sim_robot``)."""

    task: str | None = None  # task id or instruction the scene is laid out for; None: random
    seed: int = 0
    cameras: tuple[str, ...] = ("head",)  # rendered and published each tick (MuJoCo camera names)
    depth: bool = False  # also publish the cameras' depth
    image_size: int = 128  # px, square

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        if self.task is not None:
            text("task", self.task)
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"seed must be an integer >= 0, got {self.seed!r}")
        set_(self, "cameras", _names("cameras", self.cameras))
        if not isinstance(self.depth, bool):
            raise ValueError(f"depth must be true or false, got {self.depth!r}")
        set_(self, "image_size", int(number("image_size", self.image_size, lo=16, hi=1024)))


@dataclass(frozen=True)
class DeployConfig:
    robot_type: str = "fr3"  # franka_description robot / arm id: joint names, frames, joint limits
    frame_id: str = "fr3_link0"  # the base frame poses are published in
    rate_hz: float = 30.0  # safety bridge control rate
    safety: SafetyLimits = field(default_factory=SafetyLimits)
    gripper: GripperConfig = field(default_factory=GripperConfig)
    topics: Topics = field(default_factory=Topics)
    agent: AgentConfig = field(default_factory=AgentConfig)
    sim: SimConfig = field(default_factory=SimConfig)


SECTIONS = ("robot_type", "frame_id", "rate_hz", "safety", "gripper", "topics", "agent", "sim")


def _mapping(data: Mapping, key: str):
    """An empty YAML section (``safety:`` and nothing under it) reads as None: treat it as {}."""
    value = data.get(key)
    return {} if value is None else value


def deploy_config_from_dict(data: Mapping) -> DeployConfig:
    reject_unknown("deploy config", data, SECTIONS)
    robot_type = text("robot_type", data.get("robot_type", "fr3"), JOINT_LIMITS)
    frame_id = text("frame_id", data.get("frame_id", f"{robot_type}_link0"))
    rate_hz = number("rate_hz", data.get("rate_hz", 30.0), positive=True, hi=1000.0)
    return DeployConfig(
        robot_type=robot_type,
        frame_id=frame_id,
        rate_hz=rate_hz,
        safety=SafetyLimits.from_dict(_mapping(data, "safety"), robot_type=robot_type),
        gripper=GripperConfig.from_dict(_mapping(data, "gripper")),
        topics=section("topics", Topics, _mapping(data, "topics")),
        agent=section("agent", AgentConfig, _mapping(data, "agent")),
        sim=section("sim", SimConfig, _mapping(data, "sim")),
    )


def load_deploy_config(path: str | Path) -> DeployConfig:
    with open(path, encoding="utf-8") as f:
        data = yaml.safe_load(f)
    if data is None:
        data = {}
    try:
        return deploy_config_from_dict(data)
    except ValueError as e:
        raise ValueError(f"{path}: {e}") from None
