"""agent_node: the runtime loop on ROS (a thin wrapper around vla_core.deploy.agent.Agent).

In:  ``/joint_states`` (arm + finger joints), franka robot state (its ``o_t_ee`` is the EE pose),
     the keypoints JSON, the task (std_msgs/String; a new one restarts the episode) and, for each camera
     in the config's ``agent.cameras`` / ``agent.depth_cameras``, ``<camera_prefix>/<cam>/image_raw``,
     ``…/camera_info`` and ``…/depth/image_raw``, and corrections (std_msgs/String on
     ``topics.voice_correction``: typed, or transcribed by voice_node) (one camera_info per camera: use depth aligned to
     colour; a frame whose size differs from its camera_info is dropped with a warning). There is no separate camera node: the images go
     straight into the agent's observation (vla_core.deploy.camera converts and checks them).
Out: one action per tick on ``topics.ee_action`` (or ``topics.joint_action``), Float64MultiArray,
     for the safety bridge; nothing when an input is missing, stale or NaN; a JSON status per tick on
     ``topics.agent_status`` (state, reasons, plan, confidence, latency).

Parameters: ``config`` (configs/deploy/*.yaml; default the installed franka.yaml), ``action_space``
('ee'; 'joint': targets through ``vla_core.deploy.ik.FrankaIK``, the real arm's kinematics with the
Franka Hand's TCP — not the simulated kitchen Panda's, whose wrist differs: use 'ee' with sim.launch.py), ``arm_id`` (must equal the config's robot_type),
``planner`` / ``policy`` (configs/planner, configs/policy names), ``checkpoint``, ``planner_checkpoint``,
``policy_server`` ('host:port' of ``python -m vla_core.serve``; '' = local), ``task`` (optional first task),
``corrections`` (configs/corrections name: how long an override lasts, what cuts a chunk).
"""

from __future__ import annotations

from franka_msgs.msg import FrankaRobotState
from rclpy.node import Node
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import CameraInfo, Image, JointState
from std_msgs.msg import Float64MultiArray, String

from ros2_nodes.common import ee_pose, node_config, share_path, spin
from vla_core.corrections.config import load_correction_config
from vla_core.deploy.agent import Agent, parse_keypoints
from vla_core.deploy.camera import CameraIntrinsics, ImageFrame, depth_from_frame, rgb_from_frame
from vla_core.deploy.ik import FrankaIK
from vla_core.deploy.stack import StackSpec, build_stack


def frame(msg: Image) -> ImageFrame:
    return ImageFrame(msg.height, msg.width, msg.encoding, msg.step, bytes(msg.data), bool(msg.is_bigendian))


class AgentNode(Node):
    def __init__(self, **kwargs) -> None:
        super().__init__("vla_agent", **kwargs)
        param = lambda name, default: self.declare_parameter(name, default).value  # noqa: E731
        path, self.cfg = node_config(self, check_arm_id=True)
        action_space = param("action_space", "ee")
        spec = StackSpec(param("planner", "learned"), param("policy", "flow"), param("checkpoint", ""),
                         param("planner_checkpoint", ""), param("policy_server", ""))
        task = param("task", "")
        corrections = load_correction_config(param("corrections", "default"), share_path("configs"))
        planner, policy = build_stack(spec, share_path("configs"))
        ik = FrankaIK(self.cfg.robot_type) if action_space == "joint" else None
        self.agent = Agent(planner, policy, self.cfg.agent, action_space=action_space, robot_type=self.cfg.robot_type,
                           ik=ik, corrections=corrections)
        t, a = self.cfg.topics, self.cfg.agent

        # sensor-data QoS (best effort) connects to reliable and best-effort publishers alike
        self.create_subscription(JointState, t.joint_states, self._on_joint_states, qos_profile_sensor_data)
        self.create_subscription(FrankaRobotState, t.robot_state, self._on_robot_state, qos_profile_sensor_data)
        self.create_subscription(String, t.keypoints, self._on_keypoints, qos_profile_sensor_data)
        self.create_subscription(String, t.task, self._on_task, 10)
        self.create_subscription(String, t.voice_correction, self._on_correction, 10)
        self._info: dict[str, CameraIntrinsics] = {}
        self._info_subscribed: set[str] = set()
        for cam in a.cameras:
            self._camera_subscriptions(cam, "image_raw", self.agent.on_rgb, rgb_from_frame)
        for cam in a.depth_cameras:
            self._camera_subscriptions(cam, "depth/image_raw", self.agent.on_depth, depth_from_frame)
        topic = t.ee_action if action_space == "ee" else t.joint_action
        self._action_pub = self.create_publisher(Float64MultiArray, topic, 10)
        self._status_pub = self.create_publisher(String, t.agent_status, 10)
        if task:
            self.agent.set_task(task)
        self.create_timer(1.0 / a.rate_hz, self._tick)
        self.get_logger().info(f"agent ({spec.planner} + {spec.policy}{' @ ' + spec.server if spec.server else ''}, "
                               f"{action_space} → {topic}, {a.rate_hz:g} Hz, config {path})")

    def _camera_subscriptions(self, cam: str, image: str, sink, convert) -> None:
        base = f"{self.cfg.topics.camera_prefix}/{cam}"

        def on_image(msg: Image) -> None:
            try:
                array = convert(frame(msg))
                if cam in self._info:
                    self._info[cam].check(array)
                sink(cam, array)
            except ValueError as e:
                self.get_logger().warning(f"camera {cam}: dropped frame: {e}", throttle_duration_sec=1.0)

        def on_info(msg: CameraInfo) -> None:
            try:
                self._info[cam] = CameraIntrinsics.from_camera_info(msg.height, msg.width, msg.k)
            except ValueError as e:
                self.get_logger().warning(f"camera {cam}: bad camera info: {e}", throttle_duration_sec=5.0)

        self.create_subscription(Image, f"{base}/{image}", on_image, qos_profile_sensor_data)
        if cam not in self._info_subscribed:  # one camera_info per camera, for its colour and depth streams
            self._info_subscribed.add(cam)
            self.create_subscription(CameraInfo, f"{base}/camera_info", on_info, qos_profile_sensor_data)

    # ---- inputs ----

    def _on_joint_states(self, msg: JointState) -> None:
        try:
            self.agent.on_joint_state(list(msg.name), list(msg.position))
        except ValueError as e:
            self.get_logger().warning(f"joint state: {e}", throttle_duration_sec=1.0)

    def _on_robot_state(self, msg: FrankaRobotState) -> None:
        self.agent.on_ee_pose(ee_pose(msg.o_t_ee.pose))

    def _on_keypoints(self, msg: String) -> None:
        try:
            self.agent.on_keypoints(*parse_keypoints(msg.data))
        except ValueError as e:
            self.get_logger().warning(str(e), throttle_duration_sec=1.0)

    def _on_task(self, msg: String) -> None:
        try:
            self.agent.set_task(msg.data)
            self.get_logger().info(f"task: {msg.data!r}")
        except ValueError as e:
            self.get_logger().warning(str(e))

    def _on_correction(self, msg: String) -> None:
        c = self.agent.on_correction(msg.data)
        log = self.get_logger().warning if c.kind == "unrecognised" else self.get_logger().info
        log(f"correction {msg.data!r}: {c.describe()}")

    # ---- the tick ----

    def _tick(self) -> None:
        out = self.agent.tick()
        if out.action is not None:
            self._action_pub.publish(Float64MultiArray(data=out.action.to_list()))
        self._status_pub.publish(String(data=out.status.to_json()))


def main(args=None) -> None:
    spin(AgentNode, args)


if __name__ == "__main__":
    main()
