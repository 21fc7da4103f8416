"""FrankaIK: forward kinematics checked against the MuJoCo Panda and Franka's documented ready pose, the
Jacobian against finite differences, IK on reachable and unreachable targets, and the agent's joint path."""

import numpy as np
import pytest

from vla_core.deploy.ik import FrankaIK, IKError
from vla_core.frames import mat_to_quat, quat_mul, quat_to_mat, rotation_error

READY = np.array([0.0, -np.pi / 4, 0.0, -3 * np.pi / 4, 0.0, np.pi / 2, np.pi / 4])


@pytest.fixture(scope="module")
def ik():
    return FrankaIK("fr3")


def random_q(ik, rng, n, margin=0.05):
    """(n, 7) joint vectors, each joint at least ``margin`` of its range inside its limits."""
    lo, hi = ik.limits
    return lo + (hi - lo) * rng.uniform(margin, 1 - margin, size=(n, 7))


def test_ready_pose_is_where_franka_documents_it(ik):
    pos, rot = ik.fk(READY)
    np.testing.assert_allclose(pos, [0.3069, 0.0, 0.4869], atol=2e-4)  # O_T_EE with the hand, at 'ready'
    np.testing.assert_allclose(rot, np.diag([1.0, -1.0, -1.0]), atol=1e-9)  # the hand points down


def test_joint_frames_match_the_mujoco_panda(ik, env):
    """Joints 1-6 of the kitchen's Panda (a MuJoCo model made independently of our DH table) sit and turn
    where ours do; its joint 7 and hand follow Franka Kitchen's own wrist convention: not compared."""
    import mujoco

    from sim.envs.kitchen_r.robot import ARM_JOINTS

    m, d = env.model, env.data
    b0 = m.body("panda0_link0").id
    for q in random_q(ik, np.random.default_rng(0), 20):
        for j, name in enumerate(ARM_JOINTS):
            d.qpos[m.jnt_qposadr[m.joint(name).id]] = q[j]
        mujoco.mj_kinematics(m, d)
        r0, p0 = d.xmat[b0].reshape(3, 3), d.xpos[b0]
        frames = ik.frames(q)
        for i in range(1, 7):  # each joint's position and world axis (its body frames are oriented otherwise)
            j = m.joint(ARM_JOINTS[i - 1]).id
            np.testing.assert_allclose(r0.T @ (d.xanchor[j] - p0), frames[i - 1][:3, 3], atol=1e-4)
            np.testing.assert_allclose(r0.T @ d.xaxis[j], frames[i - 1][:3, 2], atol=2e-3)  # its quats: 6 digits


def test_jacobian_matches_finite_differences(ik):
    q, eps = READY + 0.1, 1e-6
    jac = ik.jacobian(q)
    p0, r0 = ik.fk(q)
    for i in range(7):
        dq = np.zeros(7)
        dq[i] = eps
        p1, r1 = ik.fk(q + dq)
        np.testing.assert_allclose((p1 - p0) / eps, jac[:3, i], atol=1e-5)
        np.testing.assert_allclose(rotation_error(mat_to_quat(r1), mat_to_quat(r0)) / eps, jac[3:, i], atol=1e-5)


def test_ik_reaches_targets_near_the_current_joints_inside_the_limits(ik):
    rng = np.random.default_rng(1)
    lo, hi = ik.limits
    # away from the stretched-arm singularity and the limits, where a 2 cm step may leave what is reachable
    qs = [q for q in random_q(ik, rng, 150, margin=0.15) if np.linalg.svd(ik.jacobian(q))[1][-1] > 0.05]
    assert len(qs) > 100
    for q in qs:
        pos, rot = ik.fk(q)
        target = pos + rng.uniform(-0.02, 0.02, 3)  # a chunk's step: centimetres from where the hand is
        turn = np.array([1.0, *rng.uniform(-0.05, 0.05, 3)])  # and a few degrees of rotation
        quat = quat_mul(turn / np.linalg.norm(turn), mat_to_quat(rot))
        qs = ik(target, quat, q)
        assert np.all(qs >= lo) and np.all(qs <= hi)
        p, r = ik.fk(qs)
        assert np.linalg.norm(p - target) < ik.pos_tol
        assert np.linalg.norm(rotation_error(quat, mat_to_quat(r))) < ik.rot_tol
        assert np.abs(qs - q).max() < 1.0  # the nearby branch (near a wrist singularity joints 5 and 7 trade ~0.5 rad)


def test_unreachable_or_bad_targets_are_refused(ik):
    with pytest.raises(IKError, match="no joint solution"):
        ik(np.array([2.0, 0.0, 0.5]), np.array([0.0, 1.0, 0.0, 0.0]), READY)
    with pytest.raises(IKError, match="non-finite"):
        ik(np.array([np.nan, 0.0, 0.5]), np.array([0.0, 1.0, 0.0, 0.0]), READY)
    with pytest.raises(IKError, match="zero norm"):
        ik(np.array([0.3, 0.0, 0.5]), np.zeros(4), READY)
    with pytest.raises(ValueError, match="robot_type"):
        FrankaIK("ur5")


def test_quaternion_round_trip():
    rng = np.random.default_rng(2)
    for _ in range(200):
        q = rng.normal(size=4)
        q = q / np.linalg.norm(q) * np.sign(q[0])
        np.testing.assert_allclose(mat_to_quat(quat_to_mat(q)), q, atol=1e-9)
