"""SteeredPolicy around a real (tiny, untrained) chunk model: more reward than the plain policy,
the best particle returned, stages advancing on gripper events, no program = the plain policy."""

import numpy as np
import pytest
import torch

from vla_core.observation import Observation, Proprio
from vla_core.plans import Instruction
from vla_core.policies.chunk_model import ChunkModel, ChunkModelConfig
from vla_core.policies.chunk_policy import ChunkPolicy
from vla_core.steering.guidance import GuidanceConfig
from vla_core.steering.programs import ProgramError, parse_program
from vla_core.steering.steered import SteeredPolicy

NAMES = ["red_mug"]


def obs(gripper=0.08):
    prop = Proprio(np.zeros(7), gripper, np.array([0.5, 0.0, 1.0]), np.array([0.0, 1.0, 0.0, 0.0]), np.zeros(3))
    return Observation(prop, np.array([[0.7, 0.1, 0.9]], np.float32), ("red_mug",), "pick the red mug", 0.0)


def policy(kind):
    cfg = ChunkModelConfig(kind=kind, keypoint_names=NAMES, horizon=8, n_exec=4, d_model=32, layers=1, heads=2,
                           unet_dims=[16, 32], infer_steps=6, sampler="euler" if kind == "flow" else "ddim")
    torch.manual_seed(0)
    model = ChunkModel(cfg, torch.randn(1, 384))
    model.action_norm.fit(np.random.default_rng(0).normal(0, 0.05, (256, 10)).astype(np.float32))
    return ChunkPolicy(model, seed=3)


PROGRAM = parse_program({"stages": [
    {"until": {"gripper": "closed"}, "terms": [{"type": "reach", "target": {"keypoint": "red_mug"}}]},
    {"terms": [{"type": "progress", "axis": [0, 0, 1]}]}]})


def reward(chunk, stage=0):
    kp = {"red_mug": torch.tensor([0.7, 0.1, 0.9])}
    a = torch.as_tensor(chunk)
    return float(PROGRAM.reward(a[None, :, 2:5], kp, a[None, :, -1], stage)[0])


def test_steering_raises_the_reward_for_both_samplers():
    for kind in ("flow", "diffusion"):
        plain = policy(kind)
        base = np.mean([reward(plain.sample(obs(), Instruction("pick the red mug"))[0]) for _ in range(4)])
        steered = SteeredPolicy(policy(kind), PROGRAM, GuidanceConfig(particles=8, scale=0.5, late=0.6))
        got = steered.sample(obs(), Instruction("pick the red mug"), n=2)
        assert got.shape == (2, 8, 10) and np.allclose(got[0], got[1])
        assert reward(got[0]) > base, kind
        assert steered.last_guidance.last is not None and steered.last_guidance.last.shape == (8,)


def test_stage_advances_on_the_gripper_event_and_no_program_is_the_plain_policy():
    s = SteeredPolicy(policy("flow"), PROGRAM, GuidanceConfig(particles=4))
    s.sample(obs(gripper=0.08), Instruction("pick the red mug"))
    assert s.stage == 0  # fingers open
    s.sample(obs(gripper=0.03), Instruction("pick the red mug"))
    assert s.stage == 1  # closed: on to the lift stage
    s.reset()
    assert s.stage == 0
    a, b = policy("flow"), SteeredPolicy(policy("flow"))
    np.testing.assert_array_equal(a.sample(obs(), Instruction("pick the red mug")),
                                  b.sample(obs(), Instruction("pick the red mug")))


def test_a_rewritten_program_keeps_its_stage_and_another_starts_over():
    spec = {"name": "pick the red mug", "stages": [
        {"until": {"gripper": "closed"}, "terms": [{"type": "reach", "target": [0.7, 0.1, 0.9]}]},
        {"terms": [{"type": "progress", "axis": [0, 0, 1]}]}]}
    s = SteeredPolicy(policy("flow"), cfg=GuidanceConfig(particles=2))
    s.use_program(spec)
    s.sample(obs(gripper=0.03), Instruction("pick the red mug"))
    assert s.stage == 1
    spec["stages"][0]["terms"][0]["target"] = [0.71, 0.1, 0.9]  # the planner's next chunk: fresh numbers
    s.use_program(spec)
    assert s.stage == 1 and s.program.stages[0].terms[0].args["target"] == [0.71, 0.1, 0.9]
    s.use_program({**spec, "name": "place the red mug"})
    assert s.stage == 0
    s.use_program(None)
    assert s.program is None
    with pytest.raises(ProgramError, match="unknown term type"):
        s.use_program({"terms": [{"type": "teleport"}]})
