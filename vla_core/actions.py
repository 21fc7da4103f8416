"""Action layouts (DESIGN §3). Absolute EE targets in the robot base frame, so trajectory
rewards and safety checks read them directly.

mobile (D=10, Kitchen-R): base v, base ω, EE x y z, quaternion w x y z, gripper
arm    (D=8, fixed base):            EE x y z, quaternion w x y z, gripper
"""

from __future__ import annotations

import numpy as np

MOBILE_DIM = 10
ARM_DIM = 8


def split_action(action: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """(base (2,) v ω — zeros for a fixed-base action, EE pos (3,), EE quat (4,), gripper)."""
    a = np.asarray(action, dtype=np.float64).reshape(-1)
    if a.shape[0] == MOBILE_DIM:
        base, arm = a[:2], a[2:]
    elif a.shape[0] == ARM_DIM:
        base, arm = np.zeros(2), a
    else:
        raise ValueError(f"an action has {MOBILE_DIM} (mobile) or {ARM_DIM} (arm-only) values, got {a.shape[0]}")
    if not np.all(np.isfinite(a)):
        raise ValueError("action contains NaN or inf")
    return base, arm[:3], arm[3:7], float(arm[7])
