"""The MuJoCo kitchen acting as the robot (real env, a few steps): state out, bridge commands in,
and the agent + bridge cores closing the loop through it."""

import os

os.environ.setdefault("MUJOCO_GL", "osmesa")
os.environ.setdefault("PYOPENGL_PLATFORM", "osmesa")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from sim.envs.kitchen_r.tasks import tasks_for  # noqa: E402
from vla_core.deploy.agent import Agent  # noqa: E402
from vla_core.deploy.bridge import SafetyBridge  # noqa: E402
from vla_core.deploy.camera import depth_from_frame, rgb_from_frame  # noqa: E402
from vla_core.deploy.config import load_deploy_config  # noqa: E402
from vla_core.deploy.pose import EEPose, EETarget  # noqa: E402
from vla_core.deploy.sim_robot import SimRobot  # noqa: E402
from vla_core.deploy.state import RobotMode, RobotState, arm_joints  # noqa: E402
from vla_core.planners.base import PlanResult  # noqa: E402
from vla_core.plans import Instruction  # noqa: E402

SIM_YAML = os.path.join(os.path.dirname(__file__), "..", "..", "..", "configs", "deploy", "sim.yaml")
TASK = tasks_for("test", "pick_place")[0].task_id


def test_publishes_franka_shaped_state_and_camera_frames(env):
    robot = SimRobot(env, "panda", cameras=("head",), depth=True, image_size=32)
    s = robot.reset(3, TASK)
    assert s.joint_names[:7] == tuple(f"panda_joint{i}" for i in range(1, 8))
    assert s.joint_names[7:] == ("panda_finger_joint1", "panda_finger_joint2")
    assert s.positions.shape == s.velocities.shape == (9,) and s.positions[7:].sum() == pytest.approx(0.08, abs=2e-3)
    assert s.robot_mode == RobotMode.IDLE and s.ee_pose.finite() and not s.success
    assert arm_joints(s.joint_names, s.positions, "panda") is not None  # what the bridge reads
    assert s.keypoints.shape == (len(s.keypoint_names), 3)
    assert rgb_from_frame(s.rgb["head"]).shape == (32, 32, 3)
    info = robot.intrinsics("head")
    assert info.fx == info.fy > 0 and (info.cx, info.cy) == (16, 16)
    info.check(rgb_from_frame(s.rgb["head"]))
    depth = depth_from_frame(s.depth["head"])
    assert depth.shape == (32, 32) and depth.max() > 0.1
    start = s.ee_pose.position.copy()
    held = robot.step()  # no command yet: it holds where it was reset
    assert np.linalg.norm(held.ee_pose.position - start) < 0.01 and held.time == pytest.approx(0.1)


def test_follows_pose_joint_and_gripper_commands(env):
    robot = SimRobot(env, "panda", cameras=())
    s = robot.reset(3, TASK)
    goal = s.ee_pose.position + [0.0, 0.0, -0.05]
    robot.on_pose_command(EEPose(goal, s.ee_pose.quat))
    robot.on_gripper_grasp()
    for _ in range(5):
        s = robot.step()
    assert np.linalg.norm(s.ee_pose.position - goal) < 0.01 and s.robot_mode == RobotMode.MOVE
    assert s.positions[7:].sum() < 0.01  # closed on nothing
    robot.on_gripper_move(0.08)
    q = s.positions[:7] + [0.1, 0, 0, 0, 0, 0, 0]
    robot.on_joint_command(q)
    for _ in range(5):
        s = robot.step()
    # a joint target is followed as the EE pose it reaches (the redundant elbow may settle elsewhere)
    assert np.linalg.norm(s.ee_pose.position - env.robot.fk(q)[0]) < 0.002 and s.positions[7:].sum() > 0.07
    with pytest.raises(ValueError, match="finite position"):
        robot.on_pose_command(EEPose(np.array([np.nan, 0, 1]), s.ee_pose.quat))
    with pytest.raises(ValueError, match="7 finite positions"):
        robot.on_joint_command([0.0] * 6)
    with pytest.raises(ValueError, match="gripper width"):
        robot.on_gripper_move(0.2)


class Planner:
    def reset(self, task):
        pass

    def plan(self, obs):
        return PlanResult(Instruction("lower the gripper"), 0.8)


class Lower:
    """EE 3 cm below where it is, in a 4-step chunk (a stand-in for a learned policy)."""

    action_dim, n_exec = 10, 4

    def reset(self):
        pass

    def sample(self, obs, plan, n=1, guide=None):
        p = obs.proprio
        row = np.concatenate([[0, 0], p.ee_pos + [0, 0, -0.03], p.ee_quat, [0.0]])
        return np.repeat(row[None, None], 4, axis=1)


def test_agent_bridge_and_sim_robot_close_the_loop_live(env):
    """The graph's cores wired as the launch file wires the nodes (live bridge): the arm moves down,
    never more than the bridge's per-command step."""
    cfg = load_deploy_config(SIM_YAML)
    clock = [0.0]
    robot = SimRobot(env, cfg.robot_type, cameras=())
    agent = Agent(Planner(), Lower(), cfg.agent, robot_type=cfg.robot_type, clock=lambda: clock[0])
    bridge = SafetyBridge(cfg.safety, cfg.gripper, dry_run=False, clock=lambda: clock[0])
    s = robot.reset(3, TASK)
    start = s.ee_pose.position.copy()
    agent.set_task(robot.task)
    prev = start
    for _ in range(6):
        agent.on_joint_state(s.joint_names, s.positions)
        agent.on_ee_pose(s.ee_pose)
        agent.on_keypoints(s.keypoint_names, s.keypoints)
        bridge.on_state(RobotState(ee_pose=s.ee_pose, joints=s.positions[:7], robot_mode=s.robot_mode))
        out = agent.tick()
        assert out.status.state == "acting", out.status
        bridge.on_action(EETarget.from_array(out.action.data))
        cmd = bridge.step()
        assert cmd.send and np.linalg.norm(cmd.pose.position - prev) <= cfg.safety.max_step_m + 1e-9
        prev = cmd.pose.position
        robot.on_pose_command(cmd.pose)
        if cmd.gripper is not None:
            robot.on_gripper_move(cmd.gripper.width)
        s = robot.step()
        clock[0] += 0.1
    assert start[2] - s.ee_pose.position[2] > 0.05
