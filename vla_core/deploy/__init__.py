"""Deployment on a real robot, ROS-free: safety limits, the safety filter, watchdogs, the latched
e-stop, gripper goals, and the ``SafetyBridge`` that composes them. ``ros2_nodes/`` wraps it."""

from vla_core.deploy.bridge import BridgeOutput, SafetyBridge
from vla_core.deploy.config import DeployConfig, Topics, load_deploy_config
from vla_core.deploy.estop import Decision, EStop
from vla_core.deploy.gripper import GripperCommand, GripperConfig, GripperMapper
from vla_core.deploy.limits import SafetyLimits
from vla_core.deploy.pose import EEPose, EETarget, JointTarget
from vla_core.deploy.safety import EECommand, JointCommand, SafetyFilter
from vla_core.deploy.state import RobotMode, RobotState
from vla_core.deploy.watchdog import Watchdog

__all__ = [
    "BridgeOutput", "SafetyBridge", "DeployConfig", "Topics", "load_deploy_config", "Decision", "EStop",
    "GripperCommand", "GripperConfig", "GripperMapper", "SafetyLimits", "EEPose", "EETarget", "JointTarget",
    "EECommand", "JointCommand", "SafetyFilter", "RobotMode", "RobotState", "Watchdog",
]
