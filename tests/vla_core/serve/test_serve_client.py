"""The robot-side client without a server: hold chunks, backoff, and what it refuses."""

import subprocess
import sys

import numpy as np
import pytest
from serve_fixtures import ROOT, free_port, observation

from vla_core.plans import Instruction
from vla_core.serve import ClientConfig, PolicyClient, RemotePolicy, hold_chunk
from vla_core.serve.client import gripper_from_width


def test_hold_chunk_keeps_the_measured_pose_with_the_base_stopped():
    obs = observation(gripper=0.02)
    h = hold_chunk(obs, horizon=5, action_dim=10)
    assert h.shape == (5, 10) and h.dtype == np.float32
    np.testing.assert_array_equal(h[:, :2], 0.0)  # base v, ω
    np.testing.assert_allclose(h[:, 2:5], np.tile(obs.proprio.ee_pos, (5, 1)))
    np.testing.assert_allclose(h[:, 5:9], np.tile(obs.proprio.ee_quat, (5, 1)))
    np.testing.assert_allclose(h[:, 9], 0.75)  # 2 cm of 8 open: the value that keeps that opening
    arm = hold_chunk(obs, horizon=3, action_dim=8, gripper=1.0)
    assert arm.shape == (3, 8) and np.all(arm[:, 7] == 1.0)  # the last command wins: a held object stays held
    np.testing.assert_allclose(arm[:, :3], np.tile(obs.proprio.ee_pos, (3, 1)))


def test_gripper_from_width():
    assert gripper_from_width(0.08) == 0.0 and gripper_from_width(0.0) == 1.0 and gripper_from_width(0.2) == 0.0
    assert gripper_from_width(float("nan")) == 0.0


class Clock:
    def __init__(self):
        self.t = 100.0

    def __call__(self):
        return self.t


def test_unreachable_server_gives_holds_and_backs_off_without_touching_the_network():
    clock = Clock()
    cfg = ClientConfig(backoff_s=0.1, max_backoff_s=0.4, horizon=6)
    client = PolicyClient("127.0.0.1", free_port(), cfg, clock=clock)
    r = client.infer(observation(), Instruction("x"))
    assert r["held"] and "cannot connect" in r["reason"] and r["actions"].shape == (6, 10)
    assert client.failures == 1 and 0.08 <= client.retry_at - clock.t <= 0.12
    again = client.infer(observation(), Instruction("x"), n=3)  # before the retry is due: no attempt at all
    assert again["held"] and "next retry in" in again["reason"] and client.failures == 1
    assert again["samples"].shape == (3, 6, 10)
    delays = []
    for _ in range(5):
        clock.t = client.retry_at
        client.infer(observation(), Instruction("x"))
        delays.append(client.retry_at - clock.t)
    assert client.failures == 6 and delays[0] == pytest.approx(0.2, rel=0.21) and max(delays) <= 0.4 * 1.2
    assert not client.connected and client.connects == 0


def test_client_config_and_remote_policy_refuse_what_cannot_work():
    with pytest.raises(ValueError, match="timeout_s"):
        ClientConfig(timeout_s=0)
    with pytest.raises(ValueError, match="action_dim"):
        ClientConfig(action_dim=7)
    policy = RemotePolicy(PolicyClient("127.0.0.1", free_port()))
    with pytest.raises(NotImplementedError, match="guidance"):
        policy.sample(observation(), Instruction("x"), guide=lambda x: x)
    assert policy.sample(observation(), Instruction("x"), n=2).shape == (2, 16, 10) and policy.held


def test_the_client_does_not_import_torch():
    """A robot PC needs numpy, msgpack and websockets for the client, not the model stack."""
    code = "import sys, vla_core.serve; from vla_core.serve import RemotePolicy; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "False", out.stderr
