"""Text → the keypoints a plan names, and the explicit target features a grounded model sees."""

import numpy as np
import pytest
import torch

from sim.envs.kitchen_r import catalog as C
from sim.envs.kitchen_r.env import KEYPOINT_NAMES
from vla_core.plans import Subtask
from vla_core.policies.encoders import keypoint_features, target_features
from vla_core.policies.grounding import ground

NAMES = list(KEYPOINT_NAMES)


def names(text):
    return [NAMES[i] if i >= 0 else None for i in ground(text, NAMES)]


@pytest.mark.parametrize("text, want", [
    ("place the red mug on the table", ["red_mug", "table"]),
    ("Put the ORANGE in the blue bowl.", ["orange", "blue_bowl"]),
    ("open the microwave", ["microwave_handle", None]),
    ("turn off the bottom left burner", ["bottom_left_burner_handle", None]),
    ("navigate to the stove", [None, None]),  # an area, not a keypoint
    ("move arm forward and close gripper", [None, None]),
    ("put it on the table next to the red mug", ["table", "red_mug"]),  # order of mention
    ("the red mugs", [None, None]),  # whole phrases only
])
def test_grounding(text, want):
    assert names(text) == want


def test_every_oracle_subtask_grounds_to_its_target_and_dest():
    """The sentences the oracle speaks (and data records) name exactly the subtask's keypoints."""
    for o in C.OBJECT_BY_NAME:
        assert names(Subtask("pick", o).text()) == [o, None]
        for dest in list(C.SURFACE_BY_NAME) + list(C.RECEPTACLE_BY_NAME):
            if dest != o:
                assert names(Subtask("place", o, dest).text()) == [o, dest]
    for f in C.FIXTURE_BY_NAME:
        for kind in ("open", "close", "turn_on", "turn_off", "switch_on", "switch_off"):
            assert names(Subtask(kind, f).text())[0] == f"{f}_handle"


def test_target_features_gather_the_named_keypoints():
    kp = torch.tensor([[[1.0, 0.0, 0.0], [0.0, 2.0, 0.0], [0.0, 0.0, 3.0]]])
    valid = torch.tensor([[True, False, True]])
    ee = torch.tensor([[0.5, 0.0, 0.0]])
    feat = keypoint_features(kp, valid, ee)
    f = target_features(feat, torch.tensor([[2, 1]])).view(1, 2, 7)
    assert torch.allclose(f[0, 0], torch.tensor([0.0, 0.0, 1.5, -1.0, 0.0, 4.0, 1.0]))  # rel clipped to ±4
    assert not f[0, 1].any()  # an unseen keypoint is no target
    assert not target_features(feat, torch.tensor([[-1, -1]])).any()
