"""Planar base-frame transforms (a mobile base at world pose (x, y, yaw) with z shared) and the
numpy quaternion product the ROS-free, torch-free code shares (wxyz, Hamilton)."""

from __future__ import annotations

import numpy as np


def base_to_world(points: np.ndarray, base_pose: np.ndarray) -> np.ndarray:
    """(..., 3) base-frame points → world, for base pose (x, y, yaw)."""
    x, y, yaw = (float(v) for v in base_pose)
    c, s = np.cos(yaw), np.sin(yaw)
    p = np.asarray(points, dtype=np.float64)
    return np.stack([x + c * p[..., 0] - s * p[..., 1], y + s * p[..., 0] + c * p[..., 1], p[..., 2]], axis=-1)


def world_to_base(points: np.ndarray, base_pose: np.ndarray) -> np.ndarray:
    """(..., 3) world points → the base frame of pose (x, y, yaw)."""
    x, y, yaw = (float(v) for v in base_pose)
    c, s = np.cos(yaw), np.sin(yaw)
    d = np.asarray(points, dtype=np.float64) - np.array([x, y, 0.0])
    return np.stack([c * d[..., 0] + s * d[..., 1], -s * d[..., 0] + c * d[..., 1], d[..., 2]], axis=-1)


def quat_mul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hamilton product of (4,) wxyz quaternions."""
    aw, ax, ay, az = a
    bw, bx, by, bz = b
    return np.array([aw * bw - ax * bx - ay * by - az * bz, aw * bx + ax * bw + ay * bz - az * by,
                     aw * by - ax * bz + ay * bw + az * bx, aw * bz + ax * by - ay * bx + az * bw])


def quat_conj(q: np.ndarray) -> np.ndarray:
    """(4,) wxyz → its conjugate (the inverse of a unit quaternion)."""
    return np.asarray(q, dtype=np.float64) * np.array([1.0, -1.0, -1.0, -1.0])


def quat_to_mat(q: np.ndarray) -> np.ndarray:
    """(4,) wxyz (normalised here) → (3, 3) rotation matrix."""
    w, x, y, z = np.asarray(q, np.float64) / np.linalg.norm(q)
    return np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
                     [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
                     [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)]])


def mat_to_quat(m: np.ndarray) -> np.ndarray:
    """(3, 3) rotation matrix → (4,) wxyz with w ≥ 0 (Shepperd: divide by the largest diagonal term)."""
    m = np.asarray(m, np.float64)
    tr = np.trace(m)
    cands = [tr, m[0, 0], m[1, 1], m[2, 2]]
    i = int(np.argmax(cands))
    if i == 0:
        s = 2.0 * np.sqrt(1.0 + tr)
        q = [0.25 * s, (m[2, 1] - m[1, 2]) / s, (m[0, 2] - m[2, 0]) / s, (m[1, 0] - m[0, 1]) / s]
    elif i == 1:
        s = 2.0 * np.sqrt(1.0 + m[0, 0] - m[1, 1] - m[2, 2])
        q = [(m[2, 1] - m[1, 2]) / s, 0.25 * s, (m[0, 1] + m[1, 0]) / s, (m[0, 2] + m[2, 0]) / s]
    elif i == 2:
        s = 2.0 * np.sqrt(1.0 + m[1, 1] - m[0, 0] - m[2, 2])
        q = [(m[0, 2] - m[2, 0]) / s, (m[0, 1] + m[1, 0]) / s, 0.25 * s, (m[1, 2] + m[2, 1]) / s]
    else:
        s = 2.0 * np.sqrt(1.0 + m[2, 2] - m[0, 0] - m[1, 1])
        q = [(m[1, 0] - m[0, 1]) / s, (m[0, 2] + m[2, 0]) / s, (m[1, 2] + m[2, 1]) / s, 0.25 * s]
    q = np.array(q)
    return q / np.linalg.norm(q) * (1.0 if q[0] >= 0 else -1.0)


def rotation_error(q_target: np.ndarray, q: np.ndarray) -> np.ndarray:
    """(3,) axis × angle (rad) of the rotation from ``q`` to ``q_target`` (wxyz), in the frame both are in."""
    e = quat_mul(np.asarray(q_target, np.float64), quat_conj(q))
    if e[0] < 0:  # the short way round
        e = -e
    v = e[1:]
    n = np.linalg.norm(v)
    return 2.0 * v if n < 1e-9 else 2.0 * np.arctan2(n, e[0]) * v / n
