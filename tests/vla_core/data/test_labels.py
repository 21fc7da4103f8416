import numpy as np
import pytest

from vla_core.data.labels import parse_subtask_key, path_labels, subtask_key
from vla_core.frames import base_to_world, world_to_base
from vla_core.plans import Subtask


def test_subtask_keys_round_trip():
    for s in (Subtask("pick", "red_mug"), Subtask("place", "red_mug", "table"), Subtask("navigate", "shelf")):
        assert parse_subtask_key(subtask_key(s)) == s
    assert subtask_key(Subtask("place", "red_mug", "table")) == "place:red_mug:table"
    assert subtask_key(None) == "" and parse_subtask_key("") is None
    with pytest.raises(ValueError):
        parse_subtask_key("pick")


def test_frames_are_inverse():
    pose = np.array([1.0, -2.0, 0.7])
    p = np.random.default_rng(0).normal(size=(5, 3))
    np.testing.assert_allclose(world_to_base(base_to_world(p, pose), pose), p, atol=1e-12)
    np.testing.assert_allclose(base_to_world([1.0, 0, 0.5], [0, 0, np.pi / 2]), [0, 1, 0.5], atol=1e-12)


def test_path_runs_end_at_their_subtask_and_use_the_current_base_frame():
    # 4 steps: two of "a", two of "b"; the EE stays put in the base frame while the base drives +x
    # in the world for steps 0-1 and turns by 90° at step 2.
    ee = np.array([[0.5, 0.0, 1.0]] * 5)
    base = np.array([[0, 0, 0], [0.1, 0, 0], [0.2, 0, 0], [0.2, 0, np.pi / 2], [0.2, 0, np.pi / 2]], float)
    grip = np.array([0.0, 0.0, 1.0, 1.0])
    out = path_labels(ee, base, grip, ["a", "a", "b", "b"], n=3)
    assert out.shape == (4, 3, 4) and out.dtype == np.float32
    # step 0: points of states 0, 1, 2 (the state after run "a") in base frame 0
    np.testing.assert_allclose(out[0, :, :3], [[0.5, 0, 1], [0.6, 0, 1], [0.7, 0, 1]], atol=1e-6)
    np.testing.assert_allclose(out[0, :, 3], [0, 0, 0])
    # step 1: states 1, 2 in base frame 1, resampled to 3 points
    np.testing.assert_allclose(out[1, :, :3], [[0.5, 0, 1], [0.55, 0, 1], [0.6, 0, 1]], atol=1e-6)
    # step 2: world EE at states 2..4 = (0.7,0), (0.2,0.5), (0.2,0.5); in base frame 2 (yaw 0)
    np.testing.assert_allclose(out[2, 0, :3], [0.5, 0, 1], atol=1e-6)
    np.testing.assert_allclose(out[2, -1, :3], [0.0, 0.5, 1], atol=1e-6)
    np.testing.assert_allclose(out[2, :, 3], [1, 1, 1])
    # last step: a one-segment run in its own (turned) frame: EE does not move in the base frame
    np.testing.assert_allclose(out[3, :, :3], [[0.5, 0, 1]] * 3, atol=1e-6)


def test_path_labels_check_lengths():
    with pytest.raises(ValueError):
        path_labels(np.zeros((3, 3)), np.zeros((3, 3)), np.zeros(3), ["a"] * 3)
