"""DART-style action noise for collection: the sim executes the expert's action plus a slowly
varying offset, while the dataset records the expert's own action.

Behaviour cloning fails by drifting where demonstrations never went. With the perturbation
the expert keeps correcting from states a little off its path, and those corrections are
what gets recorded (Laskey et al., DART, 2017). The offset is an AR(1) process: stationary
standard deviation ``sigma`` for the EE position (m), 5·sigma m/s for the base speed and
20·sigma rad/s for its turn rate, correlation time about a second at 10 Hz; the gripper
and the orientation are left alone. The base is perturbed only while the expert drives it
(|v| or |ω| over DRIVING): the base integrates its velocity commands, and an expert that
holds still to manipulate never steers back, so noise there would be a random walk the
data does not correct.

``free_sigma`` (optional) is the EE scale while the expert says it moves through free space
(``free()``: reaching above an object or a place spot). Small noise keeps the data in a thin
tube around straight expert paths; a learned policy that misses a target by 5–10 cm then
meets states no demonstration started from. Larger offsets there, where a bump breaks
nothing, record the expert coming back from them; they fade (the same AR(1) decay) once
the expert descends to grasp.
"""

from __future__ import annotations

import numpy as np

CORRELATION = 0.9  # per step
BASE_SCALE = (5.0, 20.0)  # base v (m/s), ω (rad/s) noise per metre of sigma
DRIVING = (0.05, 0.1)  # m/s, rad/s: a base command above either is the expert driving


class ActionNoise:
    """Wraps an env: ``step(a)`` steps it with ``a`` + offset; everything else passes through."""

    def __init__(self, env, sigma: float, free_sigma: float = 0.0, free=None):
        """``free``: () → bool, whether the expert is in free space now (used with ``free_sigma``)."""
        if not sigma >= 0 or not free_sigma >= 0:
            raise ValueError(f"action noise sigmas must be ≥ 0, got {sigma}, {free_sigma}")
        if free_sigma > 0 and free is None:
            raise ValueError("free_sigma needs a free() callable that says when the expert is in free space")
        self.env, self.sigma, self.free_sigma, self.free = env, float(sigma), float(free_sigma), free
        self.rng = np.random.default_rng(0)
        self.offset = np.zeros(5)  # base v, ω, EE x, y, z
        self.last_executed: np.ndarray | None = None

    def __getattr__(self, name):
        return getattr(self.env, name)

    def reset(self, seed: int, task=None):
        self.rng = np.random.default_rng([int(seed), 0xDA27])  # an episode's noise follows its seed
        self.offset = np.zeros(5)
        return self.env.reset(seed, task)

    def next_offset(self) -> np.ndarray:
        """(5,) the offset for the next step: base v, ω, EE x, y, z."""
        ee = self.free_sigma if self.free_sigma > 0 and self.free() else self.sigma
        scale = np.array([*(self.sigma * np.array(BASE_SCALE)), ee, ee, ee])
        self.offset = CORRELATION * self.offset + np.sqrt(1 - CORRELATION**2) * self.rng.normal(0.0, scale)
        return self.offset

    def step(self, action: np.ndarray):
        a = np.array(action, dtype=np.float64)
        self.next_offset()
        d = a.shape[-1]
        a[d - 8:d - 5] += self.offset[2:]  # EE xyz (vla_core.actions layouts end in xyz, quat, grip)
        if d == 10 and (abs(a[0]) > DRIVING[0] or abs(a[1]) > DRIVING[1]):
            a[:2] += self.offset[:2]
        self.last_executed = a
        return self.env.step(a)
