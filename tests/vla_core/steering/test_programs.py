"""Reward primitives (gradients against finite differences) and reward-program specs."""

import json

import pytest
import torch

from vla_core.steering import primitives as P
from vla_core.steering.programs import ProgramError, load_program, parse_program

torch.manual_seed(0)
TRAJ = (torch.randn(2, 6, 3, dtype=torch.float64) * 0.1 + torch.tensor([0.6, 0.0, 1.0], dtype=torch.float64))
TARGET = torch.tensor([0.65, 0.05, 0.95], dtype=torch.float64)

CASES = {
    "reach": lambda x: P.reach(x, TARGET),
    "approach": lambda x: P.approach(x, TARGET, torch.tensor([0.0, 0.0, -1.0], dtype=torch.float64)),
    "keep_out_sphere": lambda x: P.keep_out_sphere(x, TARGET, 0.1),
    "keep_out_box": lambda x: P.keep_out_box(x, TARGET - 0.1, TARGET + 0.1),
    "half_space": lambda x: P.half_space(x, torch.tensor([0.0, 1.0, 0.0], dtype=torch.float64), 0.0),
    "above_surface": lambda x: P.above_surface(x, 1.0),
    "progress": lambda x: P.progress(x, torch.tensor([1.0, 0.0, 0.0], dtype=torch.float64)),
    "follow_path": lambda x: P.follow_path(x, torch.tensor([[0.5, 0.0, 1.0], [0.7, 0.1, 1.0], [0.7, 0.1, 0.9]],
                                                          dtype=torch.float64)),
    "smoothness": P.smoothness,
}


@pytest.mark.parametrize("name", CASES)
def test_gradient_matches_finite_differences(name):
    x = TRAJ.clone().requires_grad_(True)
    assert torch.autograd.gradcheck(CASES[name], (x,), eps=1e-6, atol=1e-5)
    assert CASES[name](x).shape == (2,)


def test_gripper_gradient():
    g = torch.rand(2, 6, dtype=torch.float64).clamp(0.05, 0.95).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda g: P.gripper(g, True), (g,), eps=1e-6, atol=1e-5)


def test_penalties_vanish_where_the_requirement_holds():
    far = torch.full((1, 4, 3), 5.0)
    assert P.keep_out_sphere(far, torch.zeros(3), 0.1).abs().item() < 1e-6
    assert P.keep_out_box(far, torch.zeros(3), torch.ones(3)).abs().item() < 1e-6
    assert P.above_surface(far, 1.0).abs().item() < 1e-6
    inside = torch.full((1, 4, 3), 0.5)
    assert P.keep_out_box(inside, torch.zeros(3), torch.ones(3)).item() < -1.0  # 4 points ~0.5 m deep
    assert P.reach(TARGET[None, None].expand(1, 4, 3).float(), TARGET.float()).abs().item() < 1e-6


SPEC = {"name": "around the jar", "stages": [
    {"name": "reach", "until": {"gripper": "closed"},
     "terms": [{"type": "reach", "target": {"keypoint": "red_mug", "offset": [0, 0, 0.02]}},
               {"type": "keep_out_sphere", "center": [0.62, 0.05, 1.0], "radius": 0.06, "weight": 5}]},
    {"name": "lift", "terms": [{"type": "progress", "axis": [0, 0, 1]}, {"type": "smoothness"}]}]}


def test_a_program_evaluates_its_stages_with_keypoints():
    prog = parse_program(SPEC)
    assert prog.keypoints == ("red_mug",) and len(prog.stages) == 2 and prog.stages[0].until == {"gripper": "closed"}
    traj = TRAJ.float()
    kp = {"red_mug": TARGET.float()}
    terms = prog.terms(traj, kp)
    assert set(terms) == {"0:reach", "1:keep_out_sphere"}
    want = P.reach(traj, TARGET.float() + torch.tensor([0, 0, 0.02])) + 5 * P.keep_out_sphere(
        traj, torch.tensor([0.62, 0.05, 1.0]), 0.06)
    assert torch.allclose(prog.reward(traj, kp), want)
    assert prog.reward(traj, kp, stage=1).shape == (2,)
    with pytest.raises(ProgramError, match="lacks"):
        prog.reward(traj, {})
    one = parse_program({"terms": [{"type": "above_surface", "height": 0.9}]})  # one-stage shorthand
    assert len(one.stages) == 1


@pytest.mark.parametrize("spec, why", [
    ({"terms": [{"type": "teleport"}]}, "unknown term type"),
    ({"terms": [{"type": "reach", "target": [0, 0, 1], "speed": 3}]}, "unknown fields ['speed']"),
    ({"terms": [{"type": "reach"}]}, "terms[0].target: required"),
    ({"terms": [{"type": "reach", "target": [0, 0]}]}, "expected [x, y, z]"),
    ({"terms": [{"type": "reach", "target": "the mug"}]}, "expected [x, y, z]"),
    ({"terms": [{"type": "keep_out_sphere", "center": [0, 0, 1], "radius": -1}]}, "must be positive"),
    ({"terms": [{"type": "keep_out_sphere", "center": [0, 0, 1], "radius": True}]}, "finite number"),
    ({"terms": [{"type": "keep_out_box", "low": [1, 0, 0], "high": [0, 1, 1]}]}, "below high"),
    ({"terms": [{"type": "gripper", "closed": "yes"}]}, "true or false"),
    ({"terms": [{"type": "reach", "target": {"keypoint": "mug", "code": "import os"}}]}, "unknown fields ['code']"),
    ({"terms": []}, "1…32 terms"),
    ({"terms": [{"type": "smoothness"}], "stages": []}, "either 'stages' or 'terms'"),
    ({"terms": [{"type": "smoothness"}], "exec": "rm -rf /"}, "unknown fields ['exec']"),
    ({"stages": [{"terms": [{"type": "smoothness"}], "until": {"progress": 2}}]}, "(0, 1]"),
    ([1, 2], "expected an object"),
])
def test_bad_specs_are_one_clear_error(spec, why):
    with pytest.raises(ProgramError) as e:
        parse_program(spec)
    assert why in str(e.value)


def test_programs_load_from_json_and_yaml(tmp_path):
    (tmp_path / "p.json").write_text(json.dumps(SPEC))
    (tmp_path / "p.yaml").write_text("terms:\n  - type: above_surface\n    height: 0.9\n    weight: 2\n")
    assert load_program(tmp_path / "p.json").name == "around the jar"
    assert load_program(tmp_path / "p.yaml").stages[0].terms[0].weight == 2.0
    (tmp_path / "bad.json").write_text('{"terms": [{"type": "above_surface", "height": NaN}]}')
    with pytest.raises(ProgramError, match="NaN is not a number"):
        load_program(tmp_path / "bad.json")
    (tmp_path / "bad.yaml").write_text("terms: [unclosed")
    with pytest.raises(ProgramError, match="not valid yaml"):
        load_program(tmp_path / "bad.yaml")
