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
