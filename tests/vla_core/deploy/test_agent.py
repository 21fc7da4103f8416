"""The ROS-free agent: observation assembly, stale and NaN inputs, action content, status."""

import json

import numpy as np
import pytest

from vla_core.deploy.agent import Agent, keypoints_json, parse_keypoints
from vla_core.deploy.config import AgentConfig
from vla_core.deploy.pose import EEPose
from vla_core.planners.base import PlanResult
from vla_core.plans import Instruction

ARM = [f"fr3_joint{i}" for i in range(1, 8)]
FINGERS = ["fr3_finger_joint1", "fr3_finger_joint2"]
Q = [0.0, -0.5, 0.0, -2.2, 0.0, 1.6, 0.8]
POSE = EEPose(np.array([0.5, 0.0, 0.4]), np.array([0.0, 1.0, 0.0, 0.0]))


class Clock:
    def __init__(self):
        self.t = 100.0

    def __call__(self):
        return self.t


class Planner:
    def __init__(self):
        self.calls, self.done = 0, False

    def reset(self, task):
        self.task = task

    def plan(self, obs):
        self.calls += 1
        return None if self.done else PlanResult(Instruction("reach for the mug"), 0.75)


class Policy:
    """Chunk k (from 1) = [v, w, x, y, z, qw, qx, qy, qz, g] with x = k; records what it saw."""

    action_dim, n_exec = 10, 2

    def __init__(self, base=(0.0, 0.0)):
        self.seen, self.base, self.fail = [], base, None

    def reset(self):
        self.seen = []

    def sample(self, obs, plan, n=1, guide=None):
        if self.fail:
            raise ValueError(self.fail)
        self.seen.append(obs)
        k = len(self.seen)
        row = [*self.base, float(k), 0.0, 0.4, 0.0, 1.0, 0.0, 0.0, 0.9]
        return np.array([[row] * 4])


def feed(agent, clock, q=Q, fingers=(0.02, 0.02), pose=POSE, kp=((0.6, 0.1, 0.0), (np.nan,) * 3)):
    agent.on_joint_state(ARM + FINGERS + ["other"], list(q) + list(fingers) + [9.0])
    agent.on_ee_pose(pose)
    agent.on_keypoints(["mug", "bowl"], np.array(kp))


def make(**cfg):
    clock = Clock()
    planner, policy = Planner(), Policy(**cfg.pop("policy", {}))
    agent = Agent(planner, policy, AgentConfig(**cfg), clock=clock)
    return agent, clock, planner, policy


def test_builds_the_observation_and_emits_the_ee_action_with_status():
    agent, clock, planner, policy = make()
    agent.set_task("put the mug in the bowl")
    feed(agent, clock)
    clock.t += 0.1
    out = agent.tick()
    np.testing.assert_allclose(out.action.data, [1.0, 0.0, 0.4, 0.0, 1.0, 0.0, 0.0, 0.9])
    assert out.action.space == "ee" and len(out.action.to_list()) == 8
    obs = policy.seen[0]
    np.testing.assert_allclose(obs.proprio.joint_pos, Q)
    assert obs.proprio.gripper == pytest.approx(0.04) and obs.proprio.base_pose.tolist() == [0, 0, 0]
    assert obs.keypoint_names == ("mug", "bowl") and np.isnan(obs.keypoints[1]).all()
    assert obs.task == "put the mug in the bowl" and obs.time == pytest.approx(0.1)
    s = json.loads(out.status.to_json())
    assert s["state"] == "acting" and s["plan"] == "reach for the mug" and s["plan_kind"] == "instruction"
    assert s["confidence"] == 0.75 and s["new_chunk"] and s["step"] == 1 and s["ages_s"]["joints"] == pytest.approx(0.1)
    # n_exec 2 from the policy: the second tick uses the same chunk, the third samples again
    assert agent.tick().action.data[0] == 1.0 and agent.tick().action.data[0] == 2.0 and planner.calls == 2


def test_no_task_missing_and_stale_inputs_emit_nothing_with_a_clear_status():
    agent, clock, _, policy = make(max_obs_age_s=0.3)
    out = agent.tick()
    assert out.action is None and out.status.state == "idle"
    agent.set_task("wipe")
    agent.on_joint_state(ARM, Q)  # no fingers, no pose, no keypoints yet
    s = agent.tick().status
    assert s.state == "waiting" and set(s.reasons) == {"no gripper received yet", "no ee_pose received yet",
                                                       "no keypoints received yet"}
    feed(agent, clock)
    assert agent.tick().action is not None
    clock.t += 0.5
    agent.on_ee_pose(POSE)  # only the pose is fresh
    out = agent.tick()
    assert out.action is None and out.status.state == "stale"
    assert "joints is 0.50 s old (max 0.3 s)" in out.status.reasons
    feed(agent, clock)  # back: the old chunk is dropped, a fresh one sampled from the new state
    out = agent.tick()
    assert out.status.state == "acting" and out.status.new_chunk and len(policy.seen) == 2


@pytest.mark.parametrize("kwargs, reason", [
    ({"q": Q[:6] + [float("nan")]}, "NaN/inf in the joint positions"),
    ({"fingers": (0.02, float("inf"))}, "NaN/inf in the gripper opening"),
    ({"pose": EEPose(np.array([0.5, np.nan, 0.4]), POSE.quat)}, "NaN/inf in the EE pose"),
    ({"kp": ((0.6, np.nan, 0.0), (np.nan,) * 3)}, "NaN/inf in a keypoint"),
])
def test_nan_in_observations_emits_nothing(kwargs, reason):
    agent, clock, _, policy = make()
    agent.set_task("wipe")
    feed(agent, clock, **kwargs)
    out = agent.tick()
    assert out.action is None and out.status.state == "invalid" and out.status.reasons[0].startswith(reason)
    assert policy.seen == []


def test_policy_refusal_nan_output_and_done():
    agent, clock, planner, policy = make()
    agent.set_task("wipe")
    feed(agent, clock)
    policy.fail = "this policy needs RGB from camera 'head'"
    out = agent.tick()
    assert out.action is None and out.status.state == "error" and "camera 'head'" in out.status.reasons[0]
    policy.fail = None
    policy.base = (float("nan"), 0.0)
    out = agent.tick()
    assert out.action is None and out.status.state == "invalid" and "NaN" in out.status.reasons[0]
    planner.done = True
    out = agent.tick()
    assert out.action is None and out.status.state == "done"


def test_mobile_base_motion_is_dropped_and_said():
    agent, clock, _, _ = make(policy={"base": (0.3, 0.0)})
    agent.set_task("wipe")
    feed(agent, clock)
    out = agent.tick()
    assert out.action is not None and "base motion dropped" in out.status.reasons[0]


def test_cameras_are_required_inputs_and_reach_the_observation():
    agent, clock, _, policy = make(cameras=("head",), depth_cameras=("head",))
    agent.set_task("wipe")
    feed(agent, clock)
    assert agent.tick().status.state == "waiting"
    agent.on_rgb("head", np.zeros((8, 8, 3), np.uint8))
    agent.on_depth("head", np.ones((8, 8), np.float32))
    assert agent.tick().action is not None
    assert policy.seen[0].rgb["head"].shape == (8, 8, 3) and policy.seen[0].depth["head"].shape == (8, 8)
    with pytest.raises(ValueError, match=r"RGB must be \(H, W, 3\) uint8"):
        agent.on_rgb("head", np.zeros((8, 8), np.uint8))


def test_joint_space_needs_ik_and_uses_it():
    with pytest.raises(ValueError, match="needs inverse kinematics"):
        Agent(Planner(), Policy(), action_space="joint")
    with pytest.raises(ValueError, match="action_space must be one of"):
        Agent(Planner(), Policy(), action_space="cartesian")
    clock = Clock()
    agent = Agent(Planner(), Policy(), action_space="joint", ik=lambda p, q, j: j + 0.1, clock=clock)
    agent.set_task("wipe")
    feed(agent, clock)
    out = agent.tick()
    assert out.action.space == "joint"
    np.testing.assert_allclose(out.action.data, np.array(Q + [0.9]) + np.array([0.1] * 7 + [0]))


def test_an_unreachable_target_sends_nothing():
    from vla_core.deploy.ik import IKError

    def ik(pos, quat, q):
        raise IKError("no joint solution within limits reaches the target")

    clock = Clock()
    agent = Agent(Planner(), Policy(), action_space="joint", ik=ik, clock=clock)
    agent.set_task("wipe")
    feed(agent, clock)
    out = agent.tick()
    assert out.action is None and out.status.state == "invalid"
    assert any("no joint solution" in r for r in out.status.reasons)


def test_keypoints_json_round_trip_and_refusals():
    names, pts = parse_keypoints(keypoints_json(["mug", "bowl"], np.array([[1, 2, 3], [np.nan] * 3])))
    assert names == ("mug", "bowl") and pts[0].tolist() == [1, 2, 3] and np.isnan(pts[1]).all()
    for bad, message in (("{", "not JSON"), ('{"names": ["a"]}', "exactly"),
                         ('{"names": ["a"], "points": []}', "same length"),
                         ('{"names": ["a"], "points": [[1, 2]]}', r"point 0 \('a'\) must be")):
        with pytest.raises(ValueError, match=message):
            parse_keypoints(bad)
    with pytest.raises(ValueError, match="the task must be"):
        make()[0].set_task("  ")
