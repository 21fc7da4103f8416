"""The diffusion/flow chunk model: learning, sampling, save/load, bad checkpoints."""

import json

import numpy as np
import pytest
import torch

from vla_core.policies.checkpoint import CheckpointError, load_checkpoint, save_checkpoint, torch_generator
from vla_core.policies.action_space import to_model
from vla_core.policies.chunk_model import ChunkModel, ChunkModelConfig

K, B = 5, 32


def tiny(kind="diffusion", **kw) -> ChunkModel:
    cfg = ChunkModelConfig(kind=kind, keypoint_names=[f"kp{i}" for i in range(K)], horizon=8, n_exec=4,
                           d_model=32, layers=1, heads=2, unet_dims=[16, 32], infer_steps=4,
                           sampler="ddim" if kind == "diffusion" else "euler", **kw)
    torch.manual_seed(0)
    return ChunkModel(cfg, torch.randn(K, 384))


def batch(seed=0) -> dict:
    g = torch.Generator().manual_seed(seed)
    valid = torch.ones(B, K)
    valid[:, 2] = 0
    return {"state": torch.randn(B, 18, generator=g), "motion": torch.randn(B, 7, generator=g), "keypoints": torch.randn(B, K, 3, generator=g) * valid[..., None],
            "keypoints_valid": valid, "plan_kind": torch.randint(0, 3, (B,), generator=g),
            "plan_text": torch.randn(B, 384, generator=g), "plan_path": torch.randn(B, 8, 4, generator=g),
            "action": torch.rand(B, 8, 10, generator=g)}


@pytest.mark.parametrize("kind", ["diffusion", "flow"])
def test_training_steps_lower_the_loss_on_a_fixed_batch(kind):
    model, b = tiny(kind), batch()
    model.action_norm.fit(to_model(b["action"], b["state"]).reshape(-1, 10).numpy())
    before = model.loss(b, torch_generator(7)).item()
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3)
    for _ in range(40):
        loss = model.loss(b, torch_generator(7))  # fixed noise too: a truly fixed batch
        opt.zero_grad()
        loss.backward()
        opt.step()
    after = model.loss(b, torch_generator(7)).item()
    assert after < 0.7 * before, (before, after)


@pytest.mark.parametrize("kind, sampler", [("diffusion", "ddim"), ("diffusion", "ddpm"), ("flow", "euler"),
                                           ("flow", "heun")])
def test_samples_are_valid_actions(kind, sampler):
    model = tiny(kind).eval()
    model.set_sampler(sampler, 3)
    a = model.predict({k: v[:4] for k, v in batch().items()}, torch_generator(0))
    assert a.shape == (4, 8, 10) and torch.isfinite(a).all()
    assert torch.allclose(a[..., 5:9].norm(dim=-1), torch.ones(4, 8), atol=1e-5)  # unit quaternions
    assert (a[..., 9] >= 0).all() and (a[..., 9] <= 1).all()


def test_save_then_load_gives_identical_actions(tmp_path):
    model = tiny("flow").eval()
    model.action_norm.fit(np.random.default_rng(0).uniform(-1, 2, (50, 10)))
    save_checkpoint(model, tmp_path / "ck", {"note": "test"}, "# card\n")
    loaded, doc = load_checkpoint(tmp_path / "ck")
    assert doc["note"] == "test" and (tmp_path / "ck" / "card.md").is_file()
    b = {k: v[:3] for k, v in batch(1).items()}
    assert torch.equal(model.predict(b, torch_generator(5)), loaded.predict(b, torch_generator(5)))
    assert not torch.equal(model.predict(b, torch_generator(5)), model.predict(b, torch_generator(6)))


def test_bad_checkpoints_raise_one_clear_error(tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        load_checkpoint(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(CheckpointError, match="no config.json"):
        load_checkpoint(tmp_path / "empty")
    save_checkpoint(tiny(), tmp_path / "ck")
    (tmp_path / "ck" / "model.safetensors").write_bytes(b"\x00garbage" * 10)
    with pytest.raises(CheckpointError, match="corrupt weights"):
        load_checkpoint(tmp_path / "ck")
    (tmp_path / "ck" / "model.safetensors").unlink()
    with pytest.raises(CheckpointError, match="no weights"):
        load_checkpoint(tmp_path / "ck")
    save_checkpoint(tiny(), tmp_path / "ck2")
    doc = json.loads((tmp_path / "ck2" / "config.json").read_text())
    doc["model"]["d_model"] = 64
    (tmp_path / "ck2" / "config.json").write_text(json.dumps(doc))
    with pytest.raises(CheckpointError, match="do not match"):
        load_checkpoint(tmp_path / "ck2")
    (tmp_path / "ck2" / "config.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="corrupt config.json"):
        load_checkpoint(tmp_path / "ck2")


def test_the_model_sees_only_the_motion_cue_groups_it_is_configured_for():
    """motion_cue=[base]: EE and gripper velocities change nothing (no momentum to copy); base ones do."""
    m, b = tiny(motion_cue=["base"]), batch()
    with torch.no_grad():
        ref = m.encoder(b)
        for cols, same in ((slice(3, 7), True), (slice(0, 3), False)):
            moved = {**b, "motion": b["motion"].clone()}
            moved["motion"][:, cols] += 1.0
            assert torch.allclose(m.encoder(moved), ref) == same
    with pytest.raises(ValueError, match="motion_cue"):
        ChunkModelConfig(motion_cue=["arm"])


def test_config_rejects_bad_values():
    with pytest.raises(ValueError, match="kind"):
        ChunkModelConfig(kind="gan")
    with pytest.raises(ValueError, match="n_exec"):
        ChunkModelConfig(horizon=8, n_exec=9)
