"""The checkpoints committed to checkpoints/: small safetensors, a card that says how to
re-make them, loadable, named by the configs that use them, and good at their job."""

import json
from pathlib import Path

import numpy as np
import pytest
from omegaconf import OmegaConf

from vla_core.policies.checkpoint import load_checkpoint

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = {"kitchen_r_diffusion": "diffusion", "kitchen_r_flow": "flow"}
MAX_BYTES = 30 * 2**20

pytestmark = pytest.mark.skipif(
    not all((ROOT / "checkpoints" / name / "model.safetensors").is_file() for name in SHIPPED),
    reason="checkpoints/kitchen_r_{diffusion,flow} are not in this checkout")


def default_policy() -> str:
    """The policy configs/eval.yaml (so make demo) runs."""
    defaults = OmegaConf.to_container(OmegaConf.load(ROOT / "configs" / "eval.yaml").defaults)
    return next(d["policy"] for d in defaults if isinstance(d, dict) and "policy" in d)


@pytest.mark.parametrize("name, kind", SHIPPED.items())
def test_shipped_checkpoint_is_small_carded_and_loads(name, kind):
    path = ROOT / "checkpoints" / name
    files = sorted(p.name for p in path.iterdir())
    assert files == ["card.md", "config.json", "model.safetensors"], files
    assert all((path / f).stat().st_size <= MAX_BYTES for f in files)
    model, doc = load_checkpoint(path)
    assert model.cfg.kind == kind
    card = (path / "card.md").read_text()
    for needed in ("python -m vla_core.train", "python -m vla_core.collect", "seed", "sim/eval.py"):
        assert needed in card, f"{name}/card.md does not say {needed!r}"
    assert doc["data"]["episodes"] > 0 and doc["metrics"]["best_val_loss"] > 0


def test_configs_point_at_shipped_checkpoints():
    default = default_policy()
    assert default in SHIPPED.values()  # make demo runs a learned policy
    for kind in SHIPPED.values():
        ckpt = OmegaConf.load(ROOT / "configs" / "policy" / f"{kind}.yaml").checkpoint
        assert (ROOT / ckpt / "model.safetensors").is_file(), ckpt


def test_quoted_results_come_from_their_reports():
    """The README's policy table is generated from reports under docs/results of the shipped
    checkpoints: ≥ 200 test episodes for the default one (what make demo runs), ≥ 48 beside it."""
    default = default_policy()
    readme = (ROOT / "README.md").read_text()
    for kind in SHIPPED.values():
        rep = json.loads((ROOT / "docs" / "results" / f"kitchen_r_{kind}_test.json").read_text())
        assert rep["meta"]["policy"] == kind and rep["meta"]["split"] == "test"
        allrow = next(s for s in rep["summary"] if s["category"] == "all")
        assert allrow["n"] >= (200 if kind == default else 48)
        assert rep["meta"]["config"]["policy"]["checkpoint"] == f"checkpoints/kitchen_r_{kind}"
        ok = sum(e["success"] for e in rep["episodes"])
        assert np.isclose(allrow["rate"], ok / len(rep["episodes"]))
        assert f"{100 * allrow['rate']:.1f}" in readme


def test_the_calvin_policy_is_small_carded_and_its_quoted_number_is_its_reports():
    path = ROOT / "checkpoints" / "calvin_flow"
    if not (path / "model.safetensors").is_file():
        pytest.skip("checkpoints/calvin_flow is not in this checkout")
    assert sorted(p.name for p in path.iterdir()) == ["card.md", "config.json", "model.safetensors"]
    assert all(p.stat().st_size <= MAX_BYTES for p in path.iterdir())
    model, doc = load_checkpoint(path)
    assert model.cfg.kind == "flow" and model.cfg.action_dim == 8
    card = (path / "card.md").read_text()
    for needed in ("python -m vla_core.collect --bench calvin", "python -m vla_core.train", "sim/eval.py --bench calvin"):
        assert needed in card, needed
    rep = json.loads((ROOT / "docs" / "results" / "calvin_flow_abc_d.json").read_text())
    meta = rep["meta"]
    assert meta["config"]["policy"]["checkpoint"] == "checkpoints/calvin_flow" and meta["split"] == "layout D"
    assert meta["chains"]["chains"] == 1000
    assert f"**{meta['chains']['avg_len']:.2f}**" in (ROOT / "README.md").read_text()


PLANNER = ROOT / "checkpoints" / "kitchen_r_planner"
PLANNER_REPORTS = {"instruction": 200}  # plan kind → episodes at least (motion, path: not measured yet)


def test_the_shipped_planner_is_small_carded_calibrated_and_the_default():
    if not (PLANNER / "model.safetensors").is_file():
        pytest.skip("checkpoints/kitchen_r_planner is not in this checkout")
    from vla_core.planners.learned import LearnedPlanner

    assert sorted(p.name for p in PLANNER.iterdir()) == ["card.md", "config.json", "model.safetensors"]
    assert all(p.stat().st_size <= MAX_BYTES for p in PLANNER.iterdir())
    planner = LearnedPlanner.load(PLANNER)
    assert {"navigate", "pick", "place"} <= set(planner.cfg.kinds)
    doc = json.loads((PLANNER / "config.json").read_text())
    cal = doc["calibration"]
    assert set(cal) == {"subtask", "instruction", "motion"} and all(c["risk"] == 0.1 for c in cal.values())
    card = (PLANNER / "card.md").read_text()
    for needed in ("python -m vla_core.collect", "python -m vla_core.train_planner", "seed",
                   "python -m vla_core.planners.calibrate", "sim/eval.py --bench kitchen_r"):
        assert needed in card, needed
    defaults = OmegaConf.to_container(OmegaConf.load(ROOT / "configs" / "eval.yaml").defaults)
    assert next(d["planner"] for d in defaults if isinstance(d, dict) and "planner" in d) == "learned"
    assert OmegaConf.load(ROOT / "configs" / "planner" / "learned.yaml").checkpoint == "checkpoints/kitchen_r_planner"


@pytest.mark.parametrize("kind, n", PLANNER_REPORTS.items())
def test_integrated_results_come_from_their_reports(kind, n):
    """The README's integrated table: the shipped planner + the shipped flow policy on the test split."""
    path = ROOT / "docs" / "results" / f"kitchen_r_integrated_{kind}.json"
    rep = json.loads(path.read_text())
    meta, cfg = rep["meta"], rep["meta"]["config"]
    assert meta["mode"] == "integrated" and meta["planner"] == "learned" and meta["split"] == "test"
    assert cfg["planner"]["checkpoint"] == "checkpoints/kitchen_r_planner" and cfg["planner"]["kind"] == kind
    assert cfg["policy"]["checkpoint"] == "checkpoints/kitchen_r_flow"
    allrow = next(s for s in rep["summary"] if s["category"] == "all")
    assert allrow["n"] >= n and np.isclose(allrow["rate"], sum(e["success"] for e in rep["episodes"]) / allrow["n"])
    assert f"{100 * allrow['rate']:.1f}" in (ROOT / "README.md").read_text()


def test_correction_rounds_in_the_readme_come_from_their_report():
    """The README's YAY table: every round's autonomous success is its evaluation's episodes, and the
    README quotes it; round 0 is the shipped planner."""
    rep = json.loads((ROOT / "docs" / "results" / "kitchen_r_correction_rounds.json").read_text())
    rows, readme = rep["rounds"], (ROOT / "README.md").read_text()
    assert [r["round"] for r in rows] == list(range(len(rows))) and len(rows) >= 2
    assert rows[0]["planner"] == "checkpoints/kitchen_r_planner" and rep["meta"]["split"] == "test"
    for r in rows:
        a = r["autonomous"]
        assert a["n"] == len(a["episodes"]) >= 60 and a["successes"] == sum(ok for _, _, ok in a["episodes"])
        assert [e[:2] for e in a["episodes"]] == [e[:2] for e in rows[0]["autonomous"]["episodes"]]  # same episodes
        assert f"{100 * a['rate']:.1f}" in readme
    assert (ROOT / "docs" / "results" / "kitchen_r_correction_rounds.png").stat().st_size > 0
