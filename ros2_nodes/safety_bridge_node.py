"""safety_bridge_node: the only node that talks to the robot (a thin wrapper around SafetyBridge).

In:  the agent's actions (``topics.ee_action`` or ``topics.joint_action``, Float64MultiArray),
     franka robot state and ``/joint_states``, the ``/vla/estop`` Bool.
Out: the cartesian impedance controller's ``~/equilibrium_pose`` (PoseStamped) or
     joint_trajectory_controller's ``~/joint_trajectory``, franka_gripper ``move`` / ``grasp`` goals,
     a preview of every (would-be) command and a JSON status per tick.
Services: ``/vla/estop/reset`` (the explicit release) and ``/vla/error_recovery`` (reflex mode only).

Parameters: ``config`` (path to configs/deploy/franka.yaml; default the installed copy),
``dry_run`` (bool, default true: nothing goes to the robot), ``action_space`` ('ee' | 'joint'),
``arm_id`` (optional; must equal the config's robot_type).
"""

from __future__ import annotations

import json

from franka_msgs.action import ErrorRecovery, Grasp, Move
from franka_msgs.msg import FrankaRobotState
from geometry_msgs.msg import PoseStamped
from rclpy.action import ActionClient
from rclpy.duration import Duration
from rclpy.node import Node
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import JointState
from std_msgs.msg import Bool, Float64MultiArray, String
from std_srvs.srv import Trigger
from trajectory_msgs.msg import JointTrajectory, JointTrajectoryPoint

from ros2_nodes.common import ee_pose, node_config, pose_stamped, spin
from vla_core.deploy.bridge import BridgeOutput, SafetyBridge
from vla_core.deploy.gripper import GripperCommand
from vla_core.deploy.pose import EEPose, EETarget, JointTarget
from vla_core.deploy.state import RobotState, arm_joints, joint_names


class SafetyBridgeNode(Node):
    def __init__(self, **kwargs) -> None:  # kwargs: rclpy Node options (parameter_overrides in tests)
        super().__init__("vla_safety_bridge", **kwargs)
        path, self.cfg = node_config(self, check_arm_id=True)
        dry_run = self.declare_parameter("dry_run", True).value
        action_space = self.declare_parameter("action_space", "ee").value
        self.bridge = SafetyBridge(self.cfg.safety, self.cfg.gripper, action_space=action_space, dry_run=dry_run)
        self._joint_names = joint_names(self.cfg.robot_type)
        t = self.cfg.topics

        if action_space == "ee":
            self.create_subscription(Float64MultiArray, t.ee_action, self._on_ee_action, 10)
            self._arm_pub = self.create_publisher(PoseStamped, t.equilibrium_pose, 10)
        else:
            self.create_subscription(Float64MultiArray, t.joint_action, self._on_joint_action, 10)
            self._arm_pub = self.create_publisher(JointTrajectory, t.joint_trajectory, 10)
        # Best-effort state subscriptions connect to reliable and best-effort publishers alike; a reliable
        # one would silently get nothing from a best-effort broadcaster (then the bridge only ever holds).
        self.create_subscription(FrankaRobotState, t.robot_state, self._on_robot_state, qos_profile_sensor_data)
        self.create_subscription(JointState, t.joint_states, self._on_joint_states, qos_profile_sensor_data)
        # Default (reliable, volatile) QoS on purpose: it matches `ros2 topic pub` and any default publisher.
        # A stricter profile (transient local) would refuse such publishers, and an e-stop that does not
        # connect fails silently.
        self.create_subscription(Bool, t.estop, self._on_estop, 10)
        self._preview_pub = self.create_publisher(PoseStamped, t.command_preview, 10)
        self._status_pub = self.create_publisher(String, t.status, 10)
        self._move = ActionClient(self, Move, t.gripper_move)
        self._grasp = ActionClient(self, Grasp, t.gripper_grasp)
        self._recovery = ActionClient(self, ErrorRecovery, t.error_recovery)
        self.create_service(Trigger, t.estop_reset, self._on_estop_reset)
        self.create_service(Trigger, t.error_recovery_request, self._on_error_recovery)
        self.create_timer(1.0 / self.cfg.rate_hz, self._tick)
        mode = "DRY RUN: nothing is sent to the robot" if dry_run else "LIVE: commands go to the robot"
        self.get_logger().info(f"safety bridge ({action_space}, {self.cfg.rate_hz:g} Hz, config {path}): {mode}")

    # ---- inputs ----

    def _on_ee_action(self, msg: Float64MultiArray) -> None:
        try:
            self.bridge.on_action(EETarget.from_array(msg.data))
        except ValueError as e:
            self.get_logger().warning(f"dropped action: {e}", throttle_duration_sec=1.0)

    def _on_joint_action(self, msg: Float64MultiArray) -> None:
        try:
            self.bridge.on_action(JointTarget.from_array(msg.data))
        except ValueError as e:
            self.get_logger().warning(f"dropped action: {e}", throttle_duration_sec=1.0)

    def _on_robot_state(self, msg: FrankaRobotState) -> None:
        pose = ee_pose(msg.o_t_ee.pose)
        joints = arm_joints(msg.measured_joint_state.name, msg.measured_joint_state.position, self.cfg.robot_type)
        self.bridge.on_state(RobotState(ee_pose=pose, joints=joints, robot_mode=int(msg.robot_mode)))

    def _on_joint_states(self, msg: JointState) -> None:
        joints = arm_joints(msg.name, msg.position, self.cfg.robot_type)
        if joints is not None:
            self.bridge.on_state(RobotState(joints=joints))

    def _on_estop(self, msg: Bool) -> None:
        was = self.bridge.estop.latched
        self.bridge.on_estop(bool(msg.data))
        if self.bridge.estop.latched and not was:
            self.get_logger().error("E-STOP latched: holding; call the reset service once it is clear")

    def _on_estop_reset(self, request: Trigger.Request, response: Trigger.Response) -> Trigger.Response:
        decision = self.bridge.reset_estop(confirm=True)  # calling the service is the explicit confirmation
        response.success, response.message = decision.ok, decision.message
        self.get_logger().warning(f"e-stop reset requested: {decision.message}")
        return response

    def _on_error_recovery(self, request: Trigger.Request, response: Trigger.Response) -> Trigger.Response:
        decision = self.bridge.request_error_recovery(confirm=True)
        response.success, response.message = decision.ok, decision.message
        if decision.ok:
            if self.bridge.dry_run:
                response.message = "dry run: would send franka error recovery"
            elif not self._recovery.server_is_ready():
                response.success, response.message = False, "franka error recovery action server not available"
            else:
                self._recovery.send_goal_async(ErrorRecovery.Goal())
        self.get_logger().warning(f"error recovery requested: {response.message}")
        return response

    # ---- the tick ----

    def _tick(self) -> None:
        out = self.bridge.step()
        self._status_pub.publish(String(data=json.dumps(out.to_dict())))
        if out.would_send and out.pose is not None:
            self._preview_pub.publish(self._pose_msg(out.pose))
        if out.send:
            self._publish_arm(out)
            if out.gripper is not None:
                self._send_gripper(out.gripper)
        elif out.would_send and out.gripper is not None:
            self.get_logger().info(f"dry run: would send gripper {out.gripper}")

    def _pose_msg(self, pose: EEPose) -> PoseStamped:
        return pose_stamped(pose, self.cfg.frame_id, self.get_clock().now().to_msg())

    def _publish_arm(self, out: BridgeOutput) -> None:
        if out.pose is not None:
            self._arm_pub.publish(self._pose_msg(out.pose))
        elif out.joints is not None:
            msg = JointTrajectory()  # header stamp left zero: the controller starts it on receipt
            msg.joint_names = self._joint_names
            point = JointTrajectoryPoint()
            point.positions = [float(v) for v in out.joints]
            point.time_from_start = Duration(seconds=1.0 / self.cfg.rate_hz).to_msg()
            msg.points = [point]
            self._arm_pub.publish(msg)

    def _send_gripper(self, cmd: GripperCommand) -> None:
        if cmd.action == "grasp":
            client, goal = self._grasp, Grasp.Goal()
            goal.width, goal.speed, goal.force = cmd.width, cmd.speed, cmd.force
            goal.epsilon.inner, goal.epsilon.outer = cmd.epsilon_inner, cmd.epsilon_outer
        else:
            client, goal = self._move, Move.Goal()
            goal.width, goal.speed = cmd.width, cmd.speed
        if not client.server_is_ready():
            self.get_logger().warning(f"gripper {cmd.action} server not available; will retry",
                                      throttle_duration_sec=1.0)
            self.bridge.gripper.reset()  # forget the decision so the next tick sends it again
            return
        client.send_goal_async(goal)


def main(args=None) -> None:
    spin(SafetyBridgeNode, args)


if __name__ == "__main__":
    main()
