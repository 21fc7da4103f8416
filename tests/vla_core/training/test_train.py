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


def test_bad_input_exits_2(tmp_path, capsys):
    assert train([f"dataset={tmp_path / 'none'}", f"out={tmp_path / 'o'}"]) == 2
    assert "dataset not found" in capsys.readouterr().err
    assert train(["policy=nope"]) == 2
    assert "bad config" in capsys.readouterr().err
