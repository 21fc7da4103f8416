"""The MuJoCo kitchen acting as the robot, ROS-free: what ``ros2_nodes/sim_robot_node.py`` publishes and
the commands it takes, so ``launch/sim.launch.py`` runs the real graph without hardware.

Out (``state()`` after each ``step``): arm + finger joint states, the EE pose in the base frame (as franka's
robot state ``o_t_ee``), a robot mode, the scene's privileged keypoints, camera frames as
``sensor_msgs/Image`` fields. In: what the safety bridge sends a Franka — an equilibrium pose (ee mode),
a joint target (joint mode), franka_gripper ``move`` (width) / ``grasp`` goals.

The env (``sim.envs.kitchen_r.env.KitchenREnv``, built by the node) steps at its own control rate with
the latest command held; before any command arrives it holds the pose it was reset to. Its mobile base
stays put: the bridge sends arm commands only. A joint target is turned into the EE pose it reaches
(forward kinematics) and followed through the env's Cartesian controller, whose IK may settle the
redundant elbow elsewhere: close enough for a graph test, not a joint-space simulation.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from vla_core.deploy.camera import CameraIntrinsics, ImageFrame, frame_from_depth, frame_from_rgb
from vla_core.deploy.gripper import HAND_MAX_WIDTH
from vla_core.deploy.limits import N_JOINTS
from vla_core.deploy.pose import EEPose, normalize_quat
from vla_core.deploy.state import RobotMode, finger_joint_names, joint_names


@dataclass(frozen=True)
class SimRobotState:
    time: float  # s since reset (sim time)
    joint_names: tuple[str, ...]  # <robot>_joint1..7, <robot>_finger_joint1..2 (franka_description names)
    positions: np.ndarray  # (9,) rad, fingers m
    velocities: np.ndarray  # (9,) finite differences over the last step
    ee_pose: EEPose  # base frame
    robot_mode: int  # RobotMode.MOVE once commanded, IDLE before
    keypoint_names: tuple[str, ...]
    keypoints: np.ndarray  # (K, 3) base frame, NaN rows for objects not in the scene
    rgb: dict[str, ImageFrame] = field(default_factory=dict)  # rgb8
    depth: dict[str, ImageFrame] = field(default_factory=dict)  # 32FC1, metres
    success: bool = False  # the task's goals hold (simulator state)


class SimRobot:
    def __init__(self, env, robot_type: str = "panda", cameras: tuple[str, ...] = ("head",), depth: bool = False,
                 image_size: int = 128):
        self.env, self.robot_type = env, robot_type
        self.cameras, self.depth, self.image_size = tuple(cameras), bool(depth), int(image_size)
        self.names = tuple(joint_names(robot_type) + finger_joint_names(robot_type))
        self._target: np.ndarray | None = None  # (7,) EE pos + quat the arm follows
        self._gripper = 0.0  # 0 open … 1 closed
        self._commanded = False
        self._prev: np.ndarray | None = None
        self._state: SimRobotState | None = None

    def reset(self, seed: int = 0, task: str | None = None) -> SimRobotState:
        obs = self.env.reset(seed, task)
        p = obs.proprio
        self._target = np.concatenate([p.ee_pos, p.ee_quat])  # hold where it starts
        self._gripper = float(np.clip(1.0 - p.gripper / HAND_MAX_WIDTH, 0.0, 1.0))
        self._commanded, self._prev = False, None
        self._state = self._observe(obs)
        return self._state

    @property
    def task(self) -> str:
        return self.env.task.instruction

    def intrinsics(self, camera: str) -> CameraIntrinsics:
        """The pinhole model of a rendered camera (MuJoCo's vertical field of view, square pixels)."""
        model = self.env.model
        fovy = np.deg2rad(float(model.cam_fovy[model.camera(camera).id]))
        f = 0.5 * self.image_size / np.tan(0.5 * fovy)
        c = 0.5 * self.image_size
        return CameraIntrinsics.from_camera_info(self.image_size, self.image_size, [f, 0, c, 0, f, c, 0, 0, 1])

    # ---- commands (what the safety bridge sends a Franka) ----

    def on_pose_command(self, pose: EEPose) -> None:
        quat = normalize_quat(pose.quat)
        pos = np.asarray(pose.position, dtype=np.float64).reshape(-1)
        if quat is None or pos.shape != (3,) or not np.all(np.isfinite(pos)):
            raise ValueError("pose command must be a finite position (3,) and a non-zero finite quaternion")
        self._target, self._commanded = np.concatenate([pos, quat]), True

    def on_joint_command(self, q) -> None:
        q = np.asarray(q, dtype=np.float64).reshape(-1)
        if q.shape != (N_JOINTS,) or not np.all(np.isfinite(q)):
            raise ValueError(f"joint command must be {N_JOINTS} finite positions, got {q.shape}")
        pos, quat = self.env.robot.fk(q)
        self._target, self._commanded = np.concatenate([pos, quat]), True

    def on_gripper_move(self, width: float) -> None:
        """franka_gripper ``move``: open to ``width`` m (0 … 0.08)."""
        if not np.isfinite(width) or not 0.0 <= width <= HAND_MAX_WIDTH:
            raise ValueError(f"gripper width must be in [0, {HAND_MAX_WIDTH}] m, got {width}")
        self._gripper = 1.0 - float(width) / HAND_MAX_WIDTH

    def on_gripper_grasp(self) -> None:
        """franka_gripper ``grasp``: close until the object stops the fingers."""
        self._gripper = 1.0

    # ---- time ----

    def step(self) -> SimRobotState:
        """One env control period (0.1 s for kitchen_r) toward the latest command."""
        if self._state is None:
            raise RuntimeError("reset() first")
        action = np.concatenate([self._target, [self._gripper]])  # (8,): arm-only, base held
        self._state = self._observe(self.env.step(action))
        return self._state

    def state(self) -> SimRobotState:
        if self._state is None:
            raise RuntimeError("reset() first")
        return self._state

    def _observe(self, obs) -> SimRobotState:
        p = obs.proprio
        fingers = np.full(2, 0.5 * p.gripper)  # the two fingers open symmetrically
        pos = np.concatenate([p.joint_pos, fingers])
        dt = getattr(self.env, "dt", 0.1)
        vel = np.zeros_like(pos) if self._prev is None else (pos - self._prev) / dt
        self._prev = pos
        rgb, depth = {}, {}
        for cam in self.cameras:
            rgb[cam] = frame_from_rgb(self.env.render(cam, self.image_size, self.image_size))
            if self.depth:
                depth[cam] = frame_from_depth(self._render_depth(cam))
        mode = RobotMode.MOVE if self._commanded else RobotMode.IDLE
        return SimRobotState(float(obs.time), self.names, pos, vel, EEPose(p.ee_pos.copy(), p.ee_quat.copy()),
                             int(mode), tuple(obs.keypoint_names), np.asarray(obs.keypoints, np.float64), rgb, depth,
                             bool(self.env.success()))

    def _render_depth(self, camera: str) -> np.ndarray:
        """(H, W) metres from the env's renderer in depth mode."""
        r = self.env.renderer(self.image_size, self.image_size)
        r.enable_depth_rendering()
        try:
            r.update_scene(self.env.data, camera=camera)
            return r.render().astype(np.float32)
        finally:
            r.disable_depth_rendering()
