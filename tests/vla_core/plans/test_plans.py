import numpy as np
import pytest

from vla_core.plans import Instruction, Path3D, Subtask


def test_subtask_validation_and_text():
    assert Subtask("place", "red_mug", "blue_bowl").text() == "place the red mug in the blue bowl"
    with pytest.raises(ValueError):
        Subtask("fly", "red_mug")
    with pytest.raises(ValueError):
        Subtask("place", "red_mug")


def test_path3d_checks_shape_and_resamples():
    p = Path3D(np.array([[0, 0, 0, 0], [1, 0, 0, 1.0]]))
    t = p.to_tensor(5)
    assert t.shape == (5, 4)
    np.testing.assert_allclose(t[:, 0], [0, 0.25, 0.5, 0.75, 1.0])
    assert "path in base frame" in p.to_text()
    with pytest.raises(ValueError):
        Path3D(np.zeros((3, 3)))
    with pytest.raises(ValueError):
        Path3D(np.array([[0, 0, np.nan, 0]]))
    assert Instruction("grasp the mug").to_text() == "grasp the mug"
