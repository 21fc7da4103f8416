"""sim_robot_node: our MuJoCo kitchen acting as the robot (a thin wrapper around vla_core.deploy.sim_robot).

Out: ``/joint_states`` (sensor_msgs/JointState, ``<robot>_joint1..7`` + fingers), franka's robot state topic
     (franka_msgs/FrankaRobotState: ``o_t_ee``, ``measured_joint_state``, ``robot_mode``), the privileged
     keypoints JSON, and per camera ``<camera_prefix>/<cam>/image_raw`` (rgb8), ``…/camera_info`` and,
     with ``sim.depth``, ``…/depth/image_raw`` (32FC1).
In:  what the safety bridge sends a Franka: the equilibrium pose (PoseStamped), joint trajectories (the
     last point of each) and franka_gripper ``move`` / ``grasp`` goals (served here as actions).

Parameters: ``config`` (default the installed configs/deploy/sim.yaml), ``bench`` (kitchen_r), ``task``
and ``seed`` (override the config's ``sim`` section). It steps at the env's control rate (10 Hz).
"""

from __future__ import annotations

import os

from franka_msgs.action import Grasp, Move
from franka_msgs.msg import FrankaRobotState
from geometry_msgs.msg import PoseStamped
from rclpy.action import ActionServer
from rclpy.node import Node
from sensor_msgs.msg import CameraInfo, Image, JointState
from std_msgs.msg import String
from trajectory_msgs.msg import JointTrajectory

from ros2_nodes.common import ee_pose, node_config, pose_stamped, share_path, spin
from sim.envs import make_env
from vla_core.deploy.agent import keypoints_json
from vla_core.deploy.camera import ImageFrame
from vla_core.deploy.sim_robot import SimRobot, SimRobotState

os.environ.setdefault("MUJOCO_GL", "osmesa")  # headless CPU rendering, as sim/eval.py
os.environ.setdefault("PYOPENGL_PLATFORM", "osmesa")


class SimRobotNode(Node):
    def __init__(self, **kwargs) -> None:
        super().__init__("vla_sim_robot", **kwargs)
        _, self.cfg = node_config(self, share_path("configs", "deploy", "sim.yaml"))
        bench = self.declare_parameter("bench", "kitchen_r").value
        s = self.cfg.sim
        task = self.declare_parameter("task", s.task or "").value or None
        seed = int(self.declare_parameter("seed", s.seed).value)
        self.robot = SimRobot(make_env(bench), self.cfg.robot_type, s.cameras, s.depth, s.image_size)
        state = self.robot.reset(seed, task)
        t = self.cfg.topics

        self._joint_pub = self.create_publisher(JointState, t.joint_states, 10)
        self._state_pub = self.create_publisher(FrankaRobotState, t.robot_state, 10)
        self._kp_pub = self.create_publisher(String, t.keypoints, 10)
        self._cams = {}
        for cam in s.cameras:
            base = f"{t.camera_prefix}/{cam}"
            self._cams[cam] = (self.create_publisher(Image, f"{base}/image_raw", 10),
                               self.create_publisher(CameraInfo, f"{base}/camera_info", 10),
                               self.create_publisher(Image, f"{base}/depth/image_raw", 10) if s.depth else None,
                               self.robot.intrinsics(cam))
        self.create_subscription(PoseStamped, t.equilibrium_pose, self._on_pose, 10)
        self.create_subscription(JointTrajectory, t.joint_trajectory, self._on_trajectory, 10)
        ActionServer(self, Move, t.gripper_move, self._on_move)
        ActionServer(self, Grasp, t.gripper_grasp, self._on_grasp)
        self._succeeded = False
        self.create_timer(self.robot.env.dt, self._tick)
        self.get_logger().info(f"sim robot ({bench}, {self.cfg.robot_type}): task {self.robot.task!r}, seed {seed}; "
                               f"publish it on {t.task} to start the agent")
        self._publish(state)

    # ---- commands ----

    def _on_pose(self, msg: PoseStamped) -> None:
        try:
            self.robot.on_pose_command(ee_pose(msg.pose))
        except ValueError as e:
            self.get_logger().warning(f"pose command dropped: {e}", throttle_duration_sec=1.0)

    def _on_trajectory(self, msg: JointTrajectory) -> None:
        if not msg.points:
            return
        by_name = dict(zip(msg.joint_names, msg.points[-1].positions))
        try:
            self.robot.on_joint_command([by_name[n] for n in self.robot.names[:7]])
        except (KeyError, ValueError) as e:
            self.get_logger().warning(f"joint trajectory dropped: {e!r}", throttle_duration_sec=1.0)

    def _on_move(self, goal_handle):
        try:
            self.robot.on_gripper_move(goal_handle.request.width)
        except ValueError as e:
            self.get_logger().warning(f"gripper move refused: {e}")
            goal_handle.abort()
            return Move.Result(success=False, error=str(e))
        goal_handle.succeed()
        return Move.Result(success=True)

    def _on_grasp(self, goal_handle):
        self.robot.on_gripper_grasp()
        goal_handle.succeed()
        return Grasp.Result(success=True)

    # ---- the tick ----

    def _tick(self) -> None:
        state = self.robot.step()
        self._publish(state)
        if state.success and not self._succeeded:
            self.get_logger().info(f"task done (simulator state): {self.robot.task!r}")
        self._succeeded = state.success

    def _publish(self, s: SimRobotState) -> None:
        stamp = self.get_clock().now().to_msg()
        joints = JointState(name=list(s.joint_names), position=[float(v) for v in s.positions],
                            velocity=[float(v) for v in s.velocities])
        joints.header.stamp = stamp
        self._joint_pub.publish(joints)
        robot = FrankaRobotState()
        robot.header.stamp = stamp
        robot.o_t_ee = pose_stamped(s.ee_pose, self.cfg.frame_id, stamp)
        robot.measured_joint_state = joints
        robot.robot_mode = s.robot_mode
        self._state_pub.publish(robot)
        self._kp_pub.publish(String(data=keypoints_json(s.keypoint_names, s.keypoints)))
        for cam, (image_pub, info_pub, depth_pub, k) in self._cams.items():
            image_pub.publish(self._image(s.rgb[cam], cam, stamp))
            info = CameraInfo(height=k.height, width=k.width, k=[k.fx, 0.0, k.cx, 0.0, k.fy, k.cy, 0.0, 0.0, 1.0])
            info.header.stamp, info.header.frame_id = stamp, cam
            info_pub.publish(info)
            if depth_pub is not None:
                depth_pub.publish(self._image(s.depth[cam], cam, stamp))

    @staticmethod
    def _image(f: ImageFrame, cam: str, stamp) -> Image:
        msg = Image(height=f.height, width=f.width, encoding=f.encoding, is_bigendian=int(f.is_bigendian),
                    step=f.step, data=f.data)
        msg.header.stamp, msg.header.frame_id = stamp, cam
        return msg


def main(args=None) -> None:
    spin(SimRobotNode, args)


if __name__ == "__main__":
    main()
