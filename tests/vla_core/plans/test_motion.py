import numpy as np
import pytest

from vla_core.observation import Proprio
from vla_core.plans import LanguageMotion
from vla_core.plans.motion import (
    DEFAULT_CONFIG,
    MOTION_VOCAB,
    STOP,
    MotionThresholds,
    label_motion,
    motion_index,
    rotation_delta,
)

DOWN = np.array([0.0, 1.0, 0.0, 0.0])  # gripper pointing down (180° about x)


def proprio(ee=(0.5, 0.0, 0.4), quat=DOWN, gripper=0.08):
    return Proprio(np.zeros(7), gripper, np.array(ee, float), np.array(quat, float), np.zeros(3))


def action(v=0.0, w=0.0, ee=(0.5, 0.0, 0.4), quat=DOWN, grip=0.0):
    return np.array([v, w, *ee, *quat, grip])


def yaw(q, angle):
    """``q`` turned by ``angle`` about the base z axis (world-fixed), wxyz."""
    r = np.array([np.cos(angle / 2), 0.0, 0.0, np.sin(angle / 2)])
    w1, x1, y1, z1 = r
    w2, x2, y2, z2 = q
    return np.array([w1 * w2 - x1 * x2 - y1 * y2 - z1 * z2, w1 * x2 + x1 * w2 + y1 * z2 - z1 * y2,
                     w1 * y2 - x1 * z2 + y1 * w2 + z1 * x2, w1 * z2 + x1 * y2 - y1 * x2 + z1 * w2])


def text(a, p=None, th=None):
    m = label_motion(a, p or proprio(), th)
    assert isinstance(m, LanguageMotion)
    assert m.text in MOTION_VOCAB
    return m.text


def test_nothing_moving_is_stop():
    assert text(action()) == STOP
    assert text(action(v=0.01, w=-0.02, ee=(0.502, 0.0, 0.399))) == STOP  # all under threshold


def test_arm_axes_signs_and_order_by_magnitude():
    assert text(action(ee=(0.52, 0.0, 0.4))) == "move arm forward"
    assert text(action(ee=(0.48, 0.0, 0.4))) == "move arm backward"
    assert text(action(ee=(0.5, 0.02, 0.4))) == "move arm left"
    assert text(action(ee=(0.5, -0.02, 0.4))) == "move arm right"
    assert text(action(ee=(0.5, 0.0, 0.43))) == "move arm up"
    assert text(action(ee=(0.52, 0.0, 0.37))) == "move arm down and forward"
    assert text(action(ee=(0.53, 0.0, 0.38))) == "move arm forward and down"
    assert text(action(ee=(0.49, 0.03, 0.42))) == "move arm left and up and backward"


def test_base_words_and_their_order():
    assert text(action(v=0.4)) == "move base forward"
    assert text(action(v=-0.2)) == "move base backward"
    assert text(action(w=0.5)) == "turn base left"
    assert text(action(w=-0.5)) == "turn base right"
    assert text(action(v=0.55, w=0.1)) == "move base forward and turn base left"  # 27.5 vs 2 thresholds
    assert text(action(v=0.03, w=-1.0)) == "turn base right and move base forward"


def test_rotation_dominant_axis():
    assert text(action(quat=yaw(DOWN, 0.3))) == "rotate arm left"
    assert text(action(quat=yaw(DOWN, -0.3))) == "rotate arm right"
    assert text(action(quat=yaw(DOWN, 0.03))) == STOP  # under 0.05 rad
    np.testing.assert_allclose(rotation_delta(DOWN, yaw(DOWN, 0.3)), [0, 0, 0.3], atol=1e-9)
    pitch = np.array([np.cos(0.2), 0.0, np.sin(0.2), 0.0])  # +0.4 rad about base y from identity
    assert text(action(quat=pitch), proprio(quat=(1, 0, 0, 0))) == "tilt arm down"
    roll = np.array([np.cos(-0.2), np.sin(-0.2), 0.0, 0.0])
    assert text(action(quat=roll), proprio(quat=(1, 0, 0, 0))) == "roll arm left"
    assert text(action(quat=-yaw(DOWN, 0.3))) == "rotate arm left"  # q and −q are the same rotation


def test_gripper_words_follow_command_against_fingers():
    assert text(action(grip=1.0), proprio(gripper=0.08)) == "close gripper"  # fingers still open
    assert text(action(grip=1.0), proprio(gripper=0.062)) == STOP  # holding a mug: no word for the carry
    assert text(action(grip=0.0), proprio(gripper=0.062)) == "open gripper"
    assert text(action(grip=0.0), proprio(gripper=0.08)) == STOP


def test_composition_order_base_arm_rotate_gripper():
    a = action(v=0.3, ee=(0.5, 0.0, 0.45), quat=yaw(DOWN, -0.2), grip=1.0)
    assert text(a) == "move base forward and move arm up and rotate arm right and close gripper"


def test_thresholds_change_what_counts():
    a = action(ee=(0.51, 0.0, 0.4))
    assert text(a) == "move arm forward"
    assert text(a, th=MotionThresholds(arm_translation=0.02)) == STOP


def test_thresholds_yaml_and_validation(tmp_path):
    assert MotionThresholds.from_yaml(DEFAULT_CONFIG) == MotionThresholds()
    p = tmp_path / "m.yaml"
    p.write_text("arm_translation: 0.01\n")
    assert MotionThresholds.from_yaml(p).arm_translation == 0.01
    p.write_text("arm_speed: 0.01\n")
    with pytest.raises(ValueError, match="unknown"):
        MotionThresholds.from_yaml(p)
    with pytest.raises(ValueError, match="positive"):
        MotionThresholds(base_linear=0.0)


def test_bad_action_is_rejected():
    with pytest.raises(ValueError, match="mobile or"):
        label_motion(np.zeros(7), proprio())
    with pytest.raises(ValueError):
        label_motion(np.full(10, np.nan), proprio())
    with pytest.raises(ValueError):
        label_motion(np.full(8, np.nan), proprio())


def test_an_arm_action_is_the_mobile_one_with_the_base_still():
    p = proprio()
    mobile = np.concatenate([[0.0, 0.0], p.ee_pos + [0.0, 0.0, 0.05], p.ee_quat, [1.0]])
    assert label_motion(mobile[2:], p) == label_motion(mobile, p) != "stop"


def test_vocab_is_complete_unique_and_indexed():
    assert MOTION_VOCAB[0] == STOP
    assert len(MOTION_VOCAB) == len(set(MOTION_VOCAB)) == 13 * 79 * 7 * 3
    for i in (0, 1, 500, len(MOTION_VOCAB) - 1):
        assert motion_index(MOTION_VOCAB[i]) == i
    with pytest.raises(ValueError):
        motion_index("dance")
    rng = np.random.default_rng(0)
    for _ in range(300):  # random actions always land in the vocabulary
        p = proprio(ee=rng.uniform(-0.5, 0.5, 3), quat=rng.normal(size=4), gripper=rng.uniform(0, 0.08))
        a = np.concatenate([rng.uniform(-1, 1, 2), rng.uniform(-0.5, 0.5, 3), rng.normal(size=4), [rng.integers(2)]])
        motion_index(text(a, p))
