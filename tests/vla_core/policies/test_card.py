"""Checkpoint cards are read from the checkpoint's config and the eval report, never typed in."""

import json

import torch

from vla_core.policies.card import main
from vla_core.policies.checkpoint import save_checkpoint
from vla_core.policies.chunk_model import ChunkModel, ChunkModelConfig


def test_card_carries_the_commands_and_the_measured_rates(tmp_path, capsys):
    cfg = ChunkModelConfig(kind="flow", keypoint_names=["red_mug"], horizon=8, n_exec=4, d_model=32, layers=1,
                           heads=2, unet_dims=[16, 32], infer_steps=3, sampler="euler")
    extra = {"command": "python -m vla_core.train policy=flow steps=9", "step": 9, "parameters": 1234,
             "data": {"dataset": "data/x", "episodes": 3, "frames": 300}, "metrics": {"val_loss": 0.5},
             "train": {"seed": 7, "batch_size": 4, "lr": 1e-3, "plan_mix": {"instruction": 1.0}}}
    save_checkpoint(ChunkModel(cfg, torch.zeros(1, 384)), tmp_path / "ck", extra=extra)
    report = {"meta": {"bench": "kitchen_r", "split": "test", "mode": "policy", "seed": 1, "commit": "abc",
                       "command": "python sim/eval.py --bench kitchen_r --mode policy --episodes 2",
                       "config": {"planner": {"name": "oracle", "kind": "subtask"},
                                  "policy": {"name": "flow", "checkpoint": str(tmp_path / "ck")}}},
              "summary": [{"category": "navigate", "n": 2, "successes": 1, "rate": 0.5, "ci_low": 0.09,
                           "ci_high": 0.91, "mean_length": 80.0}]}
    (tmp_path / "r.json").write_text(json.dumps(report))
    assert main([str(tmp_path / "ck"), "--report", str(tmp_path / "r.json"), "--collect", "python -m vla_core.collect --seed 0"]) == 0
    card = (tmp_path / "ck" / "card.md").read_text()
    for needed in ("python -m vla_core.collect --seed 0", "python -m vla_core.train policy=flow steps=9", "seed 7",
                   "python sim/eval.py --bench kitchen_r --mode policy --episodes 2", "| navigate | 2 | 50.0 | [9.0, 91.0] | 80 |"):
        assert needed in card, needed
    # a CALVIN report also carries its chain numbers: instructions done in a row and the average length
    report["meta"]["chains"] = {"chains": 2, "chain_len": 2, "in_a_row": {"1": 0.5, "2": 0.0}, "avg_len": 0.5}
    (tmp_path / "r3.json").write_text(json.dumps(report))
    assert main([str(tmp_path / "ck"), "--report", str(tmp_path / "r3.json")]) == 0
    assert "| 2 chains | 50.0 % | 0.0 % | 0.50 |" in (tmp_path / "ck" / "card.md").read_text()
    assert main([str(tmp_path / "ck"), "--report", str(tmp_path / "none.json")]) == 2
    report["meta"]["config"]["policy"] = {"name": "expert"}  # a report of something else
    (tmp_path / "r2.json").write_text(json.dumps(report))
    assert main([str(tmp_path / "ck"), "--report", str(tmp_path / "r2.json")]) == 2
    assert "evaluated no checkpoint" in capsys.readouterr().err
    assert main([str(tmp_path / "nock"), "--report", str(tmp_path / "r.json")]) == 2
    assert "checkpoint not found" in capsys.readouterr().err


def test_lineage_walks_warm_starts_oldest_first(tmp_path):
    from vla_core.policies.checkpoint import lineage

    cfg = ChunkModelConfig(kind="flow", keypoint_names=["red_mug"], horizon=8, n_exec=4, d_model=32, layers=1,
                           heads=2, unet_dims=[16, 32], infer_steps=3, sampler="euler")
    model = ChunkModel(cfg, torch.zeros(1, 384))
    a, b, c = (tmp_path / n for n in "abc")
    save_checkpoint(model, a, extra={"command": "python -m vla_core.train steps=1 out=a"})
    save_checkpoint(model, b, extra={"command": f"python -m vla_core.train 'init_from={a}' steps=2 out=b"})
    # c recorded its lineage when it was trained: a later copy keeps it without its ancestors
    save_checkpoint(model, c, extra={"command": f"python -m vla_core.train init_from={b} steps=3",
                                     "lineage": lineage(b)})
    assert [s.split()[-1] for s in lineage(c)] == ["out=a", "out=b", "steps=3"]
    import shutil
    shutil.rmtree(a)
    assert lineage(b)[0].startswith(f"# warm start from {a}: not found")
    assert len(lineage(c)) == 3  # recorded, so a's removal changes nothing
