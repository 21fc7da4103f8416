"""What the vla_stack nodes share: the deploy config from the ``config`` (and ``arm_id``) parameters, the
spin/shutdown of ``main``, and Pose ↔ EEPose. Not a node itself (no console script)."""

from __future__ import annotations

import os

import numpy as np
import rclpy
from ament_index_python.packages import get_package_share_directory
from geometry_msgs.msg import PoseStamped
from rclpy.executors import ExternalShutdownException

from vla_core.deploy.config import DeployConfig, load_deploy_config
from vla_core.deploy.pose import EEPose

PACKAGE = "vla_stack"


def share_path(*parts: str) -> str:
    """A path under the installed ``share/vla_stack`` (configs/…, launch/…)."""
    return os.path.join(get_package_share_directory(PACKAGE), *parts)


def default_config_path() -> str:
    return share_path("configs", "deploy", "franka.yaml")


def node_config(node, default: str = "", check_arm_id: bool = False) -> tuple[str, DeployConfig]:
    """(path, config) of the deploy config the node's ``config`` parameter names ('' = ``default``, else the
    installed franka.yaml). ``check_arm_id``: the ``arm_id`` parameter too, which, when set, must equal the
    config's robot_type (limits and joint names are per robot: refuse a mix-up)."""
    path = node.declare_parameter("config", "").value or default or default_config_path()
    cfg = load_deploy_config(path)
    if check_arm_id:
        arm_id = node.declare_parameter("arm_id", "").value
        if arm_id and arm_id != cfg.robot_type:
            raise ValueError(f"arm_id {arm_id!r} does not match robot_type {cfg.robot_type!r} in {path}")
    return path, cfg


def spin(node_factory, args=None) -> None:
    """rclpy.init, spin the node until Ctrl-C or shutdown, then clean up."""
    rclpy.init(args=args)
    node = node_factory()
    try:
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        node.destroy_node()
        rclpy.try_shutdown()


def ee_pose(pose) -> EEPose:
    """geometry_msgs/Pose → EEPose (quaternion reordered to w x y z)."""
    p, o = pose.position, pose.orientation
    return EEPose(np.array([p.x, p.y, p.z]), np.array([o.w, o.x, o.y, o.z]))


def pose_stamped(pose: EEPose, frame_id: str, stamp) -> PoseStamped:
    """EEPose → geometry_msgs/PoseStamped in ``frame_id``."""
    msg = PoseStamped()
    msg.header.frame_id = frame_id
    msg.header.stamp = stamp
    msg.pose.position.x, msg.pose.position.y, msg.pose.position.z = (float(v) for v in pose.position)
    o = msg.pose.orientation
    o.w, o.x, o.y, o.z = (float(v) for v in pose.quat)
    return msg
