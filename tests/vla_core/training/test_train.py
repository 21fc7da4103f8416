"""python -m vla_core.train end to end on a tiny real dataset: trains, validates, saves a
loadable checkpoint with a card, resumes, and refuses bad input with exit code 2."""

import json

import pytest

from vla_core.collect import main as collect
from vla_core.policies.checkpoint import load_checkpoint
from vla_core.train import main as train

TINY = ["policy.model.d_model=32", "policy.model.layers=1", "policy.model.heads=2", "policy.model.unet_dims=[16,32]",
        "policy.model.horizon=8", "policy.model.n_exec=4", "batch_size=8", "val_every=2", "save_every=2",
        "warmup=1", "val_frac=0.5"]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("ds") / "kitchen"
    assert collect(["--episodes", "2", "--out", str(root), "--category", "navigate", "--max-steps", "40",
                    "--keep-failures"]) == 0
    return root


@pytest.mark.parametrize("policy", ["diffusion", "flow"])
def test_train_saves_a_loadable_checkpoint_and_resumes(dataset, tmp_path, policy):
    out = tmp_path / "run"
    args = [f"policy={policy}", f"dataset={dataset}", f"out={out}", *TINY]
    assert train([*args, "steps=3"]) == 0
    model, doc = load_checkpoint(out / "final")
    assert model.cfg.kind == policy and doc["step"] == 3
    assert doc["metrics"]["history"][-1]["val_loss"] > 0
    assert "python -m vla_core.train" in (out / "final" / "card.md").read_text()
    assert train([*args, "steps=5"]) == 0  # resumes from out/last at step 3
    doc = json.loads((out / "final" / "config.json").read_text())
    assert doc["step"] == 5 and [h["step"] for h in doc["metrics"]["history"]] == [2, 3, 4, 5]
    assert train([*args, "steps=7", "policy.model.d_model=16"]) == 2  # out/last is another model: refused


def test_several_datasets_train_as_one(dataset, tmp_path, capsys):
    assert train([f"dataset=[{dataset},{dataset}]", "policy=flow", f"out={tmp_path / 'two'}", *TINY, "steps=1"]) == 0
    assert "data: 4 episodes" in capsys.readouterr().out
    _, doc = load_checkpoint(tmp_path / "two" / "final")
    assert doc["data"]["dataset"] == f"{dataset} + {dataset}"
    assert train([f"dataset=[{dataset},{tmp_path / 'none'}]", "policy=flow", f"out={tmp_path / 'x'}", *TINY]) == 2
    assert "dataset not found" in capsys.readouterr().err


def test_rgb_policy_trains_on_recorded_camera_frames(tmp_path, capsys):
    root = tmp_path / "cam"
    assert collect(["--episodes", "1", "--out", str(root), "--category", "navigate", "--max-steps", "12",
                    "--keep-failures", "--cameras", "head", "--image-size", "32"]) == 0
    args = [f"dataset={root}", f"out={tmp_path / 'run'}", *TINY, "val_frac=0", "steps=2"]
    assert train([*args, "policy.model.cameras=[head]", "policy.model.image_size=24"]) == 0
    model, _ = load_checkpoint(tmp_path / "run" / "final")
    assert model.cfg.cameras == ["head"] and "head" in model.encoder.cnn
    assert train([*args, "policy.model.cameras=[overview]", f"out={tmp_path / 'run2'}"]) == 2
    assert "camera 'overview' is not in episode 0" in capsys.readouterr().err


def test_a_calvin_policy_acts_in_8d_and_its_card_says_so(tmp_path):
    """Fixed-base data (CALVIN's 8-D arm actions) trains a model of that width, whatever the config says."""
    root = tmp_path / "calvin"
    assert collect(["--bench", "calvin", "--episodes", "2", "--out", str(root), "--layouts", "A"]) == 0
    out = tmp_path / "run"
    assert train([f"dataset={root}", "bench=calvin", "policy=flow", f"out={out}", *TINY, "steps=2"]) == 0
    model, doc = load_checkpoint(out / "final")
    assert model.cfg.action_dim == 8 and doc["model"]["action_dim"] == 8
    card = (out / "final" / "card.md").read_text()
    assert card.startswith("# calvin flow chunk policy") and '"action_dim": 8' in card


def test_bad_input_exits_2(tmp_path, capsys):
    assert train([f"dataset={tmp_path / 'none'}", f"out={tmp_path / 'o'}"]) == 2
    assert "dataset not found" in capsys.readouterr().err
    assert train(["policy=nope"]) == 2
    assert "bad config" in capsys.readouterr().err


def test_warm_start_adds_grounding_to_an_ungrounded_checkpoint(dataset, tmp_path, capsys):
    """init_from copies every weight it has; the new target module starts at zero, so the
    warm-started model predicts exactly what the old one did before its first step."""
    import numpy as np
    import torch

    from vla_core.policies.checkpoint import torch_generator
    from vla_core.policies.chunk_model import ChunkModel
    from vla_core.train import warm_start

    base = [f"dataset={dataset}", "policy=flow", *TINY]
    assert train([*base, "policy.model.grounded=false", f"out={tmp_path / 'a'}", "steps=2"]) == 0
    old, _ = load_checkpoint(tmp_path / "a" / "final")
    assert not old.cfg.grounded
    new = ChunkModel(type(old.cfg)(**{**old.cfg.to_dict(), "grounded": True}))
    assert warm_start(new, tmp_path / "a" / "final") == ["encoder.kp_target", "encoder.target"]
    b = {"state": torch.randn(2, 18), "motion": torch.zeros(2, 7), "keypoints": torch.randn(2, len(old.cfg.keypoint_names), 3),
         "keypoints_valid": torch.ones(2, len(old.cfg.keypoint_names)), "plan_kind": torch.zeros(2, dtype=torch.long),
         "plan_text": torch.randn(2, 384), "plan_path": torch.zeros(2, 8, 4), "target": torch.tensor([[0, 1], [-1, -1]]),
         "landmark": torch.tensor([[1.0, 2.0, 0.5, 1.0], [0.0, 0.0, 0.0, 0.0]])}
    b["state"][:, 11:15] = torch.tensor([1.0, 0.0, 0.0, 0.0])
    a, n = old.predict(b, torch_generator(0)), new.eval().predict(b, torch_generator(0))
    assert np.allclose(a.numpy(), n.numpy(), atol=1e-5)
    # through the CLI, then trains on; a checkpoint of another shape is refused
    assert train([*base, f"init_from={tmp_path / 'a' / 'final'}", f"out={tmp_path / 'b'}", "steps=2"]) == 0
    assert "new: encoder.kp_target, encoder.target" in capsys.readouterr().out
    assert load_checkpoint(tmp_path / "b" / "final")[0].cfg.grounded
    assert train([*base, f"init_from={tmp_path / 'a' / 'final'}", f"out={tmp_path / 'c'}", "steps=2",
                  "policy.model.d_model=16"]) == 2
    assert "does not fit this model" in capsys.readouterr().err
    assert train([*base, f"init_from={tmp_path / 'none'}", f"out={tmp_path / 'd'}", "steps=2"]) == 2


def test_torchrun_trains_data_parallel_on_two_cpu_processes(dataset, tmp_path):
    """torchrun + gloo: two ranks share each batch, DDP averages their gradients, rank 0 alone saves."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    out = tmp_path / "ddp"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    run = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                          "-m", "vla_core.train", "policy=flow", f"dataset={dataset}", f"out={out}", *TINY, "steps=4",
                          "threads=1", "device=cpu"], capture_output=True, text=True, timeout=600, env=env,
                         cwd=Path(__file__).resolve().parents[3])
    assert run.returncode == 0, run.stderr[-3000:]
    assert "2 data-parallel ranks in sync" in run.stdout
    assert run.stdout.count("done: ") == 1  # rank 0 reports; rank 1 only trained
    model, doc = load_checkpoint(out / "final")
    assert doc["step"] == 4 and [h["step"] for h in doc["metrics"]["history"]] == [2, 4]
