"""The space the denoiser works in, and the proprio features it is conditioned on.

Actions cross the policy boundary as absolute EE targets (vla_core.actions). Inside the
model they are expressed relative to the EE pose the chunk starts from: position as an
offset, orientation as the rotation q_target ⊗ q_ee⁻¹ in the w ≥ 0 hemisphere. Two
reasons: 'hold still' becomes 0 instead of a state-dependent value the network must
copy to millimetres, and the quaternion double cover (q and −q are one rotation; the
expert's commands flip sign) no longer makes the regression target bimodal.

Proprio orientation enters as the first two rotation-matrix columns (sign-free), the base
yaw as sin/cos, and a motion cue from the previous observation the policy saw (base
velocity in the base frame, EE and gripper velocity): where the expert's next move depends
on what it was doing (backing out of a dock or driving in), a single frame cannot tell.
"""

from __future__ import annotations

import numpy as np
import torch

EE = slice(8, 11)  # Proprio.vector() layout
QUAT = slice(11, 15)
MOTION_DIM = 7  # base v_x v_y ω (base frame), EE velocity xyz, gripper velocity
MOTION_GROUPS = {"base": slice(0, 3), "ee": slice(3, 6), "gripper": slice(6, 7)}
PROPRIO_FEATURES = 7 + 1 + 3 + 6 + 2 + 2 + MOTION_DIM


def quat_mul(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Hamilton product of (..., 4) wxyz quaternions."""
    aw, ax, ay, az = a.unbind(-1)
    bw, bx, by, bz = b.unbind(-1)
    return torch.stack([aw * bw - ax * bx - ay * by - az * bz, aw * bx + ax * bw + ay * bz - az * by,
                        aw * by - ax * bz + ay * bw + az * bx, aw * bz + ax * by - ay * bx + az * bw], dim=-1)


def quat_conj(q: torch.Tensor) -> torch.Tensor:
    return q * q.new_tensor([1.0, -1.0, -1.0, -1.0])


def rot6(q: torch.Tensor) -> torch.Tensor:
    """(..., 4) wxyz → (..., 6) first two columns of the rotation matrix (same for q and −q)."""
    q = q / q.norm(dim=-1, keepdim=True).clamp_min(1e-9)
    w, x, y, z = q.unbind(-1)
    return torch.stack([1 - 2 * (y * y + z * z), 2 * (x * y + w * z), 2 * (x * z - w * y),
                        2 * (x * y - w * z), 1 - 2 * (x * x + z * z), 2 * (y * z + w * x)], dim=-1)


def ee_layout(d: int) -> tuple[slice, slice]:
    """(xyz, quat) slices of a mobile (D=10) or arm (D=8) action: both end in xyz, quat, grip."""
    return slice(d - 8, d - 5), slice(d - 5, d - 1)


def _start(state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, 18) state → EE position (B, 1, 3) and unit EE quaternion (B, 1, 4) the chunk starts from."""
    q = state[:, None, QUAT]
    return state[:, None, EE], q / q.norm(dim=-1, keepdim=True).clamp_min(1e-9)


def to_model(action: torch.Tensor, state: torch.Tensor) -> torch.Tensor:
    """Absolute chunk (B, H, D) + the state it starts from (B, 18) → relative chunk (B, H, D)."""
    xyz, quat = ee_layout(action.shape[-1])
    ee, q_ee = _start(state)
    rel = quat_mul(action[..., quat], quat_conj(q_ee))
    rel = torch.where(rel[..., :1] < 0, -rel, rel)
    out = action.clone()
    out[..., xyz] = action[..., xyz] - ee
    out[..., quat] = rel
    return out


def from_model(y: torch.Tensor, state: torch.Tensor) -> torch.Tensor:
    """Inverse of ``to_model``: (B, H, D) relative → absolute, unit quaternions."""
    xyz, quat = ee_layout(y.shape[-1])
    ee, q_ee = _start(state)
    rel = y[..., quat] / y[..., quat].norm(dim=-1, keepdim=True).clamp_min(1e-6)
    q = quat_mul(rel, q_ee)
    out = y.clone()
    out[..., xyz] = y[..., xyz] + ee
    out[..., quat] = q
    return out


def motion_cue(state: np.ndarray, prev_state: np.ndarray, dt: np.ndarray | float) -> np.ndarray:
    """(..., 18) now and (..., 18) ``dt`` seconds earlier → (..., 7) velocities; zeros where
    dt ≤ 0 (no earlier observation)."""
    state, prev_state = np.asarray(state, np.float64), np.asarray(prev_state, np.float64)
    dt = np.asarray(dt, np.float64)
    ok = dt > 0
    inv = np.where(ok, 1.0 / np.where(ok, dt, 1.0), 0.0)[..., None]
    yaw0 = prev_state[..., 17]
    dx, dy = state[..., 15] - prev_state[..., 15], state[..., 16] - prev_state[..., 16]
    c, s = np.cos(yaw0), np.sin(yaw0)
    dyaw = np.angle(np.exp(1j * (state[..., 17] - yaw0)))
    d = np.stack([c * dx + s * dy, -s * dx + c * dy, dyaw], axis=-1)
    d = np.concatenate([d, state[..., EE] - prev_state[..., EE], state[..., 7:8] - prev_state[..., 7:8]], axis=-1)
    return (d * inv).astype(np.float32)


def motion_mask(groups) -> torch.Tensor:
    """(MOTION_DIM,) 1 on the motion-cue components of ``groups`` (keys of MOTION_GROUPS), 0 elsewhere.
    A model that sees its own EE velocity can copy its momentum instead of reading the scene."""
    unknown = set(groups) - set(MOTION_GROUPS)
    if unknown:
        raise ValueError(f"motion_cue groups must be among {sorted(MOTION_GROUPS)}, got {sorted(unknown)}")
    mask = torch.zeros(MOTION_DIM)
    for g in groups:
        mask[MOTION_GROUPS[g]] = 1.0
    return mask


def proprio_features(state: torch.Tensor, motion: torch.Tensor) -> torch.Tensor:
    """(B, 18) Proprio.vector() + (B, 7) motion cue → (B, PROPRIO_FEATURES): joints, gripper,
    EE pos, EE rotation (6D), base x y, yaw sin/cos, motion."""
    yaw = state[:, 17:18]
    return torch.cat([state[:, :11], rot6(state[:, QUAT]), state[:, 15:17], yaw.sin(), yaw.cos(), motion], dim=-1)
