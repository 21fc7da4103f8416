"""Text → the keypoints a plan names, and the explicit target features a grounded model sees."""

import numpy as np
import pytest
import torch

from sim.envs.kitchen_r import catalog as C
from sim.envs.kitchen_r.env import KEYPOINT_NAMES
from vla_core.plans import Subtask
from sim.envs import landmarks
from vla_core.policies.encoders import keypoint_features, landmark_features, target_features
from vla_core.policies.grounding import ground, ground_landmark

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
    f = target_features(feat, torch.tensor([[2, 1]])).view(1, 2, 10)
    # rel clipped to ±4, the fine offset (5 cm scale) to ±1
    assert torch.allclose(f[0, 0], torch.tensor([0.0, 0.0, 1.5, -1.0, 0.0, 4.0, 1.0, -1.0, 0.0, 1.0]))
    assert not f[0, 1].any()  # an unseen keypoint is no target
    assert not target_features(feat, torch.tensor([[-1, -1]])).any()


def test_fine_target_offset_resolves_centimetres():
    kp = torch.tensor([[[0.52, 0.0, 1.0]]])
    f = target_features(keypoint_features(kp, torch.tensor([[True]]), torch.tensor([[0.5, 0.01, 1.0]])),
                        torch.tensor([[0, -1]]))
    assert torch.allclose(f[0, 7:10], torch.tensor([0.4, -0.2, 0.0]), atol=1e-6)  # 2 cm, -1 cm at 5 cm scale


LANDMARKS = landmarks("kitchen_r")


@pytest.mark.parametrize("text, want", [
    ("navigate to the counter", "counter"),
    ("turn off the bottom left burner", "bottom_left_burner"),  # the burner's dock, not the stove's
    ("place the red mug on the table", "table"),
    ("pick the red mug", None),
])
def test_landmark_grounding(text, want):
    lm = ground_landmark(text, LANDMARKS)
    if want is None:
        assert not lm.any()
    else:
        assert lm[3] == 1 and np.allclose(lm[:3], LANDMARKS[want])


def test_every_navigate_and_fixture_subtask_names_its_dock():
    for a in C.AREAS:
        assert np.allclose(ground_landmark(Subtask("navigate", a.name).text(), LANDMARKS)[:3], a.pose)
    for f in C.FIXTURE_BY_NAME.values():
        for kind in ("open", "close", "turn_on", "turn_off", "switch_on", "switch_off"):
            assert np.allclose(ground_landmark(Subtask(kind, f.name).text(), LANDMARKS)[:3], f.dock)


def test_landmark_features_are_in_the_base_frame():
    state = torch.zeros(2, 18)
    state[:, 15:18] = torch.tensor([1.0, 0.0, np.pi / 2])  # facing world +y
    lm = torch.tensor([[1.0, 2.0, np.pi / 2, 1.0], [1.0, 0.1, np.pi, 1.0]])
    f = landmark_features(state, lm)
    assert torch.allclose(f[0], torch.tensor([1.0, 0.0, 1.0, 0.0, 0.0, 1.0, 1.0]), atol=1e-6)  # 2 m dead ahead
    assert torch.allclose(f[1], torch.tensor([0.05, 0.0, 0.5, 0.0, 1.0, 0.0, 1.0]), atol=1e-6)  # 10 cm, turned +90°
    assert not landmark_features(state, torch.zeros(2, 4)).any()


def test_landmarks_must_be_finite_poses():
    from vla_core.policies.chunk_model import ChunkModelConfig

    with pytest.raises(ValueError, match="landmark 'a'"):
        ChunkModelConfig(landmarks={"a": [1.0, 2.0]})
    with pytest.raises(ValueError, match="landmark 'b'"):
        ChunkModelConfig(landmarks={"b": [1.0, 2.0, float("nan")]})
    ChunkModelConfig(landmarks=LANDMARKS)
