"""lerobot's own DiffusionPolicy as the chunk-latency baseline for ours: random weights, sized like
ours (the same two U-Net widths, DDIM, 10 inference steps, horizon 16), run on our observation
through LeRobotPolicyAdapter as any LeRobot policy would be in our loop."""

from __future__ import annotations

from bench.scene import Scene
from bench.timing import median_ms

DOWN_DIMS = (64, 128)  # ours: unet_dims [64, 128]; gives ~1.6 M parameters with the kitchen_r inputs
STEPS = 10
TIMED = ("LeRobotPolicyAdapter.sample(obs, plan) right after policy.reset(), so that select_action finds "
         "its action queue empty and predicts a whole chunk: observation → batch, preprocessor (identity "
         "statistics), select_action → predict_action_chunk (DDIM, 10 steps, horizon 16, 2 observation "
         "steps), postprocessor; batch 1, CPU")


def param_count(module) -> int:
    return sum(p.numel() for p in module.parameters())


def build(scene: Scene, steps: int = STEPS):
    """An adapter around a random-weight DiffusionPolicy shaped for ``scene``'s observation."""
    import torch
    from lerobot.configs.types import FeatureType, PolicyFeature
    from lerobot.policies.diffusion.configuration_diffusion import DiffusionConfig
    from lerobot.policies.diffusion.modeling_diffusion import DiffusionPolicy
    from lerobot.policies.factory import make_pre_post_processors

    from vla_core.policies.lerobot_adapter import LeRobotPolicyAdapter

    dims = {"observation.state": scene.obs.proprio.vector().size, "observation.environment_state":
            scene.obs.keypoints.size, "action": 10}
    cfg = DiffusionConfig(
        input_features={"observation.state": PolicyFeature(FeatureType.STATE, (dims["observation.state"],)),
                        "observation.environment_state": PolicyFeature(
                            FeatureType.ENV, (dims["observation.environment_state"],))},
        output_features={"action": PolicyFeature(FeatureType.ACTION, (10,))},
        horizon=16, n_action_steps=8, n_obs_steps=2, down_dims=DOWN_DIMS, noise_scheduler_type="DDIM",
        num_train_timesteps=100, num_inference_steps=steps, device="cpu")
    torch.manual_seed(0)
    policy = DiffusionPolicy(cfg)
    # identity statistics: the normalisation steps run (as ours do), changing nothing
    stats = {k: {"min": -torch.ones(n), "max": torch.ones(n), "mean": torch.zeros(n), "std": torch.ones(n)}
             for k, n in dims.items()}
    pre, post = make_pre_post_processors(cfg, dataset_stats=stats)
    return LeRobotPolicyAdapter(policy, pre, post)


def chunk_ms(scene: Scene, calls: int) -> dict:
    """TIMED's median ms over ``calls`` calls, the policy's parameter count and lerobot's version."""
    from importlib.metadata import version

    adapter = build(scene)

    def chunk() -> None:
        adapter.reset()
        adapter.sample(scene.obs, scene.plan)

    return {"chunk_ms": median_ms(chunk, calls), "params": param_count(adapter.policy),
            "down_dims": list(DOWN_DIMS), "steps": STEPS, "lerobot": version("lerobot")}
