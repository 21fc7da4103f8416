"""Differentiable reward primitives over an end-effector trajectory (VLS reward programs).

Every primitive takes ``traj`` (B, T, 3) EE positions in the robot base frame (and, where it
matters, ``grip`` (B, T) in [0, 1]) and returns a reward (B,): higher is better, 0 where the
requirement is met for the penalties. They are smooth (softplus hinges, no hard min/max over
time) so that ∇R is informative everywhere a guided sampler will evaluate it.
"""

from __future__ import annotations

import torch
from torch.nn import functional as F

SOFT = 0.01  # m: softplus temperature of the hinges (≈ 1 cm)


def _hinge(x: torch.Tensor) -> torch.Tensor:
    """Smooth max(0, x) in metres."""
    return SOFT * F.softplus(x / SOFT)


def late_weights(t: int, power: float, device=None) -> torch.Tensor:
    """(T,) weights ∝ ((i+1)/T)^power summing to 1: late steps count more (a reach ends there)."""
    w = (torch.arange(1, t + 1, dtype=torch.float32, device=device) / t) ** power
    return w / w.sum()


def reach(traj: torch.Tensor, target: torch.Tensor, power: float = 2.0) -> torch.Tensor:
    """−(late-weighted mean distance to ``target`` (3,))."""
    d = (traj - target).norm(dim=-1)  # (B, T)
    return -(d * late_weights(traj.shape[1], power, traj.device)).sum(-1)


def approach(traj: torch.Tensor, target: torch.Tensor, axis: torch.Tensor, standoff: float = 0.1,
             power: float = 2.0) -> torch.Tensor:
    """Pre-grasp approach: reach the point ``standoff`` m back from ``target`` along the unit
    approach ``axis`` (3,) in the first half, then the target itself (late-weighted)."""
    axis = axis / axis.norm().clamp_min(1e-9)
    t = traj.shape[1]
    half = max(1, t // 2)
    pre = reach(traj[:, :half], target - standoff * axis, power)
    return 0.5 * pre + 0.5 * reach(traj[:, half:] if t > half else traj, target, power)


def keep_out_sphere(traj: torch.Tensor, center: torch.Tensor, radius: float, margin: float = 0.02) -> torch.Tensor:
    """−Σ_t depth of each point inside the sphere grown by ``margin``."""
    inside = radius + margin - (traj - center).norm(dim=-1)
    return -_hinge(inside).sum(-1)


def keep_out_box(traj: torch.Tensor, low: torch.Tensor, high: torch.Tensor, margin: float = 0.02) -> torch.Tensor:
    """−Σ_t depth inside the axis-aligned box [low, high] grown by ``margin`` (the smallest push out)."""
    depth = torch.minimum(traj - (low - margin), (high + margin) - traj)  # (B, T, 3): > 0 on each axis when inside
    inside = -SOFT * torch.logsumexp(-depth / SOFT, dim=-1)  # smooth min over axes
    return -_hinge(inside).sum(-1)


def half_space(traj: torch.Tensor, normal: torch.Tensor, offset: float, margin: float = 0.0) -> torch.Tensor:
    """Stay where normal·x ≥ offset + margin: −Σ_t violation."""
    n = normal / normal.norm().clamp_min(1e-9)
    return -_hinge(offset + margin - traj @ n).sum(-1)


def above_surface(traj: torch.Tensor, height: float, margin: float = 0.02) -> torch.Tensor:
    """Stay above a horizontal surface at ``height`` (base frame z): −Σ_t how far below height + margin."""
    return -_hinge(height + margin - traj[..., 2]).sum(-1)


def progress(traj: torch.Tensor, axis: torch.Tensor, backtrack_weight: float = 1.0) -> torch.Tensor:
    """Net displacement along the unit ``axis`` minus ``backtrack_weight`` × the steps taken backwards."""
    a = axis / axis.norm().clamp_min(1e-9)
    s = traj @ a  # (B, T)
    step = s[:, 1:] - s[:, :-1]
    return (s[:, -1] - s[:, 0]) - backtrack_weight * _hinge(-step).sum(-1)


def follow_path(traj: torch.Tensor, path: torch.Tensor) -> torch.Tensor:
    """−mean over the trajectory of the (soft) distance to the polyline ``path`` (P, 3), e.g. a
    GeneralVLA Path3D's waypoints."""
    if path.shape[0] == 1:
        return -(traj - path[0]).norm(dim=-1).mean(-1)
    a, b = path[:-1], path[1:]  # (S, 3) segments
    ab = b - a
    x = traj[:, :, None, :]  # (B, T, 1, 3)
    u = (((x - a) * ab).sum(-1) / (ab * ab).sum(-1).clamp_min(1e-12)).clamp(0.0, 1.0)  # (B, T, S)
    d = (x - (a + u[..., None] * ab)).norm(dim=-1)  # (B, T, S)
    soft_min = -SOFT * torch.logsumexp(-d / SOFT, dim=-1)  # (B, T)
    return -soft_min.mean(-1)


def smoothness(traj: torch.Tensor) -> torch.Tensor:
    """−mean squared second difference (m²): jerky chunks cost."""
    if traj.shape[1] < 3:
        return traj.new_zeros(traj.shape[0])
    acc = traj[:, 2:] - 2 * traj[:, 1:-1] + traj[:, :-2]
    return -(acc * acc).sum(-1).mean(-1)


def gripper(grip: torch.Tensor, closed: bool, power: float = 2.0) -> torch.Tensor:
    """Late-weighted agreement of the gripper command (B, T) with open (0) or closed (1)."""
    want = 1.0 if closed else 0.0
    return -((grip - want).abs() * late_weights(grip.shape[1], power, grip.device)).sum(-1)
