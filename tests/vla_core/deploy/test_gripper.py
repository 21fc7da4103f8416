"""Gripper value → franka_gripper move / grasp goals, only when the decision changes."""

import pytest

from vla_core.deploy.gripper import GripperConfig, GripperMapper


def test_close_is_a_grasp_open_is_a_move_with_hysteresis():
    m = GripperMapper(GripperConfig(force=30.0, speed=0.04))
    assert m.update(0.5) is None and m.closed is None  # dead band, nothing decided yet
    g = m.update(0.9)
    assert g.action == "grasp" and g.width == 0.0 and g.force == 30.0 and g.speed == 0.04
    assert g.epsilon_outer == 0.08 and g.epsilon_inner == 0.005
    assert m.update(1.0) is None and m.update(0.45) is None  # same decision / dead band: no new goal
    o = m.update(0.1)
    assert o.action == "move" and o.width == 0.08 and o.force == 0.0
    assert m.update(None) is None and m.closed is False
    m.reset()
    assert m.update(0.0).action == "move"  # after a reset the state is re-sent


@pytest.mark.parametrize("data, message", [
    ({"force": 500.0}, r"gripper\.force must be <= 70"),
    ({"open_width": 0.2}, r"gripper\.open_width must be <= 0\.08"),
    ({"speed": 0}, r"gripper\.speed must be > 0"),
    ({"close_above": 0.3, "open_below": 0.5}, r"gripper\.open_below = 0\.5 must be < close_above = 0\.3"),
    ({"force_n": 10}, r"gripper: unknown key\(s\) \['force_n'\]"),
    ({"epsilon_inner": float("nan")}, r"gripper\.epsilon_inner must be finite"),
])
def test_bad_gripper_config(data, message):
    with pytest.raises(ValueError, match=message):
        GripperConfig.from_dict(data)
