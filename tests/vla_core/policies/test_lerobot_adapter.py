"""A LeRobot PreTrainedPolicy (its diffusion policy, tiny random weights) runs as our policy,
straight and through save_pretrained → from_pretrained with its processors."""

import numpy as np
import pytest
import torch

from test_chunk_policy import observation  # same folder (pytest prepends it to sys.path)
from vla_core.plans import Instruction

lerobot = pytest.importorskip("lerobot")


def tiny_lerobot_diffusion():
    from lerobot.configs.types import FeatureType, PolicyFeature
    from lerobot.policies.diffusion.configuration_diffusion import DiffusionConfig
    from lerobot.policies.diffusion.modeling_diffusion import DiffusionPolicy

    cfg = DiffusionConfig(
        input_features={"observation.state": PolicyFeature(FeatureType.STATE, (18,)),
                        "observation.environment_state": PolicyFeature(FeatureType.ENV, (12,))},
        output_features={"action": PolicyFeature(FeatureType.ACTION, (10,))},
        horizon=8, n_action_steps=4, n_obs_steps=2, down_dims=(16, 32), num_inference_steps=3, device="cpu")
    torch.manual_seed(0)
    return DiffusionPolicy(cfg)


def test_adapter_runs_a_lerobot_policy():
    from vla_core.policies.lerobot_adapter import LeRobotPolicyAdapter

    a = LeRobotPolicyAdapter(tiny_lerobot_diffusion())
    a.reset()
    chunks = [a.sample(observation(), Instruction("pick the red mug")) for _ in range(5)]
    assert all(c.shape == (1, 1, 10) and np.all(np.isfinite(c)) for c in chunks)
    with pytest.raises(ValueError, match="one chunk at a time"):
        a.sample(observation(), Instruction("x"), n=2)


def test_adapter_loads_a_saved_lerobot_policy_with_processors(tmp_path):
    from lerobot.policies.factory import make_pre_post_processors

    from vla_core.policies.lerobot_adapter import LeRobotPolicyAdapter

    policy = tiny_lerobot_diffusion()
    stats = {k: {"min": -torch.ones(n), "max": torch.ones(n), "mean": torch.zeros(n), "std": torch.ones(n)}
             for k, n in (("observation.state", 18), ("observation.environment_state", 12), ("action", 10))}
    pre, post = make_pre_post_processors(policy.config, dataset_stats=stats)
    for part in (policy, pre, post):
        part.save_pretrained(tmp_path)
    a = LeRobotPolicyAdapter.from_pretrained(tmp_path)
    a.reset()
    out = a.sample(observation(), Instruction("pick the red mug"))
    assert out.shape == (1, 1, 10) and np.all(np.abs(out) <= 1.0 + 1e-5)  # unnormalised into the stats' range


def test_shape_mismatch_is_a_clear_error():
    from vla_core.policies.lerobot_adapter import LeRobotPolicyAdapter

    obs = observation()
    obs.keypoints = obs.keypoints[:2]
    obs.keypoint_names = obs.keypoint_names[:2]
    with pytest.raises(ValueError, match="expects shape"):
        LeRobotPolicyAdapter(tiny_lerobot_diffusion()).sample(obs, Instruction("x"))
