"""ChunkPolicy behind the Policy contract: every plan kind, seeding, save/load, bad input."""

import numpy as np
import pytest
import torch

from vla_core.observation import Observation, Proprio
from vla_core.plans import Instruction, LanguageMotion, Path3D
from vla_core.policies.checkpoint import save_checkpoint
from vla_core.policies.chunk_model import ChunkModel, ChunkModelConfig
from vla_core.policies.chunk_policy import ChunkPolicy

NAMES = ["red_mug", "table", "microwave_handle"]


def observation(nan_kp=True, time=0.0, base=(0.1, -0.2, 3.1)) -> Observation:
    kp = np.array([[0.6, 0.1, 0.05], [1.0, 0.0, -0.2], [0.5, -0.3, 0.4], [9, 9, 9]], np.float32)
    if nan_kp:
        kp[1] = np.nan
    prop = Proprio(np.zeros(7), 0.04, np.array([0.5, 0.0, 0.4]), np.array([0.0, 1.0, 0.0, 0.0]),
                   np.array(base))
    return Observation(prop, kp, ("red_mug", "table", "microwave_handle", "not_in_model"), "task", time)


@pytest.fixture(scope="module")
def policy():
    cfg = ChunkModelConfig(kind="diffusion", keypoint_names=NAMES, horizon=8, n_exec=4, d_model=32, layers=1,
                           heads=2, unet_dims=[16, 32], infer_steps=3)
    torch.manual_seed(0)
    return ChunkPolicy(ChunkModel(cfg, torch.randn(len(NAMES), 384)), seed=3)


@pytest.mark.parametrize("plan", [Instruction("pick the red mug"), LanguageMotion("move arm forward"),
                                  Path3D(np.array([[0.5, 0, 0.4, 0], [0.6, 0.1, 0.1, 1]]))])
def test_every_plan_kind_gives_chunks(policy, plan):
    a = policy.sample(observation(), plan, n=3)
    assert a.shape == (3, 8, 10) and np.all(np.isfinite(a))


def test_seeded_sampling_and_save_load(policy, tmp_path):
    obs, plan = observation(), Instruction("open the microwave")
    policy.reset()
    first = policy.sample(obs, plan)
    policy.reset()
    assert np.array_equal(first, policy.sample(obs, plan))
    save_checkpoint(policy.model, tmp_path / "ck")
    loaded = ChunkPolicy.load(tmp_path / "ck", seed=3)
    assert np.array_equal(first, loaded.sample(obs, plan))


def test_keypoints_are_matched_by_name(policy):
    b = policy.batch(observation(), Instruction("x"))
    assert b["keypoints_valid"].tolist() == [[1.0, 0.0, 1.0]]  # NaN row invalid, extra name dropped
    assert torch.allclose(b["keypoints"][0, 2], torch.tensor([0.5, -0.3, 0.4]))


def test_nan_proprio_is_refused(policy):
    obs = observation()
    obs.proprio.ee_pos[0] = np.nan
    with pytest.raises(ValueError, match="non-finite proprio"):
        policy.sample(obs, Instruction("x"))


def test_motion_cue_comes_from_the_previous_call_and_reset_forgets_it(policy):
    plan = Instruction("go to the sink")
    policy.reset()
    assert not policy.batch(observation(), plan)["motion"].any()  # first call: standing still
    policy.sample(observation(time=0.0, base=(0.0, 0.0, 0.0)), plan)
    m = policy.batch(observation(time=0.8, base=(0.2, 0.0, 0.0)), plan)["motion"][0]
    assert torch.allclose(m[:3], torch.tensor([0.25, 0.0, 0.0]))  # 0.2 m forward in 0.8 s
    policy.reset()
    assert not policy.batch(observation(time=0.8, base=(0.2, 0.0, 0.0)), plan)["motion"].any()


def test_noise_modes(policy):
    """random: successive calls draw afresh; fixed: the same draw every call; zero: deterministic."""
    obs, plan = observation(), Instruction("pick the red mug")
    policy.reset()
    assert not np.array_equal(policy.sample(obs, plan), policy.sample(obs, plan))
    fixed = ChunkPolicy(policy.model, seed=3, noise="fixed")
    assert np.array_equal(fixed.sample(obs, plan), fixed.sample(obs, plan))
    zero = ChunkPolicy(policy.model, seed=3, noise="zero")
    other = ChunkPolicy(policy.model, seed=9, noise="zero")
    assert np.array_equal(zero.sample(obs, plan), other.sample(obs, plan))
    with pytest.raises(ValueError, match="noise must be one of"):
        ChunkPolicy(policy.model, noise="pink")


def test_plans_are_grounded_in_keypoints(policy):
    assert policy.batch(observation(), Instruction("place the red mug on the table"))["target"].tolist() == [[0, 1]]
    assert policy.batch(observation(), Path3D(np.zeros((1, 4))))["target"].tolist() == [[-1, -1]]


def test_plans_name_map_landmarks_from_the_checkpoint(policy, tmp_path):
    cfg = ChunkModelConfig(**{**policy.cfg.to_dict(), "grounded": True, "landmarks": {"stove": [0.1, 1.2, 1.57]}})
    save_checkpoint(ChunkModel(cfg, torch.randn(len(NAMES), 384)), tmp_path / "lm", card="test")
    p = ChunkPolicy.load(tmp_path / "lm")
    assert np.allclose(p.batch(observation(), Instruction("navigate to the stove"))["landmark"], [[0.1, 1.2, 1.57, 1]])
    assert not p.batch(observation(), Instruction("pick the red mug"))["landmark"].any()
    assert np.all(np.isfinite(p.sample(observation(), Instruction("navigate to the stove"))))
